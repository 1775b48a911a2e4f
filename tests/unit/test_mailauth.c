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
#include "mail/header.h"
#include "mailauth/canon.h"
#include "mailauth/dkim.h"
#include "mailauth/key.h"
#include "mailauth/sig.h"
#include "mailauth/tags.h"
#include "rfc8463.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
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

/* Relaxed lines are checked eight bytes at a time: a tab, a CR, two
 * blanks together or a blank at the end, at every offset (across the
 * word boundaries too), are reduced as one byte at a time would. */
static void body_fast_path_offsets(void **state)
{
	for (size_t k = 0; k < 20; k++) {
		char in[64], want[64];
		memset(in, 'x', k);
		memset(want, 'x', k);
		snprintf(in + k, sizeof(in) - k, "  y\n");
		snprintf(want + k, sizeof(want) - k, " y\r\n");
		check_body(CANON_RELAXED, in, want);
		snprintf(in + k, sizeof(in) - k, "\ty z \n");
		snprintf(want + k, sizeof(want) - k, " y z\r\n");
		check_body(CANON_RELAXED, in, want);
		snprintf(in + k, sizeof(in) - k, "\ry\r\n");
		snprintf(want + k, sizeof(want) - k, "\ry\r\n");
		check_body(CANON_RELAXED, in, want);
		snprintf(in + k, sizeof(in) - k, "y z\n");
		snprintf(want + k, sizeof(want) - k, "y z\r\n");
		check_body(CANON_RELAXED, in, want);
	}
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

/* RFC 8463 Appendix A.3: the signed example, as the queue keeps it (LF). */
static const char signed_header[] =
	RFC8463_ED25519_SIGNATURE RFC8463_RSA_SIGNATURE RFC8463_FIELDS;

/* RFC 8463 A.2 (brisbane) and the "test" selector's RSA key (A.2 too) */
static const char ed25519_p[] = RFC8463_ED25519_P;
static const char rsa_p[] = RFC8463_RSA_P;

/* Verify signature number which of signed_header through the library
 * (dkim_sig_parse, dkim_key_parse, dkim_sig_verify_header); the body hash
 * is checked by rfc8463_body_hash. tamper changes one byte of Subject. */
static int library_verify(int which, bool tamper, const char *key_record)
{
	char hdr[sizeof(signed_header)];
	memcpy(hdr, signed_header, sizeof(hdr));
	if (tamper)
		hdr[strstr(hdr, "dinner") - hdr] = 'D';
	size_t pos = 0, len = strlen(hdr);
	struct header_field f;
	for (int i = 0; i <= which; i++)
		assert_int_equal(header_next(hdr, len, &pos, &f), 1);
	struct dkim_sig sig;
	struct dkim_key key;
	const char *why;
	if (dkim_sig_parse(f.value, f.value_len, &sig, &why) != 0)
		fail_msg("%s", why);
	assert_string_equal(sig.d, "football.example.com");
	assert_int_equal(sig.header_c, CANON_SIMPLE);
	assert_int_equal(sig.body_c, CANON_SIMPLE);
	assert_false(sig.has_l);
	assert_int_equal(dkim_key_parse(key_record, strlen(key_record), &key, &why), 0);
	int rc = dkim_sig_verify_header(&sig, &key, hdr, len, f.name,
					(size_t)(f.value + f.value_len - f.name), &why);
	dkim_key_free(&key);
	return rc;
}

static void signature_fields(void **state)
{
	char ed[128], rsa[512];
	snprintf(ed, sizeof(ed), "v=DKIM1; k=ed25519; p=%s", ed25519_p);
	snprintf(rsa, sizeof(rsa), "v=DKIM1; k=rsa; p=%s", rsa_p);
	assert_int_equal(library_verify(0, false, ed), 1);
	assert_int_equal(library_verify(1, false, rsa), 1);
	assert_int_equal(library_verify(0, true, ed), 0);
	assert_int_equal(library_verify(1, true, rsa), 0);
	assert_int_equal(library_verify(0, false, rsa), -1); /* wrong key type */

#define BH "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ="
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{"v=2; a=rsa-sha256; d=x; s=y; h=from; bh=" BH "; b=AAAA", "v= is not 1"},
		{"v=1; a=rsa-sha1; d=x; s=y; h=from; bh=" BH "; b=AAAA",
		 "unknown or weak algorithm (a=; rsa-sha1 is refused)"},
		{"v=1; a=rsa-sha256; s=y; h=from; bh=" BH "; b=AAAA",
		 "d= or s= missing or too long"},
		{"v=1; a=rsa-sha256; d=x; s=y; h=to:subject; bh=" BH "; b=AAAA",
		 "h= does not sign From"},
		{"v=1; a=rsa-sha256; d=x; s=y; h=fromx; bh=" BH "; b=AAAA",
		 "h= does not sign From"},
		{"v=1; a=rsa-sha256; c=loose; d=x; s=y; h=from; bh=" BH "; b=AAAA",
		 "c= is not simple or relaxed"},
		{"v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AAAA; b=AAAA",
		 "bh= is not a SHA-256 hash in base64"},
		{"v=1; a=rsa-sha256; d=x; s=y; h=from; bh=" BH "; b=",
		 "b= is missing or not base64"},
		{"v=1; a=rsa-sha256; d=x; s=y; h=from; bh=" BH "; b=AAAA; t=10; x=5",
		 "t= or x= is not a time, or x= is not after t="},
		{"v=1; a=rsa-sha256; d=x; s=y; h=from; bh=" BH "; b=AAAA; l=-1",
		 "l= is not a number"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dkim_sig sig;
		const char *why = NULL;
		if (dkim_sig_parse(bad[i].text, strlen(bad[i].text), &sig, &why) == 0)
			fail_msg("accepted: %s", bad[i].text);
		assert_string_equal(why, bad[i].why);
	}
#undef BH
	const char *relaxed = "v=1; a=ed25519-sha256; c=relaxed; d=Example.ORG; "
			      "s=s1; h=From : To; bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=;"
			      " b=AAAA; l=10; t=5; x=9";
	struct dkim_sig sig;
	const char *why;
	assert_int_equal(dkim_sig_parse(relaxed, strlen(relaxed), &sig, &why), 0);
	assert_int_equal(sig.header_c, CANON_RELAXED);
	assert_int_equal(sig.body_c, CANON_SIMPLE); /* c=relaxed is relaxed/simple */
	assert_string_equal(sig.d, "example.org");
	assert_true(sig.has_l && sig.l == 10 && sig.t == 5 && sig.x == 9);
}

static void header_data_errors(void **state)
{
	struct buf out;
	buf_init(&out, 0);
	const char *why;
	const char *hdr = "From: a@example.org\nSubject: x\n";
	const char *sig = "DKIM-Signature: v=1; h=from; b=abc";
	/* an empty h= signs the signature field alone (ARC allows it) */
	assert_int_equal(dkim_header_data(hdr, strlen(hdr), "", 0, CANON_RELAXED,
					  sig, strlen(sig), &out, &why), 0);
	assert_string_equal(out.data, "dkim-signature:v=1; h=from; b=");
	buf_clear(&out);
	const char *nob = "DKIM-Signature: v=1; h=from";
	assert_int_equal(dkim_header_data(hdr, strlen(hdr), "from", 4,
					  CANON_RELAXED, nob, strlen(nob), &out,
					  &why), -1);
	assert_string_equal(why, "no b= tag");
	/* relaxed, oversigned subject, b= with blanks around it left out */
	buf_clear(&out);
	const char *sig2 = "DKIM-Signature: v=1; h=From:subject:subject; b= x y ;";
	assert_int_equal(dkim_header_data(hdr, strlen(hdr), "From:subject:subject",
					  20, CANON_RELAXED, sig2, strlen(sig2),
					  &out, &why), 0);
	assert_string_equal(buf_cstr(&out),
			    "from:a@example.org\r\nsubject:x\r\n"
			    "dkim-signature:v=1; h=From:subject:subject; b=;");
	buf_free(&out);
}

/* ../shared/testdata/dkim key records, and the RFC 8463 A.2 one */
static void key_records(void **state)
{
	char ok_rsa[512], ed[128], badk[512], badv[512], bad[512];
	snprintf(ok_rsa, sizeof(ok_rsa), "v=DKIM1; g=*; k=rsa; p=%s", rsa_p);
	snprintf(ed, sizeof(ed), "v=DKIM1; k=ed25519; p=%s", ed25519_p);
	snprintf(badk, sizeof(badk), "v=DKIM1; g=*; k=ed25519-sha256; p=%s", rsa_p);
	snprintf(badv, sizeof(badv), "v=DKIM1: g=*; k=rsa; p=%s", rsa_p);
	/* test_bad.txt: the key's last bytes corrupted */
	snprintf(bad, sizeof(bad), "v=DKIM1; g=*; k=rsa; p=%.*sAQA=",
		 (int)strlen(rsa_p) - 4, rsa_p);
	struct dkim_key k;
	const char *why;
	assert_int_equal(dkim_key_parse(ok_rsa, strlen(ok_rsa), &k, &why), 0);
	assert_int_equal(k.type, DKIM_KEY_RSA);
	assert_int_equal(EVP_PKEY_bits(k.pkey), 1024);
	dkim_key_free(&k);
	assert_int_equal(dkim_key_parse(ed, strlen(ed), &k, &why), 0);
	assert_int_equal(k.type, DKIM_KEY_ED25519);
	assert_false(k.revoked);
	dkim_key_free(&k);
	static const char *revoked = "v=DKIM1; k=rsa; p=", *flags = "k=ed25519; t=y:s; "
		"s=email; h=sha256; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	assert_int_equal(dkim_key_parse(revoked, strlen(revoked), &k, &why), 0);
	assert_true(k.revoked);
	assert_null(k.pkey);
	assert_int_equal(dkim_key_parse(flags, strlen(flags), &k, &why), 0);
	assert_true(k.testing && k.strict);
	dkim_key_free(&k);

	static const struct {
		const char *text;
		const char *why;
	} fails[] = {
		{NULL, "unknown key type (k=)"},          /* badk.txt */
		{NULL, "v= is not DKIM1, or not first"},  /* badversion.txt */
		{NULL, "p= is not a valid public key"},   /* test_bad.txt */
		{"k=rsa; v=DKIM1; p=", "v= is not DKIM1, or not first"},
		{"v=DKIM1; k=rsa", "no p= tag"},
		{"v=DKIM1; p=!!!!", "p= is not base64"},
		{"v=DKIM1; k=ed25519; p=AAAA", "an ed25519 key is not 32 bytes"},
		{"v=DKIM1; h=sha1; p=", "the key does not allow sha256 (h=)"},
		{"v=DKIM1; s=tlsrpt; p=", "the key is not for email (s=)"},
	};
	const char *texts[] = {badk, badv, bad};
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		const char *text = fails[i].text != NULL ? fails[i].text : texts[i];
		why = NULL;
		if (dkim_key_parse(text, strlen(text), &k, &why) == 0)
			fail_msg("accepted: %s", text);
		assert_string_equal(why, fails[i].why);
		assert_null(k.pkey);
	}
	/* RFC 8301 3.2: an RSA key under 1024 bits never verifies */
	EVP_PKEY *small = EVP_RSA_gen(512);
	assert_non_null(small);
	unsigned char *der = NULL;
	int dl = i2d_PUBKEY(small, &der);
	struct buf rec;
	buf_init(&rec, 0);
	buf_append_str(&rec, "v=DKIM1; k=rsa; p=");
	assert_int_equal(base64_encode(der, (size_t)dl, &rec), 0);
	assert_int_equal(dkim_key_parse(rec.data, rec.len, &k, &why), -1);
	assert_string_equal(why, "the RSA key is shorter than 1024 bits");
	OPENSSL_free(der);
	EVP_PKEY_free(small);
	buf_free(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tag_lists),
		cmocka_unit_test(rfc6376_example),
		cmocka_unit_test(body_edges),
		cmocka_unit_test(body_fast_path_offsets),
		cmocka_unit_test(rfc8463_body_hash),
		cmocka_unit_test(header_data_errors),
		cmocka_unit_test(key_records),
		cmocka_unit_test(signature_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
