/* key: DKIM key records (RFC 6376 3.6.1), as TXT at
 * SELECTOR._domainkey.DOMAIN: "v=DKIM1; k=rsa|ed25519; p=BASE64; ...".
 * Pure code (OpenSSL only to check the key): an RSA key must be a
 * SubjectPublicKeyInfo (or a bare RSAPublicKey) of 1024 to 4096 bits
 * with a small exponent (rsakey.h), an Ed25519
 * key 32 raw bytes (RFC 8463 4.2); an empty p= is a revoked key. */
#ifndef POSTERN_MAILAUTH_KEY_H
#define POSTERN_MAILAUTH_KEY_H

#include "mailauth/rsakey.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

enum dkim_key_type { DKIM_KEY_RSA, DKIM_KEY_ED25519 };
enum { DKIM_KEY_RECORD_MAX = 4096 };

struct dkim_key {
	int type;       /* enum dkim_key_type */
	EVP_PKEY *pkey; /* NULL when revoked */
	bool revoked;   /* p= is empty */
	bool testing;   /* t=y */
	bool strict;    /* t=s: i= must be in d= itself, not a subdomain */
};

/* Parse a key record. 0, or -1 with *error_r (a permanent error: the
 * signature it serves fails). Free with dkim_key_free. */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key *k,
		   const char **error_r);
void dkim_key_free(struct dkim_key *k);

#endif
