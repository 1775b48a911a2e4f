/* canon: DKIM canonicalisation (RFC 6376 3.4). */
#include "mailauth/canon.h"

#include <stdint.h>
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

/* Bytes that end a run of plain content: line ends always, and for
 * relaxed the blanks that it reduces. */
static const unsigned char stops_relaxed[256] = {
	['\r'] = 1, ['\n'] = 1, [' '] = 1, ['\t'] = 1};

/* Where the run of content starting at p[i] (not a stop) ends. Relaxed
 * keeps a single space between two plain bytes as it is, so it stays in
 * the run: a line of text is then one run, not one per word (one call
 * per word cost more than the hashing). */
static size_t run_end(const struct canon_body *b, const char *p, size_t i,
		      size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t k = i + 1;
	if (b->c == CANON_SIMPLE) {
		const char *lf = memchr(p + k, '\n', n - k);
		const char *cr = memchr(p + k, '\r', (lf ? (size_t)(lf - p) : n) - k);
		return cr ? (size_t)(cr - p) : lf ? (size_t)(lf - p) : n;
	}
	for (;;) {
		while (k < n && !stops_relaxed[u[k]])
			k++;
		if (k + 1 < n && u[k] == ' ' && !stops_relaxed[u[k + 1]])
			k += 2;
		else
			return k;
	}
}

/* The high bit of each byte of w that equals c (exact: no false
 * positives, unlike the usual "has a zero byte" test). */
static uint64_t bytes_equal(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (UINT64_C(0x0101010101010101) * c);
	uint64_t low = UINT64_C(0x7f7f7f7f7f7f7f7f);
	return ~(((x & low) + low) | x) & ~low;
}

/* Whether relaxed would change p[0..len): a tab, a CR, or two blanks
 * together. Eight bytes at a time (little-endian: byte i is bits 8i..),
 * as this runs over every line of every message signed or verified. */
static bool needs_relaxing(const char *p, size_t len)
{
	uint64_t carry = 0; /* the last word ended with a space */
	size_t i = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		uint64_t sp = bytes_equal(w, ' ');
		if (bytes_equal(w, '\t') | bytes_equal(w, '\r') |
		    (sp & ((sp >> 8) | carry)))
			return true;
		carry = sp >> 56;
	}
#endif
	for (bool space = carry != 0; i < len; i++) {
		if (p[i] == '\t' || p[i] == '\r' || (space && p[i] == ' '))
			return true;
		space = p[i] == ' ';
	}
	return false;
}

/* Relaxed, at the start of a line with nothing pending: the length of
 * the whole line (its LF included) when it is already canonical text (no
 * tab, no CR but a final one, no two blanks together, no blank at its
 * end), so that it goes out in one piece after a few memchr calls; else
 * 0, and the byte loop takes it. Most lines of most mail are such. */
static size_t clean_line(const struct canon_body *b, const char *p, size_t n)
{
	if (b->c != CANON_RELAXED || b->cr || b->wsp || b->line_content)
		return 0;
	const char *lf = memchr(p, '\n', n);
	if (lf == NULL)
		return 0;
	size_t len = (size_t)(lf - p);
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len == 0 || p[len - 1] == ' ' || needs_relaxing(p, len))
		return 0;
	return (size_t)(lf - p) + 1;
}

void canon_body_update(struct canon_body *b, const char *p, size_t n)
{
	size_t line;
	for (size_t i = 0; i < n; i++) {
		if ((line = clean_line(b, p + i, n - i)) > 0) {
			size_t len = line - 1 - (line > 1 && p[i + line - 2] == '\r');
			content(b, p + i, len);
			line_end(b);
			i += line - 1;
			continue;
		}
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
			size_t k = run_end(b, p, i, n);
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
