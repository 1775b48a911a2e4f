/* header: walking the header fields of a message's header section (RFC 5322
 * 2.2), as the body filter keeps it: LF line ends, folded lines kept. */
#ifndef POSTERN_MAIL_HEADER_H
#define POSTERN_MAIL_HEADER_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct header_field {
	const char *name; /* the field name, without the colon */
	size_t name_len;
	const char *value; /* after the colon, folding kept, no final LF */
	size_t value_len;
};

/* The field starting at *pos in hdr[0..len). Returns 1 and advances *pos,
 * or 0 at the end. A line that is not a field (no colon after a name) ends
 * the walk with 0, as it ends the header section. */
int header_next(const char *hdr, size_t len, size_t *pos,
		struct header_field *f);
/* Field name comparison, without case (RFC 5322 1.2.2). */
bool header_is(const struct header_field *f, const char *name);
/* How many fields are called name. */
unsigned header_count(const char *hdr, size_t len, const char *name);
/* Where a message's header section ends: where header_next() stops (the
 * empty line, or a line that is not a field, as the body filter decides
 * too). Returns the section's length; *body_r is where the body starts
 * (after the empty line, or at the line that is not a field). One rule
 * for signer, verifier and queue, so that no line is in neither part. */
size_t header_section(const char *msg, size_t len, size_t *body_r);

/* Skipping a known number of header bytes in a message read in pieces,
 * then the empty line if one follows. */
struct header_skip {
	uint64_t left; /* header bytes still to skip */
	bool blank;    /* the next byte may be the empty line */
};
void header_skip_init(struct header_skip *hs, uint64_t header_len);
/* How many of p[0..n) to skip; the rest is body. */
size_t header_skip(struct header_skip *hs, const char *p, size_t n);

/* The value with line folding removed (RFC 5322 2.2.3) into out. */
int header_unfold(const struct header_field *f, struct buf *out);

#endif
