/* canon: DKIM canonicalisation (RFC 6376 3.4). */
#include "mailauth/canon.h"

#include <string.h>
#include <strings.h>

static const char crlf[] = "\r\n";

int canon_parse(const char *s, size_t len, enum canon *c)
{
	if (len == 6 && strncmp(s, "simple", 6) == 0)
		*c = CANON_SIMPLE;
	else if (len == 7 && strncmp(s, "relaxed", 7) == 0)
		*c = CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* RFC 6376 3.4.1: simple keeps the field as it is (with CRLF ends). */
static int header_simple(const char *f, size_t len, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0; i++) {
		if (f[i] == '\n' && (i == 0 || f[i - 1] != '\r'))
			rc = buf_append(out, crlf, 2);
		else
			rc = buf_append_byte(out, f[i]);
	}
	if (rc == 0 && (out->len < 2 || memcmp(out->data + out->len - 2, crlf, 2)))
		rc = buf_append(out, crlf, 2);
	return rc;
}

/* RFC 6376 3.4.2: name lower-cased; unfolded; WSP runs become one SP;
 * no WSP at the end of the value or around the colon. */
static int header_relaxed(const char *f, size_t len, struct buf *out)
{
	const char *colon = memchr(f, ':', len);
	size_t name_len = colon != NULL ? (size_t)(colon - f) : len;
	while (name_len > 0 && (f[name_len - 1] == ' ' || f[name_len - 1] == '\t'))
		name_len--;
	int rc = 0;
	for (size_t i = 0; i < name_len && rc == 0; i++) {
		char c = f[i];
		rc = buf_append_byte(out, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
	}
	if (rc == 0)
		rc = buf_append_byte(out, ':');
	bool wsp = false, started = false;
	for (size_t i = colon != NULL ? (size_t)(colon - f) + 1 : len;
	     i < len && rc == 0; i++) {
		char c = f[i];
		if (c == '\r' || c == '\n')
			continue; /* unfold */
		if (c == ' ' || c == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && started)
			rc = buf_append_byte(out, ' ');
		wsp = false;
		started = true;
		if (rc == 0)
			rc = buf_append_byte(out, c);
	}
	return rc == 0 ? buf_append(out, crlf, 2) : rc;
}

int canon_header(enum canon c, const char *field, size_t len, struct buf *out)
{
	return c == CANON_SIMPLE ? header_simple(field, len, out)
				 : header_relaxed(field, len, out);
}

/* ------------------------------------------------------------ body */

void canon_body_init(struct canon_body *b, enum canon c, canon_emit_fn *emit,
		     void *arg)
{
	memset(b, 0, sizeof(*b));
	b->c = c;
	b->emit = emit;
	b->arg = arg;
}

static void flush(struct canon_body *b)
{
	if (b->n_pending > 0)
		b->emit(b->arg, b->pending, b->n_pending);
	b->emitted += b->n_pending;
	b->n_pending = 0;
}

static void out(struct canon_body *b, const char *p, size_t n)
{
	if (b->n_pending + n > sizeof(b->pending))
		flush(b);
	if (n >= sizeof(b->pending)) {
		b->emit(b->arg, p, n);
		b->emitted += n;
		return;
	}
	memcpy(b->pending + b->n_pending, p, n);
	b->n_pending += n;
}

/* Content on this line: the line ends held back were not trailing. */
static void content(struct canon_body *b, const char *p, size_t n)
{
	for (; b->held_crlf > 0; b->held_crlf--)
		out(b, crlf, 2);
	if (b->wsp && b->c == CANON_RELAXED)
		out(b, " ", 1);
	b->wsp = false;
	out(b, p, n);
	b->line_content = b->any = true;
}

static void line_end(struct canon_body *b)
{
	b->held_crlf++;
	b->wsp = false; /* relaxed: no WSP at the end of a line */
	b->line_content = false;
}

void canon_body_update(struct canon_body *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (b->cr && c != '\n')
			content(b, "\r", 1); /* a lone CR is content */
		b->cr = false;
		if (c == '\r') {
			b->cr = true;
		} else if (c == '\n') {
			line_end(b);
		} else if (b->c == CANON_RELAXED && (c == ' ' || c == '\t')) {
			b->wsp = true;
		} else {
			/* a run of plain bytes goes out in one piece */
			size_t k = i + 1;
			while (k < n && p[k] != '\r' && p[k] != '\n' &&
			       (b->c == CANON_SIMPLE || (p[k] != ' ' && p[k] != '\t')))
				k++;
			content(b, p + i, k - i);
			i = k - 1;
		}
	}
}

void canon_body_final(struct canon_body *b)
{
	if (b->cr)
		content(b, "\r", 1);
	b->cr = false;
	/* simple: an empty body is one CRLF (3.4.3); otherwise both end the
	 * last line with CRLF, dropping empty lines at the end (3.4.4) */
	if (b->any || b->c == CANON_SIMPLE)
		out(b, crlf, 2);
	b->held_crlf = 0;
	flush(b);
}
