/* stamp: whether a folder may have changed since a moment, from five
 * stat() calls instead of a sync (which locks the folder, reads its whole
 * uidlist and lists cur/ and new/: milliseconds for a big folder, and an
 * IMAP session refreshes before every command's answer).
 *
 * What changes a folder changes one of these: a delivery or a move adds to
 * new/ or cur/, a flag change renames in cur/, UIDs and expunges are
 * written to dovecot-uidlist, modseqs to postern-modseq, keywords to
 * dovecot-keywords. File times are coarse (a clock tick), so a change in
 * the tick of the last one could leave a time as it was: a stamp is only
 * trusted when every time in it is more than a second older than the
 * stamp itself. A busy folder is then synced every time, as before. A
 * missing file is a state of its own (all zeros). The same test decides
 * whether a session may reuse its own snapshot (store_mailbox_refresh)
 * and whether it may take the process's cached one (store/cache.h). */
#ifndef POSTERN_STORE_STAMP_H
#define POSTERN_STORE_STAMP_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

enum { STORE_STAMP_FILES = 5 };

struct store_stamp {
	struct {
		struct timespec mtime;
		off_t size;
		ino_t ino;
	} f[STORE_STAMP_FILES];
	bool trusted; /* every time in it is well in the past */
};

/* The stamp of folder dir now (a missing file counts as zeros). */
void store_stamp_take(const char *dir, struct store_stamp *s);
/* Whether nothing changed from before to now: before trusted, and the
 * same times, sizes and inodes. */
bool store_stamp_unchanged(const struct store_stamp *before,
			   const struct store_stamp *now);

#endif
