/* sync: bring a folder's index up to date with its files. Internal to
 * src/store (mailbox.c and folders.c use it); blocking file I/O.
 *
 * A folder is a Maildir directory (the user's root for INBOX, root/.Name
 * for a folder) holding, beside cur/ new/ tmp/, the files of uidlist.h and
 * postern-uidlist.lock. Every read-modify-write of the index happens with
 * an flock() on that lock file held (store_lock): opening, refreshing,
 * storing flags, appending, expunging. (An open or refresh served from
 * store/cache.h reads a state synced under the lock and unchanged since,
 * and writes nothing.) Delivery (maildir.c) takes no lock: it only links
 * new files into new/, and the next sync finds them.
 *
 * A sync reads dovecot-uidlist, dovecot-keywords and postern-modseq, lists
 * new/ and cur/ (readdir only: sizes come from ",S=" and ",W=" in the
 * names, flags from the info; a stat only for a name without ",S="), and
 * matches files to UIDs by base name. A listed UID whose file is gone was
 * expunged; a file with no UID gets the next one.
 *
 * Why UIDs never go backwards or repeat, even after a crash:
 * 1. A UID is shown to a client only after the uidlist line that gives it
 *    is durable: the writer fsyncs before unlocking, and every reader reads
 *    under the lock.
 * 2. The next UID is the largest of the header's N and every line's UID
 *    plus one, malformed lines included; a rewrite writes N = the next UID,
 *    so dropping the lines of expunged messages forgets no UID.
 * 3. The uidlist changes by appending whole lines (new UIDs: cheap, one
 *    write and an fdatasync) or by a rewrite to a temp file, fsync, rename
 *    and directory fsync (removals, repairs). A crash leaves the old file or
 *    the new one, or an appended line torn before its fsync returned, which
 *    no one saw (1) and which the parser skips; the next sync rewrites it.
 * 4. Messages are linked into cur/ before their UIDs are written and
 *    unlinked before their lines are dropped, so a crash in between leaves
 *    a file without a UID (it gets a new one) or a line without a file (an
 *    expunge), never a UID on two messages.
 * 5. postern-modseq lines for new UIDs are written (fsync) before the
 *    uidlist lines, so a UID in the uidlist always has its modseq.
 * 6. A uidlist that is lost or unreadable starts a new UIDVALIDITY, above
 *    any the user's Maildir has had (postern-uidvalidity in the root, and
 *    the one postern-modseq remembers), so old UIDs can never be taken for
 *    new ones. */
#ifndef POSTERN_STORE_SYNC_H
#define POSTERN_STORE_SYNC_H

#include "lib/buf.h"
#include "store/mailbox.h"
#include "store/mdname.h"
#include "store/uidlist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_state {
	uint32_t uidvalidity, next_uid;
	uint64_t highest_modseq;
	char guid[UIDLIST_GUID_LEN + 1];
	char *keywords[STORE_KEYWORDS_MAX];
	struct store_msg *recs; /* ascending UIDs */
	size_t n, cap;
	struct buf names;
	size_t modseq_lines; /* in postern-modseq, for compaction */
};

/* dir + "/" + name into out (MAILDIR_PATH_MAX bytes); -1 (ENAMETOOLONG)
 * when it does not fit. */
int store_path(char *out, const char *dir, const char *name);

/* Test hook: stat() calls made on message files since start. */
extern unsigned long store_stat_count;

/* The message's path relative to the folder ("cur/NAME"), and its name. */
const char *store_msg_path(const struct store_state *st,
			   const struct store_msg *r);
const char *store_msg_name(const struct store_state *st,
			   const struct store_msg *r);
/* The record with this UID, or NULL. */
struct store_msg *store_state_find(const struct store_state *st, uint32_t uid);
void store_state_free(struct store_state *st);
/* A deep copy of src into dst (overwritten, not freed first): 0, or -1
 * when out of memory (dst then empty). */
int store_state_copy(struct store_state *dst, const struct store_state *src);

/* Take the folder's lock (waiting up to STORE_LOCK_WAIT_MS). Returns the
 * lock's descriptor, or -1 with *error_r. */
int store_lock(const char *dir, const char **error_r);
void store_unlock(int fd);

/* With the lock held: read the index and the directories into st (freed
 * first), give new files UIDs and write what changed, durably. root is the
 * user's Maildir (for the UIDVALIDITY counter). 0 or -1 with *error_r. */
int store_sync(const char *root, const char *dir, size_t max_messages,
	       struct store_state *st, const char **error_r);

/* With the lock held, after store_sync: give these files, just linked
 * into dir/cur/, the next UIDs (into uids_r) and a modseq, durably. They
 * are added to st. */
int store_sync_add(const char *dir, struct store_state *st,
		   char *const *names, size_t n, uint32_t *uids_r,
		   const char **error_r);
/* Give each of these records a new modseq and record it durably; a NULL
 * list (n 0) records one folder-wide change (an expunge). */
int store_sync_bump(const char *dir, struct store_state *st,
		    struct store_msg *const *recs, size_t n,
		    const char **error_r);
/* Rewrite dovecot-uidlist from st (after removals). */
int store_sync_rewrite(const char *dir, const struct store_state *st,
		       const char **error_r);
/* Rewrite dovecot-keywords from st->keywords. */
int store_sync_write_keywords(const char *dir, const struct store_state *st,
			      const char **error_r);

/* Keyword names to a mask of st's letters, adding the new ones to st and
 * dir's dovecot-keywords (with the lock held). */
int store_add_keywords(const char *dir, struct store_state *st,
		       const char *const *names, size_t n, uint32_t *mask_r,
		       const char **error_r);

/* An open mailbox's parts, for append.c. */
const struct store_state *store_mailbox_snapshot(const struct store_mailbox *mb);
const char *store_mailbox_dir(const struct store_mailbox *mb);
const char *store_mailbox_root(const struct store_mailbox *mb);
const struct store_options *store_mailbox_options(const struct store_mailbox *mb);

/* A UIDVALIDITY for root's folders, above every one given before and
 * above `above`. */
uint32_t store_new_uidvalidity(const char *root, uint32_t above);

/* Write data to dir/name through a temp file, fsync, rename, fsync(dir). */
int store_write_atomic(const char *dir, const char *name, const char *data,
		       size_t len);

#endif
