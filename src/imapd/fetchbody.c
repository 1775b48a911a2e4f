/* fetchbody: BODY[section] and BINARY[section] bytes (see fetchbody.h). */
#include "imapd/fetchbody.h"

#include "imapd/crlf.h"
#include "mail/header.h"

#include <string.h>
#include <strings.h>

/* What a section resolves to: a byte range, or a header to filter. */
struct target {
	size_t a, b;                  /* the range in the message */
	const struct mime_part *part; /* whose encoding BINARY decodes */
	bool filter;                  /* HEADER.FIELDS [.NOT] of [a, b) */
};

static bool str_is(struct mime_str s, const char *lit)
{
	return s.p != NULL && s.len == strlen(lit) &&
	       memcmp(s.p, lit, s.len) == 0;
}

static enum fetchbody_result resolve(size_t len, const struct mime_msg *m,
                                     const struct fetch_section *sec,
                                     struct target *t)
{
	unsigned nums[FETCH_PARTS_MAX];
	for (size_t i = 0; i < sec->n_parts; i++)
		nums[i] = sec->parts[i];
	const struct mime_part *p = mime_section_nums(m, nums, sec->n_parts);
	if (p == NULL)
		return FETCHBODY_NO_PART;
	*t = (struct target){p->body_off, p->body_off + p->body_len, p, false};
	if (sec->text == FETCH_TEXT_NONE && sec->n_parts == 0)
		*t = (struct target){0, len, NULL, false};
	if (sec->text == FETCH_TEXT_MIME)
		*t = (struct target){p->header_off, p->body_off, NULL, false};
	if (sec->text == FETCH_TEXT_NONE || sec->text == FETCH_TEXT_MIME)
		return FETCHBODY_OK;
	/* RFC 9051 6.4.5: after part numbers, HEADER and TEXT are those of
	 * a message/rfc822 part's message */
	if (sec->n_parts > 0) {
		if (p->kind != MIME_MESSAGE)
			return FETCHBODY_NO_PART;
		p = p->child;
	}
	if (sec->text == FETCH_TEXT_TEXT)
		*t = (struct target){p->body_off, p->body_off + p->body_len,
		                     NULL, false};
	else
		*t = (struct target){p->header_off, p->body_off, NULL,
		                     sec->text != FETCH_TEXT_HEADER};
	return FETCHBODY_OK;
}

/* ------------------------------------------------------------ fields */

static bool listed(const struct fetch_section *sec,
                   const struct header_field *f)
{
	for (size_t i = 0; i < sec->n_fields; i++)
		if (sec->fields[i].len == f->name_len &&
		    strncasecmp(sec->fields[i].p, f->name, f->name_len) == 0)
			return true;
	return false;
}

/* HEADER.FIELDS [.NOT]: the chosen fields of the header msg[a..b), whole
 * (name, folds, line end), then the blank line. */
static int filter_fields(struct crlf_sink *k, const char *msg, size_t a,
                         size_t b, const struct fetch_section *sec)
{
	bool want = sec->text == FETCH_TEXT_HEADER_FIELDS;
	const char *h = msg + a;
	size_t pos = 0;
	struct header_field f;
	for (;;) {
		size_t start = pos;
		if (header_next(h, b - a, &pos, &f) != 1)
			break;
		if (listed(sec, &f) != want)
			continue;
		if (crlf_put_range(k, msg, a + start, a + pos) < 0)
			return -1;
		/* the last field of a message without a body may lack its
		 * line end */
		if (h[pos - 1] != '\n' && crlf_put(k, "\r\n", 2) < 0)
			return -1;
	}
	return crlf_put(k, "\r\n", 2);
}

/* ------------------------------------------------------------ decoding */

/* Output batched through a small buffer, so decoders write byte by byte
 * cheaply. */
struct out8 {
	struct crlf_sink *k;
	char buf[4096];
	size_t n;
};

static int flush8(struct out8 *o)
{
	int rc = crlf_put(o->k, o->buf, o->n);
	o->n = 0;
	return rc;
}

