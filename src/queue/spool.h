/* spool: the durable queue on disk.
 *
 *   data_dir/spool/tmp/      messages being received (never delivered)
 *   data_dir/spool/queue/    accepted messages, one file each (qfile.h)
 *   data_dir/spool/corrupt/  files found damaged at start-up, kept for a look
 *
 * A message is accepted only once spool_msg_commit() returned 0: the file is
 * written, fdatasync'd, renamed into queue/ and queue/ is fsync'd (the last
 * step shared between concurrent commits). Nothing in tmp/ survives a
 * restart, so nothing half-received is ever delivered. */
#ifndef POSTERN_QUEUE_SPOOL_H
#define POSTERN_QUEUE_SPOOL_H

#include "lib/buf.h"
#include "queue/qfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spool;

/* Open (creating) the spool under data_dir. max_file bounds what
 * spool_load() reads. NULL with errno on error. */
struct spool *spool_open(const char *data_dir, uint64_t max_file);
void spool_close(struct spool **s);

/* A fresh queue id, unique within this spool. */
void spool_new_id(char out[QUEUE_ID_LEN + 1]);

/* --- receiving ------------------------------------------------------- */

struct spool_msg;
/* Start a message with this envelope (taken over, even on failure; it needs
 * id, sender, client, helo and recipients; the nonce is filled in here). */
struct spool_msg *spool_msg_new(struct spool *s, struct envelope *env);
const struct envelope *spool_msg_envelope(const struct spool_msg *m);
/* Where the message bytes go as they arrive (LF line ends). */
struct buf *spool_msg_body(struct spool_msg *m);
/* Add header fields to go before the message (see envelope_prepend). */
int spool_msg_prepend(struct spool_msg *m, const char *text, size_t n);
/* Move the buffered bytes to a tmp/ file once there are more than
 * threshold of them, so a large message does not stay in memory. */
int spool_msg_spill(struct spool_msg *m, size_t threshold);
/* Have local copies delivered into the Junk folder (DMARC quarantine). */
void spool_msg_quarantine(struct spool_msg *m);
/* The same for the copy of recipient i alone. */
void spool_msg_quarantine_rcpt(struct spool_msg *m, size_t i);
/* Read the message bytes received so far (LF line ends, without the
 * prepended fields) back, in pieces, to fn: from the tmp/ file, then from
 * memory. 0, or -1 with errno. */
typedef void spool_read_fn(void *arg, const char *p, size_t n);
int spool_msg_read(struct spool_msg *m, spool_read_fn *fn, void *arg);
/* The same for the body only: the first header_len bytes (our Received
 * and the header section), and the empty line after them, are skipped. */
int spool_msg_read_body(struct spool_msg *m, uint64_t header_len,
			spool_read_fn *fn, void *arg);
/* Remove byte ranges (offsets in the message as received, not
 * overlapping) from it: forged header fields. 0, or -1 with errno. */
struct spool_cut {
	uint64_t off, len;
};
int spool_msg_cut(struct spool_msg *m, const struct spool_cut *cuts, size_t n);
/* Make the message durable in queue/. Blocks: call on a pool thread.
 * 0, or -1 with *error_r. */
int spool_msg_commit(struct spool_msg *m, const char **error_r);
/* Forget the message; an uncommitted tmp/ file is removed. */
void spool_msg_free(struct spool_msg **m);

/* --- delivering ------------------------------------------------------ */

struct queued {
	struct envelope env;
	char *data;         /* the whole file */
	size_t msg_off, msg_len;
};
/* Read and check queue/id. -1 with errno ENOENT when it is gone, EBADMSG
 * when it is damaged (*error_r says how). */
int spool_load(struct spool *s, const char *id, struct queued *q,
	       const char **error_r);
void queued_free(struct queued *q);
/* Remove a delivered message. */
int spool_remove(struct spool *s, const char *id);
/* Move a damaged file to corrupt/. */
int spool_quarantine(struct spool *s, const char *name);

/* Per-recipient outcomes, kept in data_dir/spool/status/ID so that after a
 * restart a recipient that has its copy is not sent it again and a failure
 * is not bounced twice. Lines are appended; outcomes are fdatasync'd, notes
 * on deferrals are not (they inform, they decide nothing). Removed with the
 * message. */
enum rcpt_state { RCPT_PENDING = 0, RCPT_DELIVERED = 1, RCPT_FAILED = 2 };
enum { SPOOL_STATUS_MAX = 16 * 1024 * 1024, SPOOL_WHY_MAX = 512 };

struct spool_status {
	unsigned char *state; /* n entries, the caller's: left alone where the
				 file says nothing */
	char **why;           /* NULL, or n entries (NULL or the last reason a
				 recipient was deferred; the caller frees) */
	unsigned attempts;    /* attempts noted so far */
	int64_t next_try;     /* unix time of the next attempt; 0: unknown */
	bool delay_warned;    /* the sender was told the message is delayed */
};
/* Fill st from the status file of a message of n recipients. 0 (also when
 * there is no file), or -1 when it exists but cannot be read. */
int spool_status_read(struct spool *s, const char *id, size_t n,
		      struct spool_status *st);
/* The same, from the file's bytes (damaged lines are skipped). */
void spool_status_parse(const char *data, size_t len, size_t n,
			struct spool_status *st);
/* Record that recipient idx[i] reached state st[i], durably. */
int spool_status_record(struct spool *s, const char *id, const size_t *idx,
			const unsigned char *st, size_t n);
/* Record, durably, that the delay notice went out. */
int spool_status_warned(struct spool *s, const char *id);
/* Note an attempt that deferred: why[i] is why recipient idx[i] waits. */
int spool_status_note(struct spool *s, const char *id, unsigned attempts,
		      int64_t next_try, const size_t *idx,
		      const char *const *why, size_t n);

/* Start-up: empty tmp/, move damaged files of queue/ to corrupt/ (logged),
 * and call fn for every valid message, and for every file that could not be
 * read (an env with only its id set: delivery will retry it). Returns the
 * number handed to fn, or -1. */
typedef void spool_found_fn(void *arg, const struct envelope *env);
long spool_recover(struct spool *s, spool_found_fn *fn, void *arg);

/* --- administration (postern queue) --------------------------------- */

/* A held message waits in data_dir/spool/hold/ and is never attempted
 * until it is released back into queue/. */
enum spool_place { SPOOL_NONE, SPOOL_QUEUED, SPOOL_HELD };
/* Where id is; SPOOL_NONE with errno ENOENT when nowhere (EINVAL: not an
 * id; other: the spool cannot be read). */
enum spool_place spool_where(struct spool *s, const char *id);
/* Like spool_load, from queue/ or else hold/ (*held says which). */
int spool_load_any(struct spool *s, const char *id, struct queued *q,
		   bool *held, const char **error_r);
/* Move between queue/ and hold/, durably. -1 with errno ENOENT when it is
 * not there. */
int spool_hold(struct spool *s, const char *id);
int spool_release(struct spool *s, const char *id);
/* Remove a message (queued or held) and its status, without a notice. */
int spool_delete(struct spool *s, const char *id);
/* Call fn for every message id in queue/, then in hold/. */
typedef void spool_list_fn(void *arg, const char *id, bool held);
int spool_list(struct spool *s, spool_list_fn *fn, void *arg);

#endif
