/* Tests for src/mailauth/tags.c and src/mailauth/canon.c: tag-lists (every
 * malformed case), the canonicalisation example of RFC 6376 3.4.6, the
 * body hash of the RFC 8463 Appendix A message (an independent vector),
 * and the body fed a byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/base64.h"
#include "mailauth/canon.h"
#include "mailauth/tags.h"

#include <openssl/evp.h>
#include <string.h>

static void tag_lists(void **state)
{
	struct dkim_tags t;
	const char *why;
	const char *sig = "v=1; a=rsa-sha256; d=example.net; s=brisbane;\r\n"
			  "\tc=simple; q=dns/txt; i=@eng.example.net;\r\n"
			  "\th=from:to:subject; bh=MTIzNDU2Nzg5MDEy\r\n"
			  "\t MzQ1Njc4OTAxMjM=;\r\n\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSb;";
	assert_int_equal(dkim_tags_parse(sig, strlen(sig), &t, &why), 0);
	assert_int_equal(t.n, 10);
	assert_true(dkim_tag_is(dkim_tags_get(&t, "a"), "rsa-sha256"));
	assert_true(dkim_tag_is(dkim_tags_get(&t, "h"), "from:to:subject"));
	/* folding inside a value is kept, around it dropped; '=' is a
	 * value character, so "v=1\n a=2" would be one tag */
	assert_true(dkim_tag_is(dkim_tags_get(&t, "bh"),
				"MTIzNDU2Nzg5MDEy\r\n\t MzQ1Njc4OTAxMjM="));
	assert_null(dkim_tags_get(&t, "l"));
	const char *key = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	assert_int_equal(dkim_tags_parse(key, strlen(key), &t, &why), 0);
	assert_true(dkim_tag_is(dkim_tags_get(&t, "k"), "ed25519"));
	const char *empty_value = "v=1; x=; y=a";
	assert_int_equal(dkim_tags_parse(empty_value, strlen(empty_value), &t, &why), 0);
	assert_int_equal(dkim_tags_get(&t, "x")->value_len, 0);

	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{"", "a tag name must start with a letter"},
		{"v=1;;", "a tag name must start with a letter"},
		{"1v=1", "a tag name must start with a letter"},
		{"v 1", "a tag without '='"},
		{"v=1; v=2", "a tag occurs twice"},
		{"v=1\x01", "a control byte or bad folding in a value"},
		{"v=a\nb", "a control byte or bad folding in a value"},     /* not folded */
		{"v=1;\r a=2", "bad folding"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (dkim_tags_parse(bad[i].text, strlen(bad[i].text), &t, &why) == 0)
			fail_msg("accepted: %s", bad[i].text);
		assert_string_equal(why, bad[i].why);
	}
	/* ../shared/testdata/dkim/badversion.txt: "v=DKIM1:" is a valid
	 * tag-list whose v is not DKIM1 (the key record check refuses it) */
	const char *badv = "v=DKIM1: k=rsa";
	assert_int_equal(dkim_tags_parse(badv, strlen(badv), &t, &why), 0);
	assert_false(dkim_tag_is(dkim_tags_get(&t, "v"), "DKIM1"));
	char many[4096];
	size_t len = 0;
	for (int i = 0; i <= DKIM_TAGS_MAX; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "t%d=x;", i);
	assert_int_equal(dkim_tags_parse(many, len, &t, &why), -1);
	assert_string_equal(why, "too many tags");
}

struct sink {
	char data[4096];
	size_t len;
};

static void to_sink(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;
	assert_true(s->len + n < sizeof(s->data));
	memcpy(s->data + s->len, p, n);
	s->len += n;
}

/* The body through the canonicaliser, in pieces of step bytes. */
static void body(enum canon c, const char *in, size_t step, struct sink *s)
{
	struct canon_body b;
	memset(s, 0, sizeof(*s));
	canon_body_init(&b, c, to_sink, s);
	size_t n = strlen(in);
	for (size_t i = 0; i < n; i += step)
		canon_body_update(&b, in + i, n - i < step ? n - i : step);
	canon_body_final(&b);
	s->data[s->len] = '\0';
}