static int put8(struct out8 *o, char c)
{
	if (o->n == sizeof(o->buf) && flush8(o) < 0)
		return -1;
	o->buf[o->n++] = c;
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* RFC 2045 6.8: characters outside the alphabet are ignored; "=" ends the
 * data. */
static int decode_base64(struct out8 *o, const char *s, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int v = b64_value((unsigned char)s[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (put8(o, (char)((acc >> bits) & 0xff)) < 0)
				return -1;
		}
	}
	return 0;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* One line of quoted-printable, s[0..n) without its line end: trailing
 * blanks dropped (RFC 2045 6.7 rule 3); returns whether it ended in a
 * soft line break ("="). */
static int qp_line(struct out8 *o, const char *s, size_t n, bool *soft)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*soft = n > 0 && s[n - 1] == '=';
	if (*soft)
		n--;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=' && i + 2 < n && hex(s[i + 1]) >= 0 &&
		    hex(s[i + 2]) >= 0) {
			c = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		}
		if (put8(o, c) < 0)
			return -1;
	}
	return 0;
}

/* RFC 2045 6.7: a line break in the encoding is a CRLF of the content. */
static int decode_qp(struct out8 *o, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		const char *lf = memchr(s + i, '\n', n - i);
		size_t end = lf != NULL ? (size_t)(lf - s) : n;
		size_t line = end > i && s[end - 1] == '\r' ? end - 1 : end;
		bool soft;
		if (qp_line(o, s + i, line - i, &soft) < 0)
			return -1;
		if (lf != NULL && !soft &&
		    (put8(o, '\r') < 0 || put8(o, '\n') < 0))
			return -1;
		i = end + 1;
	}
	return 0;
}

/* BINARY: the part's content, decoded. */
static enum fetchbody_result binary(struct crlf_sink *k, const char *msg,
                                    const struct target *t)
{
	struct mime_str enc = t->part != NULL ? t->part->encoding
	                                      : (struct mime_str){"7bit", 4};
	if (str_is(enc, "7bit") || str_is(enc, "8bit") || str_is(enc, "binary"))
		return crlf_put_range(k, msg, t->a, t->b) < 0 ? FETCHBODY_ERROR
		                                              : FETCHBODY_OK;
	bool b64 = str_is(enc, "base64");
	if (!b64 && !str_is(enc, "quoted-printable"))
		return FETCHBODY_UNKNOWN_CTE;
	struct out8 o = {.k = k};
	int rc = b64 ? decode_base64(&o, msg + t->a, t->b - t->a)
	             : decode_qp(&o, msg + t->a, t->b - t->a);
	if (rc < 0 || flush8(&o) < 0)
		return FETCHBODY_ERROR;
	return FETCHBODY_OK;
}

/* ------------------------------------------------------------ entry */

static enum fetchbody_result produce(const char *msg, size_t len,
                                     const struct mime_msg *m,
                                     const struct fetch_att *att,
                                     struct crlf_sink *k)
{
	struct target t;
	enum fetchbody_result r = resolve(len, m, &att->section, &t);
	if (r != FETCHBODY_OK)
		return r;
	if (att->kind == FETCH_BINARY || att->kind == FETCH_BINARY_SIZE)
		return binary(k, msg, &t);
	int rc = t.filter ? filter_fields(k, msg, t.a, t.b, &att->section)
	                  : crlf_put_range(k, msg, t.a, t.b);
	return rc < 0 ? FETCHBODY_ERROR : FETCHBODY_OK;
}

enum fetchbody_result fetchbody_get(const char *msg, size_t len,
                                    const struct mime_msg *m,
                                    const struct fetch_att *att,
                                    struct buf *out)
{
	struct crlf_sink k;
	if (att->partial)
		crlf_sink_window(&k, out, att->origin, att->count);
	else
		crlf_sink_init(&k, out);
	return produce(msg, len, m, att, &k);
}

enum fetchbody_result fetchbody_binary_size(const char *msg, size_t len,
                                            const struct mime_msg *m,
                                            const struct fetch_att *att,
                                            uint64_t *size)
{
	struct crlf_sink k;
	crlf_sink_init(&k, NULL);
	enum fetchbody_result r = produce(msg, len, m, att, &k);
	*size = k.pos;
	return r;
}
