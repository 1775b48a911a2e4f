/* keys: DKIM key making and life. */
#include "dkim/keys.h"

#include "lib/base64.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

char *dkim_keygen(const char *algo, int bits, const char **error_r)
{
	EVP_PKEY *pkey = NULL;
	if (strcmp(algo, "rsa") == 0) {
		if (bits < 1024 || bits > DKIM_RSA_BITS_MAX) {
			*error_r = "RSA keys have 1024 to 4096 bits";
			return NULL;
		}
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (strcmp(algo, "ed25519") == 0) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		*error_r = "the algorithm is rsa or ed25519";
		return NULL;
	}
	BIO *mem = BIO_new(BIO_s_mem());
	char *pem = NULL, *data;
	long len;
	if (pkey != NULL && mem != NULL &&
	    PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (len = BIO_get_mem_data(mem, &data)) > 0 &&
	    (pem = malloc((size_t)len + 1)) != NULL) {
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
		explicit_bzero(data, (size_t)len);
	}
	if (pem == NULL)
		*error_r = "cannot make the key (OpenSSL)";
	BIO_free(mem);
	EVP_PKEY_free(pkey);
	return pem;
}

EVP_PKEY *dkim_key_load(const char *pem, const char **error_r)
{
	BIO *mem = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey =
		mem != NULL ? PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL) : NULL;
	BIO_free(mem);
	if (pkey == NULL)
		*error_r = "the private key cannot be read";
	return pkey;
}

/* RFC 6376 3.6.1: an RSA key is its SubjectPublicKeyInfo; RFC 8463 4.2:
 * an Ed25519 key is its 32 raw bytes. */
static int public_bytes(EVP_PKEY *pkey, bool ed, struct buf *der)
{
	if (ed) {
		unsigned char raw[32];
		size_t n = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1)
			return -1;
		return buf_append(der, raw, n);
	}
	unsigned char *p = NULL;
	int n = i2d_PUBKEY(pkey, &p);
	int rc = n > 0 ? buf_append(der, p, (size_t)n) : -1;
	OPENSSL_free(p);
	return rc;
}

int dkim_key_record(const struct dir_dkim_key *k, struct buf *out,
		    const char **error_r)
{
	bool ed = strcmp(k->algo, "ed25519") == 0;
	int rc = buf_appendf(out, "v=DKIM1; k=%s; p=", ed ? "ed25519" : "rsa");
	if (k->revoked || rc < 0)
		return rc;
	EVP_PKEY *pkey = dkim_key_load(k->private_pem, error_r);
	if (pkey == NULL)
		return -1;
	struct buf der;
	buf_init(&der, 0);
	rc = public_bytes(pkey, ed, &der);
	if (rc == 0)
		rc = base64_encode(der.data, der.len, out);
	if (rc < 0)
		*error_r = "cannot write the public key";
	buf_free(&der);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Whether a signs now and no newer key of its algorithm does. */
static bool newest_signing(const struct dir_dkim_key *keys, size_t n,
			   size_t i, int64_t now)
{
	const struct dir_dkim_key *k = &keys[i];
	for (size_t j = 0; j < n; j++) {
		const struct dir_dkim_key *o = &keys[j];
		if (j == i || o->revoked || strcmp(o->algo, k->algo) != 0 ||
		    o->sign_from > now || (o->retire_at != 0 && o->retire_at <= now))
			continue;
		if (o->sign_from > k->sign_from ||
		    (o->sign_from == k->sign_from && strcmp(o->selector, k->selector) > 0))
			return false;
	}
	return true;
}

enum dkim_key_state dkim_key_state(const struct dir_dkim_key *keys, size_t n,
				   size_t i, int64_t now)
{
	const struct dir_dkim_key *k = &keys[i];
	if (k->revoked)
		return DKIM_KEY_REVOKED;
	if (k->retire_at != 0 && k->retire_at <= now)
		return DKIM_KEY_RETIRED;
	if (k->sign_from > now)
		return DKIM_KEY_PENDING;
	return newest_signing(keys, n, i, now) ? DKIM_KEY_ACTIVE
					       : DKIM_KEY_STANDBY;
}

const char *dkim_key_state_name(enum dkim_key_state s)
{
	static const char *const names[] = {
		[DKIM_KEY_PENDING] = "pending", [DKIM_KEY_ACTIVE] = "active",
		[DKIM_KEY_STANDBY] = "standby", [DKIM_KEY_RETIRED] = "retired",
		[DKIM_KEY_REVOKED] = "revoked",
	};
	return names[s];
}
