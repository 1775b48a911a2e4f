/* mailbox: the mailbox store IMAP and POP3 sessions read and change.
 * Blocking file I/O, no event loop: call it from a pool thread.
 *
 * A user's mail is a Maildir++ tree (store/maildir.h): the root is INBOX,
 * "root/.A.B" the folder the IMAP layer names "A/B" (imapd/mailbox.h maps
 * the names; this library takes the Maildir++ form: "" for INBOX, ".Sent",
 * ".A.B"). Each folder keeps, beside cur/ new/ tmp/:
 *
 *   dovecot-uidlist       UID -> file name, UIDVALIDITY, next UID, GUID
 *   dovecot-keywords      keyword names for the letters a..z
 *   postern-modseq        CONDSTORE modseqs (ours)
 *   postern-uidlist.lock  flock()ed while the index is read and written
 *
 * and flags live in the file names (":2," info, store/mdname.h).
 *
 * Shared with Dovecot (an operator can point Dovecot's
 * "maildir:~/Maildir:LAYOUT=maildir++" at a user's tree, with Postern
 * stopped, and keep UIDs, UIDVALIDITY, flags and keywords): file names,
 * dovecot-uidlist (version 3, as documented by Dovecot; we also read
 * Courier's version 1), dovecot-keywords, maildirfolder markers,
 * maildirsize (store/quota.h) and subscriptions (one name per line,
 * Dovecot's version 1 format). Ours, which Dovecot ignores: postern-modseq
 * (Dovecot keeps modseqs in its index; after a switch they start over),
 * postern-uidvalidity (the last UIDVALIDITY given in this tree) and the
 * lock file: Dovecot's dotlock is not taken, so the two must not write a
 * folder at the same time. Extension fields on uidlist lines are skipped
 * and not written back; \Recent is not kept (IMAP4rev2 dropped it).
 *
 * Cost: opening or refreshing a folder, or its STATUS, first takes its
 * stamp (five stat() calls, store/stamp.h). A refresh that finds nothing
 * moved since its own snapshot stops there; when any session of the
 * process synced the folder as it is now, the snapshot is a copy of that
 * state (store/cache.h: shared, bounded, never given for a folder changed
 * since). Otherwise the folder is locked and synced: its uidlist and
 * modseq file read and new/ and cur/ listed (readdir, no stat: sizes come
 * from ",S=" and ",W=" in the names; a file whose name has no ",S=" costs
 * one stat). Whatever writes locks and syncs first, never from the cache.
 * Writes are durable (file and directory fsync'd) before success returns.
 * Concurrency: any number of sessions and deliveries on one folder; see
 * store/sync.h for the order of operations and why UIDs never repeat.
 *
 * Limits: STORE_MESSAGES_MAX messages per folder (a configurable maximum;
 * files past it get no UID, with a log line), 26 keywords per folder,
 * file names of 255 bytes, paths of MAILDIR_PATH_MAX. */
#ifndef POSTERN_STORE_MAILBOX_H
#define POSTERN_STORE_MAILBOX_H

#include "store/mdname.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum { STORE_MESSAGES_MAX = 10000000 };

struct store_options {
	uint64_t quota;          /* bytes, 0 = none (maildirsize untouched) */
	size_t max_messages;     /* per folder; 0 = STORE_MESSAGES_MAX */
	const char *hostname;    /* for new file names; NULL = gethostname */
};

/* One message of an open folder. */
struct store_msg {
	uint32_t uid;
	uint32_t flags;     /* STORE_SEEN ... (mdname.h), other letters kept */
	uint32_t keywords;  /* bit i: keyword i, store_mailbox_keyword() */
	uint64_t size;      /* bytes of the file */
	uint64_t crlf_size; /* RFC822.SIZE (",W="), 0 when unknown: count */
	uint64_t modseq;    /* RFC 7162 MODSEQ */
	/* private */
	size_t name_off;
	uint16_t name_len, base_len;
};

struct store_mailbox;

/* Open root's folder ("" INBOX, ".Sent"): the snapshot of its messages,
 * after giving new files UIDs. 0, or -1 with *error_r. */
int store_mailbox_open(const char *root, const char *folder,
		       const struct store_options *opt,
		       struct store_mailbox **mb_r, const char **error_r);
void store_mailbox_free(struct store_mailbox **mb);

uint32_t store_mailbox_uidvalidity(const struct store_mailbox *mb);
uint32_t store_mailbox_uidnext(const struct store_mailbox *mb);
/* The uidlist's GUID (Dovecot's, 32 hex digits; "" when it has none):
 * with UIDVALIDITY, what tells this folder from one made again in its
 * place. */
const char *store_mailbox_guid(const struct store_mailbox *mb);
uint64_t store_mailbox_highestmodseq(const struct store_mailbox *mb);
/* The snapshot: count messages in ascending UID order (sequence number
 * i + 1 is msgs[i]). Valid until the next refresh or free. */
size_t store_mailbox_count(const struct store_mailbox *mb);
const struct store_msg *store_mailbox_msgs(const struct store_mailbox *mb);
/* The sequence index of uid, or -1. */
long store_mailbox_find(const struct store_mailbox *mb, uint32_t uid);
/* Keyword i's name (i < 26), NULL when unused. */
const char *store_mailbox_keyword(const struct store_mailbox *mb, unsigned i);

