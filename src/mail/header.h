/* header: walking the header fields of a message's header section (RFC 5322
 * 2.2), as the body filter keeps it: LF line ends, folded lines kept. */
#ifndef POSTERN_MAIL_HEADER_H
#define POSTERN_MAIL_HEADER_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

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
/* The value with line folding removed (RFC 5322 2.2.3) into out. */
int header_unfold(const struct header_field *f, struct buf *out);

#endif
