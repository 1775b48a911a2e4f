/* buf: a growable byte buffer with a hard maximum.
 *
 * Every buffer that holds input from the network has a maximum, so that an
 * over-long line or message is refused before it is stored (STYLE.md rule 2).
 * The data is always NUL-terminated after a successful append, so a buffer of
 * text can be handed to functions that want a C string; the NUL is not counted
 * in len. */
#ifndef POSTERN_LIB_BUF_H
#define POSTERN_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* largest len allowed; 0 means no limit */
};

/* Initialise an empty buffer that may hold at most max bytes (0: no limit). */
void buf_init(struct buf *b, size_t max);
/* Free the storage; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Like buf_free, but first overwrites the bytes (for secrets). */
void buf_wipe(struct buf *b);

/* Make room for extra more bytes (plus the NUL). Returns 0, or -1 with errno
 * EMSGSIZE when len + extra would pass the maximum, ENOMEM when out of memory. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_append_byte(struct buf *b, char c);
int buf_appendf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vappendf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer, keeping its storage. */
void buf_clear(struct buf *b);
/* Shorten to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* The contents as a C string ("" for an empty buffer that never grew). */
const char *buf_cstr(const struct buf *b);
/* Bytes that may still be appended before the maximum. */
size_t buf_room(const struct buf *b);

#endif
