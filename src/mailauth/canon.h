/* canon: DKIM canonicalisation (RFC 6376 3.4), "simple" and "relaxed", for
 * header fields and, streaming, for the body. Pure code.
 *
 * Input may have CRLF or bare LF line ends (the queue keeps LF); output
 * always has CRLF, as the hash needs. */
#ifndef POSTERN_MAILAUTH_CANON_H
#define POSTERN_MAILAUTH_CANON_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

enum canon { CANON_SIMPLE, CANON_RELAXED };

/* "simple" or "relaxed" → 0 with *c; else -1. */
int canon_parse(const char *s, size_t len, enum canon *c);

/* Append the canonical form of one header field (its name, colon, value
 * and folding, with or without its final line end) and CRLF to out.
 * 0, or -1 when out is full. */
int canon_header(enum canon c, const char *field, size_t len, struct buf *out);

/* The body, fed in pieces of any size; the canonical bytes go to emit as
 * they become final (trailing empty lines are held back until more
 * content shows they are not trailing), in blocks: all of them only after
 * canon_body_final. */
typedef void canon_emit_fn(void *arg, const char *p, size_t n);

struct canon_body {
	enum canon c;
	canon_emit_fn *emit;
	void *arg;
	size_t held_crlf;  /* line ends not emitted yet */
	bool cr;           /* the last byte was a CR */
	bool wsp;          /* relaxed: whitespace seen since the last char */
	bool line_content; /* this line has emitted something */
	bool any;          /* something was emitted at all */
	unsigned long long emitted; /* bytes given to emit (l= bounds) */
	/* output gathered before emit is called: one call per word would
	 * cost more than the hashing */
	char pending[4096];
	size_t n_pending;
};

void canon_body_init(struct canon_body *b, enum canon c, canon_emit_fn *emit,
		     void *arg);
void canon_body_update(struct canon_body *b, const char *p, size_t n);
/* The end of the body: a final CRLF where RFC 6376 3.4.3/3.4.4 want one. */
void canon_body_final(struct canon_body *b);

#endif
