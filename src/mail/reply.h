/* reply: SMTP server replies as a client reads them (RFC 5321 4.2). Pure code.
 *
 * A reply is one or more lines "CODE-text" ending with "CODE text" (or a bare
 * "CODE"). The parser is strict and bounded, because the peer is a stranger
 * (CVE-2020-8794 was a client trusting a reply's shape): every line must
 * carry the same three-digit code, a line may be at most REPLY_LINE_MAX
 * bytes, a reply at most REPLY_LINES_MAX lines. Anything else is an error
 * the caller treats as a temporary failure of that connection. */
#ifndef POSTERN_MAIL_REPLY_H
#define POSTERN_MAIL_REPLY_H

#include <stdbool.h>
#include <stddef.h>

enum {
	REPLY_LINE_MAX = 2048,  /* RFC 5321 4.5.3.1.5 says 512; be lenient */
	REPLY_LINES_MAX = 200,  /* an EHLO reply has a few dozen at most */
	REPLY_TEXT_MAX = 16384, /* kept text of a whole reply */
};

enum reply_status {
	REPLY_MORE,     /* no complete reply yet: read more */
	REPLY_DONE,     /* a whole reply is in the reply struct */
	REPLY_BAD,      /* malformed; the connection cannot be trusted */
	REPLY_TOO_LONG, /* a line or the reply is over the limits */
};

struct reply {
	int code;          /* 200..599 */
	char enhanced[16]; /* "5.1.1" when the first line carries one, or "" */
	/* the lines' texts joined by "\n" (without codes), cut at
	 * REPLY_TEXT_MAX; NUL-terminated; control bytes replaced by '?' */
	char text[REPLY_TEXT_MAX + 1];
	size_t text_len;
	unsigned lines;
};

struct reply_parser {
	struct reply cur; /* the reply being assembled */
};

void reply_parser_init(struct reply_parser *p);
/* Feed data[0..len). Sets *consumed to the bytes used (the caller drops
 * them). On REPLY_DONE the reply is copied to *out and the parser is ready
 * for the next one; bytes after it stay unconsumed. */
enum reply_status reply_parse(struct reply_parser *p, const char *data,
			      size_t len, size_t *consumed, struct reply *out);

/* Whether an EHLO reply lists keyword (case-insensitive, whole word at the
 * start of a line); *params points to what follows it (or ""). */
bool reply_has_keyword(const struct reply *r, const char *keyword,
		       const char **params);

/* The reply as one loggable line: "550 5.1.1 text text". */
void reply_summary(const struct reply *r, char *out, size_t n);

#endif
