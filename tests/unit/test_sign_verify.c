/* Unit tests for src/mailauth/verify.c and src/mailauth/sign.c: the RFC
 * 8463 signed example through the whole verifier, our signatures through
 * it (RSA and Ed25519, fed byte at a time), and every way a signature
 * stops short of pass: tampering, key lookups that fail, revoked and
 * mismatched keys, expiry, appended content, too many signatures. Interop with other
 * implementations (dkimpy, OpenDKIM) is in tests/integration/test_dkim.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/base64.h"
#include "mailauth/sign.h"
#include "mailauth/verify.h"
#include "rfc8463.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8463 Appendix A.3, as the queue keeps it (LF line ends) */
static const char rfc8463_msg[] = RFC8463_ED25519_SIGNATURE
	RFC8463_RSA_SIGNATURE RFC8463_FIELDS "\n" RFC8463_BODY;

static const char brisbane[] = "v=DKIM1; k=ed25519; p=" RFC8463_ED25519_P;
static const char test_rsa[] = "v=DKIM1; k=rsa; p=" RFC8463_RSA_P;

/* A DNS stand-in for the tests: selector name -> record */
struct zone {
	const char *name, *txt;
	enum dkim_lookup what;
};

/* Run the verifier over msg (header, empty line, body), feeding the body
 * step bytes at a time; keys from z. */
static struct dkim_verify *verify(const char *msg, const struct zone *z,
				  size_t nz, size_t step, int64_t now)
{
	const char *sep = strstr(msg, "\n\n");
	assert_non_null(sep);
	size_t hdr_len = (size_t)(sep - msg) + 1;
	struct dkim_verify *v = dkim_verify_new(msg, hdr_len, now);
	assert_non_null(v);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *name = dkim_verify_key_name(v, i);
		if (name == NULL)
			continue;
		for (size_t k = 0; k < nz; k++)
			if (strcmp(z[k].name, name) == 0)
				dkim_verify_key(v, i, z[k].what, &z[k].txt,
						z[k].txt != NULL);
	}
	const char *body = sep + 2;
	size_t n = strlen(body);
	for (size_t i = 0; i < n; i += step)
		dkim_verify_body(v, body + i, n - i < step ? n - i : step);
	dkim_verify_finish(v);
	return v;
}

static enum dkim_result result(const struct dkim_verify *v, size_t i)
{
	return dkim_verify_result(v, i)->result;
}

static const struct zone football[] = {
	{"brisbane._domainkey.football.example.com", brisbane, DKIM_LOOKUP_OK},
	{"test._domainkey.football.example.com", test_rsa, DKIM_LOOKUP_OK},
};

static void rfc8463_example(void **state)
{
	for (size_t step = 1; step < 6; step += 4) {
		struct dkim_verify *v = verify(rfc8463_msg, football, 2, step, 0);
		assert_int_equal(dkim_verify_count(v), 2);
		assert_int_equal(result(v, 0), DKIM_PASS);
		assert_int_equal(result(v, 1), DKIM_PASS);
		const struct dkim_verified *r = dkim_verify_result(v, 0);
		assert_string_equal(r->d, "football.example.com");
		assert_string_equal(r->s, "brisbane");
		assert_string_equal(r->i, "@football.example.com");
		assert_int_equal(r->alg, DKIM_ED25519_SHA256);
		assert_string_equal(r->b, "9/dsDChY0YMTtD5");
		assert_false(r->partial);
		dkim_verify_free(&v);
		assert_null(v);
	}
}

static char *replace(const char *msg, const char *from, const char *to)
{
	const char *at = strstr(msg, from);
	assert_non_null(at);
	size_t n = strlen(msg) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	snprintf(out, n, "%.*s%s%s", (int)(at - msg), msg, to, at + strlen(from));
	return out;
}

