/* qfile: the queue file format. Pure code: encode and parse, no I/O.
 *
 *   postern-queue 1\n
 *   id 0199A3F2C4D51E07\n         queue id
 *   nonce 9f1c...(16 hex)\n       random, repeated in the end line
 *   arrived 1764000000\n          unix time of acceptance
 *   from alice@example.org\n      reverse-path, "from \n" for <>
 *   body 8bitmime\n               7bit | 8bitmime
 *   smtputf8 1\n                  present only when used
 *   client 192.0.2.1\n
 *   helo mail.example.org\n
 *   rcpt <as given>\t<mailbox>\n  one per delivery target; an empty
 *                                  mailbox: a recipient elsewhere
 *   data\n
 *   <the message, LF line ends>
 *   quarantine\n                    optional: deliver into the recipients'
 *                                  Junk folder (a DMARC p=quarantine)
 *   prepend <n>\n<n bytes>          optional: header fields we add at the
 *                                  end of the data, put first at delivery
 *   end <message length> <nonce>\n
 *
 * The file is self-delimiting: it is complete only when its last line is the
 * end line, the length matches and the nonce is this file's. A file cut at
 * any offset fails to parse, even if the message holds text that looks like
 * an end line (it cannot know the nonce), so a torn file is never delivered. */
#ifndef POSTERN_QUEUE_QFILE_H
#define POSTERN_QUEUE_QFILE_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	QUEUE_ID_LEN = 16,
	QFILE_NONCE_LEN = 16,
	QFILE_HEADER_MAX = 8 * 1024 * 1024, /* envelope records */
	QFILE_RCPTS_MAX = 100000,
	QFILE_VALUE_MAX = 1024,
	QFILE_PREPEND_MAX = 1024 * 1024,
};

struct envelope_rcpt {
	char *orig;    /* the address as given in RCPT TO */
	char *mailbox; /* the local mailbox it resolved to; "" when it is
			  elsewhere (outbound delivery) */
	bool junk;     /* DMARC quarantine of this copy: the Junk folder */
};

struct envelope {
	char id[QUEUE_ID_LEN + 1];
	char nonce[QFILE_NONCE_LEN + 1];
	int64_t arrived;
	char *sender; /* "" for the null reverse-path */
	bool eight_bit_mime;
	bool smtputf8;
	char *client_ip;
	char *helo;
	struct envelope_rcpt *rcpts;
	size_t n_rcpts;
	/* Header fields to put before the message (LF line ends, each ending
	 * with LF), added after the data: NULL or a string. */
	char *prepend;
	size_t prepend_len;
	bool quarantine; /* every local copy goes to the Junk folder (and
			    rcpts[i].junk says it for one) */
};

/* Add a recipient (copies both strings). Returns 0 or -1 (ENOMEM/E2BIG). */
int envelope_add_rcpt(struct envelope *env, const char *orig,
		      const char *mailbox);
void envelope_free(struct envelope *env);

/* Append the records up to and including "data\n". Every value must be
 * free of control bytes; -1 if one is not (nothing sensible can be
 * written then). */
int qfile_encode_header(const struct envelope *env, struct buf *out);
/* Append a header field (or several) to env->prepend. The text must end
 * with LF and hold no NUL or CR. 0 or -1. */
int envelope_prepend(struct envelope *env, const char *text, size_t n);
/* Append the trailer (prepend records) and the end line for a message of
 * len bytes. */
int qfile_encode_end(const struct envelope *env, uint64_t len, struct buf *out);

/* Parse a whole queue file. On success fills env (free with envelope_free)
 * and the message's offset and length; otherwise -1 with *error_r. */
int qfile_parse(const char *data, size_t len, struct envelope *env,
		size_t *msg_off, size_t *msg_len, const char **error_r);

/* Whether s is a well-formed queue id (file names come from outside). */
bool queue_id_valid(const char *s);

#endif
