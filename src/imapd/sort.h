/* sort: SORT (RFC 5256 3) as pure code: the sort criteria, the base
 * subject of RFC 5256 2.1, the sent date, the keys taken from a message's
 * header, and the ordering itself. imapd/thread.h uses the same keys.
 *
 *   sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
 *   sort-criterion = ["REVERSE" SP] sort-key
 *   sort-key = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" /
 *              "TO"
 *
 * Strings compare as i;ascii-casemap: ASCII letters folded to upper case,
 * other bytes as they are. RFC 2047 encoded words are compared as they
 * are written, not decoded (RFC 5256 2.1 step 1 asks for the decoding;
 * this is a documented difference). Ties are broken by sequence number
 * (RFC 5256 3).
 *
 * Limits: IMAP_SORT_CRITERIA_MAX criteria; IMAP_SORT_FIELD_MAX bytes of a
 * field value are looked at. */
#ifndef POSTERN_IMAPD_SORT_H
#define POSTERN_IMAPD_SORT_H

#include "imapd/parse.h"
#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	IMAP_SORT_CRITERIA_MAX = 16,
	IMAP_SORT_FIELD_MAX = 8 * 1024,
};

enum imap_sort_key {
	SORT_ARRIVAL,
	SORT_CC,
	SORT_DATE,
	SORT_FROM,
	SORT_SIZE,
	SORT_SUBJECT,
	SORT_TO,
};

struct imap_sort_crit {
	enum imap_sort_key key;
	bool reverse;
};

/* The criteria list args[i] into crit (IMAP_SORT_CRITERIA_MAX of them).
 * 0, or -1 with *error_r (BAD). */
int imap_sort_parse(const struct imap_arg *args, uint32_t n_args, uint32_t i,
		    struct imap_sort_crit *crit, size_t *n_r,
		    const char **error_r);

/* RFC 5256 2.1: the base subject of a Subject value (unfolded or not), in
 * upper case, into out (replacing it). *refwd_r: the subject had a "Re:",
 * "Fwd:", "[fwd: ...]" or "(fwd)" (THREAD's reply or forward test). 0, or
 * -1 when out of memory. */
int imap_base_subject(const char *s, size_t len, struct buf *out,
		      bool *refwd_r);

/* An RFC 5322 date-time ("Tue, 5 Mar 2024 10:00:00 -0800", seconds and
 * day of week optional, obsolete zone names) as seconds since the epoch
 * in UTC. false when it is not one. */
bool imap_sent_date(const char *s, size_t len, int64_t *t_r);

/* What the criteria compare, for one message. */
struct imap_sort_msg {
	uint32_t seq, id;   /* id: what is answered (sequence number or UID) */
	int64_t arrival;    /* INTERNALDATE */
	int64_t date;       /* sent date; the arrival when there is none */
	uint64_t size;
	char *from, *to, *cc; /* first addr-mailbox, upper case, or "" */
	char *subject;      /* base subject, upper case */
	bool refwd;         /* see imap_base_subject */
};

/* Fill m's header keys from a header section (CRLF or LF); m->arrival
 * must be set (the date falls back to it). 0, or -1 when out of memory.
 * imap_sort_msg_free() in both cases. */
int imap_sort_msg_fill(struct imap_sort_msg *m, const char *hdr, size_t len);
void imap_sort_msg_free(struct imap_sort_msg *m);

/* Order v by the criteria, ties by sequence number. */
void imap_sort(struct imap_sort_msg *v, size_t n,
	       const struct imap_sort_crit *crit, size_t n_crit);

#endif
