/* base64: RFC 4648 section 4 encoding, decoded strictly: padding required
 * and exact, no whitespace, no characters outside the alphabet, no
 * non-zero bits left over. SASL (RFC 4954) needs malformed input refused,
 * never half-decoded. */
#ifndef POSTERN_LIB_BASE64_H
#define POSTERN_LIB_BASE64_H

#include "lib/buf.h"

#include <stddef.h>

/* Bytes needed to encode n bytes (without a NUL). */
size_t base64_encoded_len(size_t n);
/* Append the encoding of data to out. 0 or -1 (out's maximum). */
int base64_encode(const void *data, size_t n, struct buf *out);
/* Append the decoding of text to out. 0, or -1 when text is not strict
 * base64 (or out is full). */
int base64_decode(const char *text, size_t n, struct buf *out);

#endif
