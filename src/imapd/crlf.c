/* crlf: LF to CRLF sizes, offsets and copies (see crlf.h). */
#include "imapd/crlf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t crlf_bare_lfs(const char *s, size_t a, size_t b)
{
	size_t c = 0;
	if (a >= b) /* s may be NULL for an empty message */
		return 0;
	const char *p = s + a, *end = s + b;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		c += p == s || p[-1] != '\r';
		p++;
	}
	return c;
}

int crlf_index_init(struct crlf_index *ix, const char *s, size_t len)
{
	*ix = (struct crlf_index){s, len, NULL};
	size_t blocks = len / CRLF_BLOCK;
	if (blocks == 0)
		return 0;
	ix->before = malloc((blocks + 1) * sizeof(*ix->before));
	if (ix->before == NULL) {
		errno = ENOMEM;
		return -1;
	}
	size_t c = 0;
	for (size_t i = 0; i <= blocks; i++) {
		ix->before[i] = c;
		if (i < blocks)
			c += crlf_bare_lfs(s, i * CRLF_BLOCK,
			                   (i + 1) * CRLF_BLOCK);
	}
	return 0;
}

void crlf_index_free(struct crlf_index *ix)
{
	free(ix->before);
	ix->before = NULL;
}

uint64_t crlf_offset(const struct crlf_index *ix, size_t x)
{
	size_t block = x / CRLF_BLOCK, from = 0, before = 0;
	if (ix->before != NULL) {
		from = block * CRLF_BLOCK;
		before = ix->before[block];
	}
	return (uint64_t)x + before + crlf_bare_lfs(ix->s, from, x);
}

uint64_t crlf_length(const struct crlf_index *ix, size_t a, size_t n)
{
	return crlf_offset(ix, a + n) - crlf_offset(ix, a);
}

void crlf_sink_init(struct crlf_sink *k, struct buf *out)
{
	*k = (struct crlf_sink){out, 0, 0, UINT64_MAX};
}

void crlf_sink_window(struct crlf_sink *k, struct buf *out, uint64_t origin,
                      uint64_t count)
{
	uint64_t end = origin + count < origin ? UINT64_MAX : origin + count;
	*k = (struct crlf_sink){out, 0, origin, end};
}

int crlf_put(struct crlf_sink *k, const char *p, size_t n)
{
	uint64_t a = k->pos, b = k->pos + n;
	k->pos = b;
	if (n == 0 || k->out == NULL || b <= k->skip || a >= k->end)
		return 0;
	uint64_t from = a < k->skip ? k->skip - a : 0;
	uint64_t to = b > k->end ? k->end - a : n;
	return buf_append(k->out, p + from, (size_t)(to - from));
}

int crlf_put_range(struct crlf_sink *k, const char *s, size_t a, size_t b)
{
	size_t start = a;
	if (a >= b)
		return 0;
	const char *p = s + a, *end = s + b;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		/* past the window nothing more is kept: stop copying */
		if (k->out != NULL && k->pos >= k->end)
			return 0;
		size_t i = (size_t)(p - s);
		p++;
		if (i > 0 && s[i - 1] == '\r')
			continue;
		if (crlf_put(k, s + start, i - start) < 0 ||
		    crlf_put(k, "\r", 1) < 0)
			return -1;
		start = i;
	}
	return crlf_put(k, s + start, b - start);
}
