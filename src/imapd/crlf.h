/* crlf: the CRLF form of a message stored with LF line ends. Pure code.
 *
 * Our Maildir keeps LF line ends; IMAP serves mail in its canonical CRLF
 * form (RFC 9051 2.3.1: sizes and partial offsets count the octets as
 * transmitted), so every bare LF (one without a CR before it) counts as
 * two octets. A lone CR is served as stored. RFC822.SIZE is not computed
 * here: the W= field of the Maildir file name holds it.
 *
 * Offsets: the CRLF form of the whole message is the reference, so raw
 * offset x maps to x plus the bare LFs in [0, x); a raw range [a, b) maps
 * to [map(a), map(b)). The index answers map(x) in O(CRLF_BLOCK) time
 * with len / CRLF_BLOCK counters, so that sizing every part of a deep MIME
 * tree is not O(depth x size). */
#ifndef POSTERN_IMAPD_CRLF_H
#define POSTERN_IMAPD_CRLF_H

#include "lib/buf.h"

#include <stddef.h>
#include <stdint.h>

enum { CRLF_BLOCK = 1024 };

/* Bare LFs in s[a..b) of the message s (s[a - 1] is looked at). */
size_t crlf_bare_lfs(const char *s, size_t a, size_t b);

struct crlf_index {
	const char *s;
	size_t len;
	size_t *before; /* bare LFs before block i; NULL for a short message */
};

/* Build the index of s[0..len) (which must outlive it). 0, or -1 when out
 * of memory. */
int crlf_index_init(struct crlf_index *ix, const char *s, size_t len);
void crlf_index_free(struct crlf_index *ix);
/* The CRLF-form offset of raw offset x (x <= len). */
uint64_t crlf_offset(const struct crlf_index *ix, size_t x);
/* The CRLF-form length of the raw range [a, a + n). */
uint64_t crlf_length(const struct crlf_index *ix, size_t a, size_t n);

/* A window on a stream of CRLF-form output: bytes at stream positions
 * [skip, end) go to out, the rest only advance pos. This is how a
 * <partial> is applied while the section is produced, without building
 * the whole section first. */
struct crlf_sink {
	struct buf *out; /* NULL: count only */
	uint64_t pos, skip, end;
};

/* A sink taking everything. */
void crlf_sink_init(struct crlf_sink *k, struct buf *out);
/* A sink taking [origin, origin + count). */
void crlf_sink_window(struct crlf_sink *k, struct buf *out, uint64_t origin,
                      uint64_t count);
/* Append bytes as they are. 0 or -1 (out full). */
int crlf_put(struct crlf_sink *k, const char *p, size_t n);
/* Append s[a..b) of a message in CRLF form: a CR before each bare LF. */
int crlf_put_range(struct crlf_sink *k, const char *s, size_t a, size_t b);

#endif
