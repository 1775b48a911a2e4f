/* rsakey: RSA public keys from DER. */
#include "mailauth/rsakey.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdbool.h>
#include <string.h>

struct der {
	const unsigned char *p;
	size_t n;
};

/* The next element, if its tag is tag: its contents into *out. DER:
 * lengths in the fewest bytes (at most two: a key is far shorter). */
static bool take(struct der *d, unsigned char tag, struct der *out)
{
	if (d->n < 2 || d->p[0] != tag)
		return false;
	size_t len = d->p[1], head = 2;
	if (len & 0x80) {
		size_t k = len & 0x7f;
		if (k == 0 || k > 2 || d->n < 2 + k)
			return false;
		len = k == 1 ? d->p[2] : (size_t)d->p[2] << 8 | d->p[3];
		if (len < 128 || (k == 2 && len < 256))
			return false;
		head = 2 + k;
	}
	if (len > d->n - head)
		return false;
	*out = (struct der){d->p + head, len};
	d->p += head + len;
	d->n -= head + len;
	return true;
}

/* A positive INTEGER in its fewest bytes, without the sign byte. */
static bool take_uint(struct der *d, struct der *out)
{
	if (!take(d, 0x02, out) || out->n == 0 || (out->p[0] & 0x80))
		return false;
	if (out->p[0] == 0) {
		if (out->n == 1 || !(out->p[1] & 0x80))
			return false; /* zero, or not minimal */
		out->p++;
		out->n--;
	}
	return true;
}

static size_t bits_of(const struct der *u)
{
	size_t bits = u->n * 8;
	for (unsigned char top = u->p[0]; !(top & 0x80); top <<= 1)
		bits--;
	return bits;
}

/* SEQUENCE { INTEGER n, INTEGER e }, and nothing after it. */
static const char *rsa_public_key(struct der d, struct der *n, struct der *e)
{
	struct der seq;
	if (!take(&d, 0x30, &seq) || d.n != 0 || !take_uint(&seq, n) ||
	    !take_uint(&seq, e) || seq.n != 0)
		return "p= is not a valid RSA public key";
	size_t bits = bits_of(n);
	if (bits < DKIM_RSA_MIN_BITS)
		return "the RSA key is shorter than 1024 bits";
	if (bits > DKIM_RSA_MAX_BITS)
		return "the RSA key is longer than 4096 bits";
	if (e->n > 4 || !(e->p[e->n - 1] & 1) || (e->n == 1 && e->p[0] < 3))
		return "the RSA key's exponent is not an odd number from 3 to 2^32";
	return NULL;
}

/* SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { OID rsaEncryption, NULL },
 * BIT STRING (no unused bits) { RSAPublicKey } }; else the RSAPublicKey
 * itself. */
static const char *unwrap(const unsigned char *der, size_t len, struct der *n,
			  struct der *e)
{
	static const unsigned char rsa_alg[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
		0x01, 0x05, 0x00};
	struct der d = {der, len}, outer, alg, bits, peek = d;
	if (take(&peek, 0x30, &outer) && outer.n > 0 && outer.p[0] == 0x02)
		return rsa_public_key(d, n, e); /* a bare RSAPublicKey */
	if (!take(&d, 0x30, &outer) || d.n != 0 || !take(&outer, 0x30, &alg) ||
	    !take(&outer, 0x03, &bits) || outer.n != 0)
		return "p= is not a valid public key";
	if (alg.n != sizeof(rsa_alg) || memcmp(alg.p, rsa_alg, alg.n) != 0)
		return "p= is not an RSA key";
	if (bits.n < 1 || bits.p[0] != 0)
		return "p= is not a valid public key";
	return rsa_public_key((struct der){bits.p + 1, bits.n - 1}, n, e);
}

static EVP_PKEY *from_numbers(const struct der *n, const struct der *e)
{
	BIGNUM *bn = BN_bin2bn(n->p, (int)n->n, NULL);
	BIGNUM *be = BN_bin2bn(e->p, (int)e->n, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;
	if (bn != NULL && be != NULL && bld != NULL && ctx != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return k;
}

EVP_PKEY *rsakey_read(const unsigned char *der, size_t len,
		      const char **error_r)
{
	struct der n, e;
	*error_r = unwrap(der, len, &n, &e);
	if (*error_r != NULL)
		return NULL;
	EVP_PKEY *k = from_numbers(&n, &e);
	if (k == NULL)
		*error_r = "out of memory";
	return k;
}
