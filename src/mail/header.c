/* header: header field iteration. */
#include "mail/header.h"

#include <string.h>
#include <strings.h>

int header_next(const char *hdr, size_t len, size_t *pos,
		struct header_field *f)
{
	size_t p = *pos;
	if (p >= len || hdr[p] == '\n' || hdr[p] == ' ' || hdr[p] == '\t')
		return 0;
	size_t name = p;
	while (p < len && hdr[p] != ':' && hdr[p] > 32 && hdr[p] < 127)
		p++;
	size_t name_end = p;
	while (p < len && (hdr[p] == ' ' || hdr[p] == '\t'))
		p++; /* RFC 5322 4.5: obs-field allows blanks before the colon */
	if (p >= len || hdr[p] != ':' || name_end == name)
		return 0;
	f->name = hdr + name;
	f->name_len = name_end - name;
	f->value = hdr + p + 1;
	/* the field runs to the LF not followed by a blank (a fold) */
	for (;;) {
		const char *lf = memchr(hdr + p, '\n', len - p);
		if (lf == NULL) {
			p = len;
			break;
		}
		p = (size_t)(lf - hdr) + 1;
		if (p >= len || (hdr[p] != ' ' && hdr[p] != '\t'))
			break;
	}
	size_t end = p;
	if (end > 0 && hdr[end - 1] == '\n')
		end--;
	f->value_len = (size_t)(hdr + end - f->value);
	*pos = p;
	return 1;
}

bool header_is(const struct header_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	       strncasecmp(f->name, name, f->name_len) == 0;
}

unsigned header_count(const char *hdr, size_t len, const char *name)
{
	struct header_field f;
	size_t pos = 0;
	unsigned n = 0;
	while (header_next(hdr, len, &pos, &f) == 1)
		n += header_is(&f, name);
	return n;
}

size_t header_section(const char *msg, size_t len, size_t *body_r)
{
	size_t pos = 0;
	struct header_field f;
	while (header_next(msg, len, &pos, &f) == 1)
		;
	*body_r = pos < len && msg[pos] == '\n' ? pos + 1 : pos;
	return pos;
}

void header_skip_init(struct header_skip *hs, uint64_t header_len)
{
	hs->left = header_len;
	hs->blank = true;
}

size_t header_skip(struct header_skip *hs, const char *p, size_t n)
{
	size_t i = hs->left < n ? (size_t)hs->left : n;
	hs->left -= i;
	if (hs->left == 0 && hs->blank && i < n) {
		hs->blank = false;
		if (p[i] == '\n')
			i++;
	}
	return i;
}

int header_unfold(const struct header_field *f, struct buf *out)
{
	for (size_t i = 0; i < f->value_len; i++)
		if (f->value[i] != '\n' && buf_append_byte(out, f->value[i]) < 0)
			return -1;
	return 0;
}