static void rfc8463_tampered(void **state)
{
	char *body = replace(rfc8463_msg, "hungry", "Hungry");
	struct dkim_verify *v = verify(body, football, 2, 7, 0);
	assert_int_equal(result(v, 0), DKIM_FAIL);
	assert_string_equal(dkim_verify_result(v, 0)->reason,
			    "body hash did not verify");
	assert_int_equal(result(v, 1), DKIM_FAIL);
	dkim_verify_free(&v);
	char *subject = replace(rfc8463_msg, "dinner", "Dinner");
	v = verify(subject, football, 2, 7, 0);
	assert_int_equal(result(v, 0), DKIM_FAIL);
	assert_string_equal(dkim_verify_result(v, 0)->reason,
			    "signature did not verify");
	dkim_verify_free(&v);
	/* a From added on top: From is listed twice in h=, so the new one
	 * is what the signature covers now */
	char *from = replace(rfc8463_msg, "From: Joe",
			     "From: Mallory <m@evil.example>\nFrom: Joe");
	v = verify(from, football, 2, 7, 0);
	assert_int_equal(result(v, 0), DKIM_FAIL);
	assert_int_equal(result(v, 1), DKIM_FAIL);
	dkim_verify_free(&v);
	free(body);
	free(subject);
	free(from);
}

static void key_lookups(void **state)
{
	const struct zone cases[][2] = {
		{{"brisbane._domainkey.football.example.com", NULL,
		  DKIM_LOOKUP_TEMPFAIL}},
		{{"brisbane._domainkey.football.example.com", NULL,
		  DKIM_LOOKUP_NONE}},
		{{"brisbane._domainkey.football.example.com", "v=DKIM1; p=",
		  DKIM_LOOKUP_OK}},
		{{"brisbane._domainkey.football.example.com", test_rsa,
		  DKIM_LOOKUP_OK}},
		{{"brisbane._domainkey.football.example.com", "v=DKIM2; p=abc",
		  DKIM_LOOKUP_OK}},
		{{"brisbane._domainkey.football.example.com",
		  "v=DKIM1; k=ed25519; t=s; "
		  "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  DKIM_LOOKUP_OK}},
	};
	const enum dkim_result want[] = {DKIM_TEMPERROR, DKIM_PERMERROR,
					 DKIM_PERMERROR, DKIM_PERMERROR,
					 DKIM_PERMERROR, DKIM_PASS};
	const char *reason[] = {"the key lookup failed", "no key record",
				"the key is revoked",
				"the key is for another algorithm", NULL, NULL};
	for (size_t c = 0; c < sizeof(want) / sizeof(*want); c++) {
		struct dkim_verify *v = verify(rfc8463_msg, cases[c], 1, 100, 0);
		assert_int_equal(result(v, 0), want[c]);
		if (reason[c] != NULL)
			assert_string_equal(dkim_verify_result(v, 0)->reason,
					    reason[c]);
		/* the RSA signature's key was never answered */
		assert_int_equal(result(v, 1), DKIM_TEMPERROR);
		dkim_verify_free(&v);
	}
}

/* A new key pair and its DNS record. */
static EVP_PKEY *new_key(int alg, char *record, size_t n)
{
	EVP_PKEY *k = alg == DKIM_RSA_SHA256
			      ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
			      : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k);
	unsigned char raw[1024], *p = raw;
	size_t len = sizeof(raw);
	if (alg == DKIM_RSA_SHA256)
		len = (size_t)i2d_PUBKEY(k, &p);
	else
		assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &len), 1);
	struct buf b64;
	buf_init(&b64, 0);
	assert_int_equal(base64_encode(raw, len, &b64), 0);
	snprintf(record, n, "v=DKIM1; k=%s; p=%s",
		 alg == DKIM_RSA_SHA256 ? "rsa" : "ed25519", buf_cstr(&b64));
	buf_free(&b64);
	return k;
}

static const char plain_msg[] =
	"From: Alice <alice@example.org>\n"
	"To: bob@example.net\n"
	"Subject: a  subject\n"
	"\n"
	"Hello  there \t\n"
	"\n"
	".a dot\n"
	"\n\n\n";

/* Sign plain_msg with both algorithms, feeding the body step bytes at a
 * time; the signed message (fields on top) into out. */