/* Open message idx for reading (O_RDONLY); finds it again if another
 * session renamed it. -1 with *error_r when it is gone (expunged). */
int store_mailbox_open_msg(struct store_mailbox *mb, size_t idx,
			   const char **error_r);
/* INTERNALDATE: the file's mtime, read once (one stat) and kept. */
int store_mailbox_internaldate(struct store_mailbox *mb, size_t idx,
			       int64_t *t_r, const char **error_r);

/* What changed since the snapshot, found by store_mailbox_refresh. */
struct store_changes {
	uint32_t *expunged_uids;
	uint32_t *expunged_seqs; /* their sequence numbers in the old
				    snapshot, ascending: send EXPUNGE for
				    them from the last one down */
	size_t n_expunged;
	uint32_t *changed_uids;  /* flags or modseq changed (FETCH) */
	size_t n_changed;
	size_t n_new;            /* the last n_new messages are new (EXISTS) */
	bool keywords_changed;   /* the keyword set grew (FLAGS) */
	bool uidvalidity_changed; /* the index was lost: end the session */
};

/* Replace the snapshot with the folder as it is now, and say what changed
 * (other sessions, deliveries, our own expunges). 0 or -1 with *error_r;
 * on error the snapshot stays. */
int store_mailbox_refresh(struct store_mailbox *mb, struct store_changes *ch,
			  const char **error_r);
void store_changes_free(struct store_changes *ch);

/* The index (0..25) of keyword name in this folder, added to its
 * dovecot-keywords when create is set and it is new. -1 with *error_r:
 * not a valid keyword, unknown (create false), or the folder has 26. */
int store_mailbox_keyword_index(struct store_mailbox *mb, const char *name,
				size_t len, bool create, const char **error_r);

enum store_flag_op { STORE_FLAGS_SET, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/* STORE: change the flags of these UIDs (RFC 9051 6.4.6) as they are on
 * disk now (so +FLAGS from two sessions both stick). A message whose
 * modseq is above unchangedsince (non-zero: RFC 7162 3.1.3) is left alone
 * and its UID goes to failed_r (malloc'd, may be NULL when n is 0).
 * Changed messages get a new modseq; the snapshot's copy of them is
 * updated, nothing else of it changes (no EXPUNGE mid-command). UIDs not
 * in the folder any more are skipped. */
int store_mailbox_set_flags(struct store_mailbox *mb, const uint32_t *uids,
			    size_t n, enum store_flag_op op, uint32_t flags,
			    uint32_t keywords, uint64_t unchangedsince,
			    uint32_t **failed_r, size_t *n_failed,
			    const char **error_r);

/* EXPUNGE: delete these UIDs (all messages when uids is NULL); with
 * require_deleted only those flagged \Deleted on disk now (IMAP EXPUNGE
 * and UID EXPUNGE), without it all of them (POP3 DELE). The snapshot
 * still holds them: the next refresh reports them expunged. */
int store_mailbox_expunge(struct store_mailbox *mb, const uint32_t *uids,
			  size_t n, bool require_deleted, const char **error_r);

/* The error of an APPEND or COPY that the user's quota refused: callers
 * compare the pointer (IMAP answers [OVERQUOTA], RFC 9208 4.2). */
extern const char STORE_ERROR_QUOTA[];

/* The UIDs a COPY or APPEND gave (RFC 4315 COPYUID, APPENDUID). */
struct store_copied {
	uint32_t uidvalidity;
	uint32_t *src_uids, *dst_uids; /* malloc'd, n each */
	size_t n;
};
void store_copied_free(struct store_copied *c);

/* COPY these UIDs of mb to root's folder (hard links when the file system
 * allows, new UIDs there, flags and keywords kept). */
int store_mailbox_copy(struct store_mailbox *mb, const uint32_t *uids,
		       size_t n, const char *folder, struct store_copied *out,
		       const char **error_r);

struct store_append {
	const struct iovec *parts; /* the message */
	int n_parts;
	uint32_t flags;
	const char *const *keywords; /* names */
	size_t n_keywords;
	int64_t internaldate;        /* 0: now */
};

/* APPEND a message to root's folder; *uid_r and *uidvalidity_r for
 * APPENDUID. Durable before it returns 0. */
int store_append(const char *root, const char *folder,
		 const struct store_options *opt, const struct store_append *a,
		 uint32_t *uidvalidity_r, uint32_t *uid_r,
		 const char **error_r);

/* STATUS (RFC 9051 6.3.11) without opening a message file. */
struct store_status {
	uint32_t messages, uidnext, uidvalidity, unseen;
	uint64_t size, highestmodseq;
};
int store_status(const char *root, const char *folder,
		 const struct store_options *opt, struct store_status *st,
		 const char **error_r);

/* The directory of a folder: root for "", root/.Name otherwise. -1 when
 * the name is not a Maildir++ folder name or the path too long. */
int store_folder_dir(const char *root, const char *folder, char *out,
		     size_t outsz);

#endif
