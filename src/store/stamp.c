/* stamp: cheap change detection for a folder. */
#include "store/stamp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const watched[STORE_STAMP_FILES] = {
	"dovecot-uidlist", "postern-modseq", "dovecot-keywords", "cur", "new"};

void store_stamp_take(const char *dir, struct store_stamp *s)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(s, 0, sizeof(*s));
	s->trusted = true;
	for (int i = 0; i < STORE_STAMP_FILES; i++) {
		char path[4096];
		struct stat st;
		if (snprintf(path, sizeof(path), "%s/%s", dir, watched[i]) >=
			    (int)sizeof(path) ||
		    stat(path, &st) < 0) {
			/* missing is a state (zeros; a file made later has
			 * an inode); anything else: cannot tell, sync */
			if (errno != ENOENT)
				s->trusted = false;
			continue;
		}
		s->f[i].mtime = st.st_mtim;
		s->f[i].size = st.st_size;
		s->f[i].ino = st.st_ino;
		if (st.st_mtim.tv_sec >= now.tv_sec - 1)
			s->trusted = false;
	}
}

bool store_stamp_unchanged(const struct store_stamp *before,
			   const struct store_stamp *now)
{
	if (!before->trusted)
		return false;
	for (int i = 0; i < STORE_STAMP_FILES; i++)
		if (before->f[i].mtime.tv_sec != now->f[i].mtime.tv_sec ||
		    before->f[i].mtime.tv_nsec != now->f[i].mtime.tv_nsec ||
		    before->f[i].size != now->f[i].size ||
		    before->f[i].ino != now->f[i].ino)
			return false;
	return true;
}
