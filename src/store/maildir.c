/* maildir: durable, idempotent Maildir delivery. */
#include "store/maildir.h"

#include "lib/durable.h"
#include "store/quota.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int maildir_root(const char *data_dir, const char *mailbox,
		 char out[MAILDIR_PATH_MAX])
{
	const char *at = strrchr(mailbox, '@');
	if (at == NULL || at == mailbox || mailbox[0] == '.' || at[1] == '.' ||
	    strchr(mailbox, '/') != NULL)
		return -1; /* never a path outside data_dir/mail */
	int n = snprintf(out, MAILDIR_PATH_MAX, "%s/mail/%s/%.*s", data_dir,
			 at + 1, (int)(at - mailbox), mailbox);
	return n > 0 && n < MAILDIR_PATH_MAX ? 0 : -1;
}

int maildir_create(const char *root)
{
	static const char *const subdirs[] = {"cur", "new", "tmp"};
	char path[MAILDIR_PATH_MAX];
	if (mkdir_p(root, 0700) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, subdirs[i]);
		if (mkdir_synced(path, 0700) < 0)
			return -1;
	}
	return 0;
}

int maildir_folder(const char *root, const char *name,
		   char out[MAILDIR_PATH_MAX])
{
	char marker[MAILDIR_PATH_MAX + 16];
	int n = snprintf(out, MAILDIR_PATH_MAX, "%s/.%s", root, name);
	if (n < 0 || n >= MAILDIR_PATH_MAX || maildir_create(out) < 0)
		return -1;
	snprintf(marker, sizeof(marker), "%s/maildirfolder", out);
	int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* The host part of a Maildir name may not hold '/' or ':' (maildir(5)). */
static void name_host(const char *host, char *out, size_t outsz)
{
	size_t o = 0;
	for (; *host != '\0' && o + 5 < outsz; host++) {
		if (*host == '/' || *host == ':') {
			o += (size_t)snprintf(out + o, outsz - o, "\\%03o",
					      (unsigned char)*host);
		} else {
			out[o++] = *host;
		}
	}
	out[o] = '\0';
}

static int make_name(const struct maildir_delivery *m,
		     char out[MAILDIR_NAME_MAX + 1])
{
	char host[128];
	name_host(m->hostname, host, sizeof(host));
	int n = snprintf(out, MAILDIR_NAME_MAX + 1,
			 "%" PRId64 ".Q%sR%u.%s,S=%" PRIu64 ",W=%" PRIu64,
			 m->arrived, m->queue_id, m->rcpt_index, host, m->size,
			 m->crlf_size);
	return n > 0 && n <= MAILDIR_NAME_MAX ? 0 : -1;
}

/* Recovery: is a copy of this queue id and recipient already in new/ or
 * cur/ (where a reader may have moved it, adding flags to its name)? */
static bool already_delivered(const char *root, const char *key)
{
	static const char *const subdirs[] = {"new", "cur"};
	char path[MAILDIR_PATH_MAX];
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, subdirs[i]);
		DIR *dir = opendir(path);
		if (dir == NULL)
			continue;
		struct dirent *de;
		bool found = false;
		while (!found && (de = readdir(dir)) != NULL)
			found = strstr(de->d_name, key) != NULL;
		closedir(dir);
		if (found)
			return true;
	}
	return false;
}

static enum store_result tempfail(const char **error_r, const char *what)
{
	static __thread char reason[160];
	snprintf(reason, sizeof(reason), "%s: %s", what,
		 errno == ENOSPC ? "disk full" : strerror(errno));
	*error_r = reason;
	return STORE_TEMPFAIL;
}

/* Create tmp/name, creating the Maildir on first delivery. */
static int open_tmp(const char *root, const char *tmp_path)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
		if (fd >= 0)
			return fd;
		if (errno == ENOENT && maildir_create(root) == 0)
			continue;
		if (errno == EEXIST && unlink(tmp_path) == 0)
			continue; /* a leftover of an interrupted delivery */
		return -1;
	}
	return -1;
}

static enum store_result write_and_link(const struct maildir_delivery *m,
					const char *name, bool *duplicate,
					const char **error_r)
{
	char tmp_path[MAILDIR_PATH_MAX], new_path[MAILDIR_PATH_MAX];
	snprintf(tmp_path, sizeof(tmp_path), "%s/tmp/%s", m->root, name);
	snprintf(new_path, sizeof(new_path), "%s/new/%s", m->root, name);
	int fd = open_tmp(m->root, tmp_path);
	if (fd < 0)
		return tempfail(error_r, "cannot create the message file");
	if (writev_all(fd, m->parts, m->n_parts) < 0 || fdatasync(fd) < 0) {
		enum store_result r = tempfail(error_r, "cannot write the message");
		close(fd);
		unlink(tmp_path);
		return r;
	}
	close(fd);
	/* link, not rename: a name already in new/ means a copy is there */
	if (link(tmp_path, new_path) < 0) {
		enum store_result r = STORE_OK;
		if (errno == EEXIST)
			*duplicate = true;
		else
			r = tempfail(error_r, "cannot move into new/");
		unlink(tmp_path);
		return r;
	}
	unlink(tmp_path);
	return STORE_OK;
}

static enum store_result sync_new(const char *root, const char **error_r)
{
	char path[MAILDIR_PATH_MAX];
	snprintf(path, sizeof(path), "%s/new", root);
	struct dirsync *ds = dirsync_acquire(path);
	if (ds == NULL)
		return tempfail(error_r, "cannot open new/");
	int rc = dirsync_sync(ds);
	dirsync_release(ds);
	return rc < 0 ? tempfail(error_r, "cannot sync new/") : STORE_OK;
}

enum store_result maildir_deliver(const struct maildir_delivery *m,
				  const char **error_r)
{
	char name[MAILDIR_NAME_MAX + 1], key[64];
	if (make_name(m, name) < 0) {
		*error_r = "file name too long";
		return STORE_TEMPFAIL;
	}
	snprintf(key, sizeof(key), ".Q%sR%u.", m->queue_id, m->rcpt_index);
	if (m->recovering && already_delivered(m->root, key))
		return STORE_OK;
	const char *quota_root = m->quota_root ? m->quota_root : m->root;
	if (m->quota > 0) {
		uint64_t bytes = 0, count = 0;
		if (quota_usage(quota_root, m->quota, &bytes, &count) == 0 &&
		    bytes + m->size > m->quota) {
			*error_r = "mailbox over quota";
			return STORE_OVER_QUOTA;
		}
	}
	bool duplicate = false;
	enum store_result r = write_and_link(m, name, &duplicate, error_r);
	if (r == STORE_OK)
		r = sync_new(m->root, error_r);
	if (r == STORE_OK && m->quota > 0 && !duplicate)
		quota_add(quota_root, m->quota, m->size);
	return r;
}
