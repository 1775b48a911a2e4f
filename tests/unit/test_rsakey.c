/* rsakey: RSA public keys read from DER (src/mailauth/rsakey.c) must be
 * the keys OpenSSL's own decoder reads, in both accepted forms, at every
 * size allowed; the limits and every malformed form are refused. */
#include "mailauth/rsakey.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static EVP_PKEY *keygen(int bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	assert_non_null(k);
	return k;
}

/* The SubjectPublicKeyInfo and the bare RSAPublicKey of k. */
static void forms(EVP_PKEY *k, unsigned char **spki, int *spki_len,
		  unsigned char **pkcs1, int *pkcs1_len)
{
	*spki = NULL;
	*pkcs1 = NULL;
	*spki_len = i2d_PUBKEY(k, spki);
	*pkcs1_len = i2d_PublicKey(k, pkcs1);
	assert_true(*spki_len > 0 && *pkcs1_len > 0);
}

static void same_keys_as_openssl(void **state)
{
	static const int sizes[] = {1024, 2048, 3072, 4096};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		EVP_PKEY *k = keygen(sizes[i]);
		unsigned char *spki, *pkcs1;
		int sl, pl;
		const char *why;
		forms(k, &spki, &sl, &pkcs1, &pl);
		EVP_PKEY *a = rsakey_read(spki, (size_t)sl, &why);
		EVP_PKEY *b = rsakey_read(pkcs1, (size_t)pl, &why);
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(EVP_PKEY_eq(a, k), 1);
		assert_int_equal(EVP_PKEY_eq(b, k), 1);
		assert_int_equal(EVP_PKEY_get_bits(a), sizes[i]);
		/* every truncation, and one byte more, is refused */
		for (int n = 0; n < sl; n++)
			assert_null(rsakey_read(spki, (size_t)n, &why));
		unsigned char *more = malloc((size_t)sl + 1);
		memcpy(more, spki, (size_t)sl);
		more[sl] = 0;
		assert_null(rsakey_read(more, (size_t)sl + 1, &why));
		free(more);
		EVP_PKEY_free(a);
		EVP_PKEY_free(b);
		OPENSSL_free(spki);
		OPENSSL_free(pkcs1);
		EVP_PKEY_free(k);
	}
}

/* A DER tag and length in the fewest bytes. */
static size_t head(unsigned char *out, unsigned char tag, size_t len)
{
	out[0] = tag;
	if (len < 128) {
		out[1] = (unsigned char)len;
		return 2;
	}
	if (len < 256) {
		out[1] = 0x81, out[2] = (unsigned char)len;
		return 3;
	}
	out[1] = 0x82, out[2] = (unsigned char)(len >> 8), out[3] = (unsigned char)len;
	return 4;
}

/* RSAPublicKey DER with a modulus of n_len bytes (top byte top) and the
 * exponent e[0..e_len); a sign byte before the modulus when top needs it. */
static size_t build(unsigned char *out, size_t n_len, unsigned char top,
		    const unsigned char *e, size_t e_len)
{
	unsigned char n_head[4];
	size_t sign = (top & 0x80) != 0, int_len = sign + n_len;
	size_t nh = head(n_head, 0x02, int_len);
	size_t o = head(out, 0x30, nh + int_len + 2 + e_len);
	memcpy(out + o, n_head, nh);
	o += nh;
	if (sign)
		out[o++] = 0x00;
	memset(out + o, 0xab, n_len);
	out[o] = top;
	out[o + n_len - 1] |= 1;
	o += n_len;
	out[o++] = 0x02, out[o++] = (unsigned char)e_len;
	memcpy(out + o, e, e_len);
	return o + e_len;
}

static void limits(void **state)
{
	static unsigned char der[1200];
	const char *why;
	static const unsigned char f4[] = {0x01, 0x00, 0x01};
	/* 4096 bits is the most; 4097 is refused */
	assert_null(rsakey_read(der, build(der, 513, 0x01, f4, 3), &why));
	assert_string_equal(why, "the RSA key is longer than 4096 bits");
	static const unsigned char *const exps[] = {
		(const unsigned char *)"\x01", (const unsigned char *)"\x02",
		(const unsigned char *)"\x01\x00\x00", /* even */
		(const unsigned char *)"\x01\x00\x00\x00\x01"}; /* 2^32 + 1 */
	static const size_t exp_len[] = {1, 1, 3, 5};
	for (size_t i = 0; i < 4; i++) {
		assert_null(rsakey_read(der, build(der, 256, 0xc5, exps[i],
						  exp_len[i]), &why));
		assert_string_equal(why, "the RSA key's exponent is not an odd "
					 "number from 3 to 2^32");
	}
	EVP_PKEY *k = rsakey_read(der, build(der, 256, 0xc5, f4, 3), &why);
	assert_non_null(k); /* the same numbers with e = 65537: fine */
	EVP_PKEY_free(k);
	assert_null(rsakey_read(der, build(der, 127, 0xc5, f4, 3), &why));
	assert_string_equal(why, "the RSA key is shorter than 1024 bits");
}

static void malformed(void **state)
{
	static unsigned char der[600];
	static const unsigned char f4[] = {0x01, 0x00, 0x01};
	const char *why;
	size_t n = build(der, 256, 0xc5, f4, 3);
	unsigned char bad[600];
	/* a negative modulus (no 0x00 before a high top byte) */
	memcpy(bad, der, n);
	bad[8] = 0xc5; /* the sign byte (after 30 82 .. .. 02 82 01 01) */
	assert_null(rsakey_read(bad, n, &why));
	/* a length not in its fewest bytes: 0x82 0x00 0x05 */
	static const unsigned char long_len[] = {0x30, 0x82, 0x00, 0x05, 0x02,
						 0x01, 0x03, 0x02, 0x01, 0x03};
	assert_null(rsakey_read(long_len, sizeof(long_len), &why));
	/* another algorithm in a SubjectPublicKeyInfo: an EC key */
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *spki = NULL;
	int sl = i2d_PUBKEY(ec, &spki);
	assert_null(rsakey_read(spki, (size_t)sl, &why));
	assert_string_equal(why, "p= is not an RSA key");
	OPENSSL_free(spki);
	EVP_PKEY_free(ec);
	assert_null(rsakey_read((const unsigned char *)"", 0, &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_keys_as_openssl),
		cmocka_unit_test(limits),
		cmocka_unit_test(malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