static void sign_both(EVP_PKEY *rsa, EVP_PKEY *ed, size_t step, int64_t now,
		      struct buf *out)
{
	struct dkim_signing_key keys[] = {
		{DKIM_RSA_SHA256, rsa, "example.org", "r1"},
		{DKIM_ED25519_SHA256, ed, "example.org", "e1"},
	};
	struct dkim_sign *s = dkim_sign_new(keys, 2, now, 3600);
	assert_non_null(s);
	const char *sep = strstr(plain_msg, "\n\n");
	const char *body = sep + 2;
	size_t n = strlen(body);
	for (size_t i = 0; i < n; i += step)
		dkim_sign_body(s, body + i, n - i < step ? n - i : step);
	const char *why = NULL;
	assert_int_equal(dkim_sign_finish(s, plain_msg,
					  (size_t)(sep - plain_msg) + 1, out, &why),
			 0);
	dkim_sign_free(&s);
	assert_null(s);
	assert_int_equal(buf_append_str(out, plain_msg), 0);
}

static void sign_then_verify(void **state)
{
	char rsa_rec[1024], ed_rec[256];
	EVP_PKEY *rsa = new_key(DKIM_RSA_SHA256, rsa_rec, sizeof(rsa_rec));
	EVP_PKEY *ed = new_key(DKIM_ED25519_SHA256, ed_rec, sizeof(ed_rec));
	const struct zone z[] = {
		{"r1._domainkey.example.org", rsa_rec, DKIM_LOOKUP_OK},
		{"e1._domainkey.example.org", ed_rec, DKIM_LOOKUP_OK},
	};
	int64_t now = 1795000000;
	for (size_t step = 1; step < 20; step += 9) {
		struct buf signed_msg;
		buf_init(&signed_msg, 0);
		sign_both(rsa, ed, step, now, &signed_msg);
		const char *m = buf_cstr(&signed_msg);
		assert_non_null(strstr(m, "a=rsa-sha256; c=relaxed/relaxed;"));
		assert_non_null(strstr(m, "t=1795000000; x=1795003600;"));
		assert_non_null(strstr(m, "h=from:from:to:to:cc:subject:subject:"
					  "date:message-id:reply-to;"));
		assert_null(strstr(m, "l="));
		struct dkim_verify *v = verify(m, z, 2, step, now + 60);
		assert_int_equal(dkim_verify_count(v), 2);
		assert_int_equal(result(v, 0), DKIM_PASS);
		assert_int_equal(result(v, 1), DKIM_PASS);
		assert_string_equal(dkim_verify_result(v, 1)->s, "e1");
		dkim_verify_free(&v);
		/* past x=: expired, never looked up */
		v = verify(m, z, 2, step, now + 3601);
		assert_int_equal(result(v, 0), DKIM_PERMERROR);
		assert_string_equal(dkim_verify_result(v, 0)->reason,
				    "signature expired (x=)");
		assert_null(dkim_verify_key_name(v, 0));
		dkim_verify_free(&v);
		/* relaxed: blanks changed inside a line still pass; a letter
		 * changed does not */
		char *blanks = replace(m, "Hello  there", "Hello there");
		v = verify(blanks, z, 2, step, now);
		assert_int_equal(result(v, 0), DKIM_PASS);
		dkim_verify_free(&v);
		char *letter = replace(m, "Hello  there", "Hallo  there");
		v = verify(letter, z, 2, step, now);
		assert_int_equal(result(v, 0), DKIM_FAIL);
		assert_int_equal(result(v, 1), DKIM_FAIL);
		dkim_verify_free(&v);
		free(blanks);
		free(letter);
		buf_free(&signed_msg);
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

/* Content appended after signing fails a signature without l= (l= itself
 * is checked against dkimpy's l= signatures in tests/integration). */
static void appended_content(void **state)
{
	char ed_rec[256], rsa_rec[1024];
	EVP_PKEY *ed = new_key(DKIM_ED25519_SHA256, ed_rec, sizeof(ed_rec));
	EVP_PKEY *rsa = new_key(DKIM_RSA_SHA256, rsa_rec, sizeof(rsa_rec));
	const struct zone z[] = {
		{"r1._domainkey.example.org", rsa_rec, DKIM_LOOKUP_OK},
		{"e1._domainkey.example.org", ed_rec, DKIM_LOOKUP_OK},
	};
	struct buf m;
	buf_init(&m, 0);
	sign_both(rsa, ed, 5, 0, &m);
	assert_int_equal(buf_append_str(&m, "appended\n"), 0);
	struct dkim_verify *v = verify(buf_cstr(&m), z, 2, 3, 10);
	assert_int_equal(result(v, 0), DKIM_FAIL);
	assert_int_equal(result(v, 1), DKIM_FAIL);
	assert_string_equal(dkim_verify_result(v, 1)->reason,
			    "body hash did not verify");
	dkim_verify_free(&v);
	buf_free(&m);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
}

static void too_many_signatures(void **state)
{
	struct buf m;
	buf_init(&m, 0);
	for (int i = 0; i < 9; i++)
		assert_int_equal(buf_appendf(&m, "DKIM-Signature: v=1; a=rsa-sha1; "
						 "d=x.example; s=s%d; h=from; "
						 "bh=; b=\n", i), 0);
	assert_int_equal(buf_append_str(&m, "From: a@x.example\n\nbody\n"), 0);
	struct dkim_verify *v = verify(buf_cstr(&m), NULL, 0, 10, 0);
	assert_int_equal(dkim_verify_count(v), DKIM_VERIFY_MAX);
	for (size_t i = 0; i < DKIM_VERIFY_MAX; i++) {
		assert_int_equal(result(v, i), DKIM_PERMERROR);
		assert_null(dkim_verify_key_name(v, i));
	}
	assert_string_equal(dkim_verify_result(v, 0)->reason,
			    "unknown or weak algorithm (a=; rsa-sha1 is refused)");
	dkim_verify_free(&v);
	buf_free(&m);
}

static void malformed_signatures(void **state)
{
	static const char *const fields[] = {
		"v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=x.example; s=s; i=@y.example; h=from; "
		"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		"v=1; a=rsa-sha256; d=x..example; s=s; h=from; "
		"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		"v=1; a=rsa-sha256; d=x.example; s=s/../x; h=from; "
		"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		"v=1; a=rsa-sha256; d=x.example; s=s; q=http; h=from; "
		"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		"v=1; a=rsa-sha256; d=x.example; s=s; h=to; "
		"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		"v=1; v=1; a=rsa-sha256",
		"",
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		char msg[512];
		snprintf(msg, sizeof(msg),
			 "DKIM-Signature: %s\nFrom: a@x.example\n\nbody\n", fields[i]);
		struct dkim_verify *v = verify(msg, NULL, 0, 10, 0);
		assert_int_equal(dkim_verify_count(v), 1);
		assert_int_equal(result(v, 0), DKIM_PERMERROR);
		assert_non_null(dkim_verify_result(v, 0)->reason);
		dkim_verify_free(&v);
	}
	/* an i= in a subdomain of d= is fine */
	struct dkim_sig sig;
	const char *why;
	const char *ok = "v=1; a=rsa-sha256; d=X.example; s=s; i=joe@Mail.x.example; "
			 "h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; "
			 "b=AAAA";
	assert_int_equal(dkim_sig_parse(ok, strlen(ok), &sig, &why), 0);
	assert_string_equal(sig.d, "x.example");
	assert_string_equal(sig.i, "joe@mail.x.example");
	assert_true(dkim_domain_within("a.B.example", "b.example"));
	assert_false(dkim_domain_within("ab.example", "b.example"));
	assert_string_equal(dkim_result_name(DKIM_TEMPERROR), "temperror");
}

/* Junk signatures on top do not crowd out a good one below (they are
 * reported in the slots left); CRLF header input works as LF does. */
static void junk_on_top_and_crlf(void **state)
{
	struct buf m, crlf;
	buf_init(&m, 0);
	buf_init(&crlf, 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(buf_appendf(&m, "DKIM-Signature: v=1; a=rsa-sha256; "
						 "d=junk.example; s=s%d\n", i), 0);
	assert_int_equal(buf_append_str(&m, rfc8463_msg), 0);
	struct dkim_verify *v = verify(buf_cstr(&m), football, 2, 9, 0);
	assert_int_equal(dkim_verify_count(v), DKIM_VERIFY_MAX);
	assert_int_equal(result(v, 0), DKIM_PASS);
	assert_int_equal(result(v, 1), DKIM_PASS);
	for (size_t i = 2; i < DKIM_VERIFY_MAX; i++)
		assert_int_equal(result(v, i), DKIM_PERMERROR);
	dkim_verify_free(&v);
	for (const char *p = rfc8463_msg; *p != '\0'; p++)
		assert_int_equal(*p == '\n' ? buf_append(&crlf, "\r\n", 2)
					    : buf_append_byte(&crlf, *p), 0);
	const char *c = buf_cstr(&crlf), *sep = strstr(c, "\r\n\r\n");
	v = dkim_verify_new(c, (size_t)(sep - c) + 2, 0);
	for (size_t i = 0; i < 2; i++)
		dkim_verify_key(v, i, DKIM_LOOKUP_OK, &football[i].txt, 1);
	dkim_verify_body(v, sep + 4, strlen(sep + 4));
	dkim_verify_finish(v);
	assert_int_equal(result(v, 0), DKIM_PASS);
	assert_int_equal(result(v, 1), DKIM_PASS);
	dkim_verify_free(&v);
	buf_free(&m);
	buf_free(&crlf);
}

/* A header with many recipients: h= stays within what verifiers take
 * (DKIM_H_MAX names, From first) and the signature verifies. */
static void many_fields_signed(void **state)
{
	char ed_rec[256];
	EVP_PKEY *ed = new_key(DKIM_ED25519_SHA256, ed_rec, sizeof(ed_rec));
	const struct zone z[] = {{"e1._domainkey.example.org", ed_rec,
				  DKIM_LOOKUP_OK}};
	struct buf hdr, out;
	buf_init(&hdr, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_append_str(&hdr, "From: a@example.org\n"), 0);
	for (int i = 0; i < 80; i++)
		assert_int_equal(buf_appendf(&hdr, "To: r%d@example.net\n", i), 0);
	struct dkim_signing_key key = {DKIM_ED25519_SHA256, ed, "example.org", "e1"};
	struct dkim_sign *s = dkim_sign_new(&key, 1, 100, 0);
	dkim_sign_body(s, "hi\n", 3);
	const char *why = NULL;
	assert_int_equal(dkim_sign_finish(s, hdr.data, hdr.len, &out, &why), 0);
	dkim_sign_free(&s);
	assert_null(strstr(buf_cstr(&out), "x="));
	assert_int_equal(buf_append(&out, hdr.data, hdr.len), 0);
	assert_int_equal(buf_append_str(&out, "\nhi\n"), 0);
	struct dkim_verify *v = verify(buf_cstr(&out), z, 1, 2, 200);
	assert_int_equal(result(v, 0), DKIM_PASS);
	dkim_verify_free(&v);
	buf_free(&hdr);
	buf_free(&out);
	EVP_PKEY_free(ed);
}

/* i= may not carry blanks or specials (it goes into our headers); q= may
 * offer more than dns/txt; x= must come after t=. */
static void identity_and_times(void **state)
{
	static const char bh[] = "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
	static const struct {
		const char *tags;
		int ok;
	} cases[] = {
		{"i=a header.d=paypal.com (x@x.example;", 0},
		{"i=\"a b\"@x.example;", 0},
		{"i=a@x.example; q=dns/txt:other/method;", 1},
		{"i=a@x.example; q=other/method;", 0},
		{"t=100; x=100;", 0},
		{"t=100; x=101;", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char value[512];
		snprintf(value, sizeof(value),
			 "v=1; a=rsa-sha256; d=x.example; s=s; h=from; %s %s",
			 cases[i].tags, bh);
		struct dkim_sig sig;
		const char *why;
		assert_int_equal(dkim_sig_parse(value, strlen(value), &sig, &why),
				 cases[i].ok ? 0 : -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc8463_example),
		cmocka_unit_test(rfc8463_tampered),
		cmocka_unit_test(key_lookups),
		cmocka_unit_test(sign_then_verify),
		cmocka_unit_test(appended_content),
		cmocka_unit_test(too_many_signatures),
		cmocka_unit_test(malformed_signatures),
		cmocka_unit_test(junk_on_top_and_crlf),
		cmocka_unit_test(many_fields_signed),
		cmocka_unit_test(identity_and_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