static void check_body(enum canon c, const char *in, const char *want)
{
	struct sink s;
	for (size_t step = 1; step <= strlen(in) + 1; step++) {
		body(c, in, step, &s);
		if (strcmp(s.data, want) != 0)
			fail_msg("step %zu: %s -> \"%s\"", step, in, s.data);
	}
}

/* RFC 6376 3.4.6 */
static void rfc6376_example(void **state)
{
	struct buf b;
	buf_init(&b, 0);
	const char *h1 = "A: X\r\n", *h2 = "B : Y\t\r\n\tZ  \r\n";
	assert_int_equal(canon_header(CANON_RELAXED, h1, strlen(h1), &b), 0);
	assert_int_equal(canon_header(CANON_RELAXED, h2, strlen(h2), &b), 0);
	assert_string_equal(buf_cstr(&b), "a:X\r\nb:Y Z\r\n");
	buf_clear(&b);
	const char *h3 = "B : Y\t\n\tZ  \n";
	assert_int_equal(canon_header(CANON_SIMPLE, h3, strlen(h3), &b), 0);
	assert_string_equal(buf_cstr(&b), "B : Y\t\r\n\tZ  \r\n");
	buf_clear(&b);
	assert_int_equal(canon_header(CANON_SIMPLE, "Subject: x", 10, &b), 0);
	assert_string_equal(buf_cstr(&b), "Subject: x\r\n");
	buf_free(&b);
	const char *in = " C \r\nD \t E\r\n\r\n\r\n";
	check_body(CANON_RELAXED, in, " C\r\nD E\r\n");
	check_body(CANON_SIMPLE, in, " C \r\nD \t E\r\n");
	/* bare LF line ends give the same */
	check_body(CANON_RELAXED, " C \nD \t E\n\n\n", " C\r\nD E\r\n");
}

static void body_edges(void **state)
{
	check_body(CANON_SIMPLE, "", "\r\n");      /* 3.4.3: empty is CRLF */
	check_body(CANON_RELAXED, "", "");         /* 3.4.4: empty is empty */
	check_body(CANON_SIMPLE, "\r\n\r\n", "\r\n");
	check_body(CANON_RELAXED, " \t \r\n\r\n", "");
	check_body(CANON_SIMPLE, "a", "a\r\n");    /* a final CRLF is added */
	check_body(CANON_RELAXED, "a  ", "a\r\n");
	check_body(CANON_SIMPLE, "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n");
	check_body(CANON_RELAXED, "a\r\n \r\nb", "a\r\n\r\nb\r\n");
	check_body(CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n"); /* a lone CR stays */
	check_body(CANON_SIMPLE, "a\r", "a\r\r\n");
}

/* RFC 8463 Appendix A: both signatures of the example say
 * bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ= (simple body). */
static void sha256_sink(void *arg, const char *p, size_t n)
{
	EVP_DigestUpdate(arg, p, n);
}

static void rfc8463_body_hash(void **state)
{
	const char *msg_body = "Hi.\n\nWe lost the game.  Are you hungry yet?\n\nJoe.\n";
	for (size_t step = 1; step < 8; step++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
		struct canon_body b;
		canon_body_init(&b, CANON_SIMPLE, sha256_sink, md);
		size_t n = strlen(msg_body);
		for (size_t i = 0; i < n; i += step)
			canon_body_update(&b, msg_body + i, n - i < step ? n - i : step);
		canon_body_final(&b);
		unsigned char h[32];
		unsigned hl = 0;
		assert_int_equal(EVP_DigestFinal_ex(md, h, &hl), 1);
		EVP_MD_CTX_free(md);
		struct buf b64;
		buf_init(&b64, 0);
		assert_int_equal(base64_encode(h, hl, &b64), 0);
		assert_string_equal(buf_cstr(&b64),
				    "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
		buf_free(&b64);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tag_lists),
		cmocka_unit_test(rfc6376_example),
		cmocka_unit_test(body_edges),
		cmocka_unit_test(rfc8463_body_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
