/* privs: dropping root for good. */
#include "lib/privs.h"

#include "lib/durable.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

bool privs_are_root(void)
{
	return geteuid() == 0;
}

static const struct passwd *lookup(const char *user, const char **error_r)
{
	static __thread char why[160];
	errno = 0;
	const struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(why, sizeof(why),
			 "user '%s' does not exist (create it: useradd --system "
			 "--home-dir /nonexistent --shell /usr/sbin/nologin %s)",
			 user, user);
		*error_r = why;
	} else if (pw->pw_uid == 0) {
		*error_r = "the configured user must not be root";
		return NULL;
	}
	return pw;
}

int privs_prepare_dir(const char *dir, const char *user, const char **error_r)
{
	if (mkdir_p(dir, 0700) < 0) {
		*error_r = "cannot create the data directory";
		return -1;
	}
	if (!privs_are_root())
		return 0;
	const struct passwd *pw = lookup(user, error_r);
	if (pw == NULL)
		return -1;
	if (chown(dir, pw->pw_uid, pw->pw_gid) < 0) {
		*error_r = "cannot give the data directory to the server user";
		return -1;
	}
	return 0;
}

int privs_drop(const char *user, const char **error_r)
{
	if (!privs_are_root())
		return 0;
	const struct passwd *pw = lookup(user, error_r);
	if (pw == NULL)
		return -1;
	if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		*error_r = "cannot switch to the server user";
		return -1;
	}
	if (setuid(0) == 0) { /* must be impossible now */
		*error_r = "root could be regained after dropping privileges";
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	umask(077);
	return 0;
}
