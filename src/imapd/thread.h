/* thread: THREAD (RFC 5256 4) as pure code: the ORDEREDSUBJECT and
 * REFERENCES algorithms over messages whose keys imapd/sort.h gives (base
 * subject, sent date), and the message IDs they are linked by.
 *
 *   thread-data = "THREAD" [SP 1*thread-list]
 *   thread-list = "(" (thread-members / thread-nested) ")"
 *   thread-members = nz-number *(SP nz-number) [SP thread-nested]
 *   thread-nested = 2*thread-list
 *
 * Message IDs: the "<...>" tokens of Message-ID, References and
 * In-Reply-To, compared byte for byte (RFC 5256 4: case-sensitively);
 * a token with a space, a control or a second "<" inside is not one.
 *
 * Limits (each bounds the work a crafted folder can cause): a message's
 * first IMAP_THREAD_REFS_MAX references are used (the newest are kept:
 * they decide its parent); IDs longer than IMAP_MSGID_MAX are ignored; a
 * parent link whose ancestry check would walk past IMAP_THREAD_DEPTH_MAX
 * links is not made (as if it made a loop), and a thread deeper than
 * IMAP_THREAD_DEPTH_MAX is cut there, the rest becoming threads of their
 * own; so recursion stays bounded. */
#ifndef POSTERN_IMAPD_THREAD_H
#define POSTERN_IMAPD_THREAD_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	IMAP_THREAD_REFS_MAX = 64,
	IMAP_MSGID_MAX = 998, /* RFC 5322 2.1.1: a line */
	IMAP_THREAD_DEPTH_MAX = 256,
};

enum imap_thread_alg { THREAD_ORDEREDSUBJECT, THREAD_REFERENCES };

/* One message as the threading sees it. */
struct imap_thread_msg {
	uint32_t seq, id;     /* id: what is answered (sequence number or UID) */
	int64_t date;         /* sent date (imap_sort_msg's) */
	const char *subject;  /* base subject, upper case (not owned) */
	bool refwd;           /* a reply or forward subject */
	char *msgid;          /* without "<>"; NULL: none */
	char **refs;          /* parents, oldest first; without "<>" */
	size_t n_refs;
};

/* The message IDs in a field value, in order, at most max of them (the
 * last max when there are more, keep_last; the first otherwise), each
 * malloc'd without its "<>", into out. Returns how many, or -1 when out
 * of memory (nothing kept). */
int imap_thread_msgids(const char *v, size_t len, char **out, size_t max,
		       bool keep_last);

/* Message-ID, References and In-Reply-To (when References gives no ID:
 * its first ID, RFC 5256 4) from a header section. 0, or -1 when out of
 * memory. imap_thread_msg_free() in both cases. */
int imap_thread_msg_fill(struct imap_thread_msg *m, const char *hdr,
			 size_t len);
void imap_thread_msg_free(struct imap_thread_msg *m);

/* Thread v[0..n) (in sequence order) and append the thread lists,
 * "(1 2)(3 (4)(5))", to out. 0, or -1 when out of memory. */
int imap_thread(const struct imap_thread_msg *v, size_t n,
		enum imap_thread_alg alg, struct buf *out);

#endif
