/* libFuzzer target: DKIM tag-lists, key records and canonicalisation
 * (src/mailauth/),
 * as a hostile signer or sender may shape them. The tag parser keeps its
 * values inside the input; the body canonicaliser gives the same bytes
 * whether fed at once or a byte at a time, ends lines only with CRLF, and
 * in relaxed mode leaves no whitespace run and none before a line end. */
#include "mailauth/canon.h"
#include "mailauth/dkim.h"
#include "mailauth/key.h"
#include "mailauth/sig.h"
#include "mailauth/tags.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sink {
	struct buf b;
};

static void to_buf(void *arg, const char *p, size_t n)
{
	buf_append(&((struct sink *)arg)->b, p, n);
}

static void run(enum canon c, const char *p, size_t n, size_t step,
		struct sink *s)
{
	struct canon_body cb;
	buf_init(&s->b, 0);
	canon_body_init(&cb, c, to_buf, s);
	for (size_t i = 0; i < n; i += step)
		canon_body_update(&cb, p + i, n - i < step ? n - i : step);
	canon_body_final(&cb);
	if (cb.emitted != s->b.len)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct dkim_tags t;
	const char *why;
	if (dkim_tags_parse(p, size, &t, &why) == 0)
		for (size_t i = 0; i < t.n; i++)
			if (t.tag[i].name < p || t.tag[i].value < p ||
			    t.tag[i].value + t.tag[i].value_len > p + size ||
			    t.tag[i].name_len == 0)
				__builtin_trap();
	struct buf h;
	buf_init(&h, 0);
	canon_header(CANON_RELAXED, p, size, &h);
	canon_header(CANON_SIMPLE, p, size, &h);
	/* the input as a header section, and as a signature field */
	static const char sig[] = "DKIM-Signature: v=1; h=from:to:from; b=x";
	buf_clear(&h);
	dkim_header_data(p, size, "from:to:from:subject", 20, CANON_RELAXED, sig,
			 sizeof(sig) - 1, &h, &why);
	buf_clear(&h);
	dkim_header_data("From: a\n", 8, "from", 4, CANON_SIMPLE, p, size, &h,
			 &why);
	buf_free(&h);
	struct dkim_key k;
	if (dkim_key_parse(p, size, &k, &why) == 0 &&
	    (k.revoked != (k.pkey == NULL)))
		__builtin_trap();
	dkim_key_free(&k);
	static struct dkim_sig parsed;
	if (dkim_sig_parse(p, size, &parsed, &why) == 0 &&
	    (parsed.b_len == 0 || parsed.b_len > DKIM_SIG_B_MAX ||
	     parsed.d[0] == '\0' || parsed.h < p || parsed.h + parsed.h_len > p + size))
		__builtin_trap();
	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		struct sink whole, bytes;
		run((enum canon)c, p, size, size > 0 ? size : 1, &whole);
		run((enum canon)c, p, size, 1, &bytes);
		if (whole.b.len != bytes.b.len ||
		    (whole.b.len > 0 && memcmp(whole.b.data, bytes.b.data, whole.b.len)))
			__builtin_trap();
		const char *o = whole.b.data;
		for (size_t i = 0; i < whole.b.len; i++) {
			if (o[i] == '\n' && (i == 0 || o[i - 1] != '\r'))
				__builtin_trap();
			if (c == CANON_RELAXED && (o[i] == ' ' || o[i] == '\t') &&
			    i + 1 < whole.b.len &&
			    (o[i + 1] == ' ' || o[i + 1] == '\t' ||
			     (o[i + 1] == '\r' && i + 2 < whole.b.len &&
			      o[i + 2] == '\n')))
				__builtin_trap();
		}
		buf_free(&whole.b);
		buf_free(&bytes.b);
	}
	return 0;
}
