/* keys: making DKIM keys, their public records, and where each key stands
 * in its life (db/dkim.h says how the times are kept). */
#ifndef POSTERN_DKIM_KEYS_H
#define POSTERN_DKIM_KEYS_H

#include "db/dkim.h"
#include "lib/buf.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

enum { DKIM_RSA_BITS_DEFAULT = 2048, DKIM_RSA_BITS_MAX = 4096 };

enum dkim_key_state {
	DKIM_KEY_PENDING,  /* published; signs from sign_from */
	DKIM_KEY_ACTIVE,   /* signs (the newest of its algorithm) */
	DKIM_KEY_STANDBY,  /* a newer key signs; still published */
	DKIM_KEY_RETIRED,  /* past retire_at: neither used nor published */
	DKIM_KEY_REVOKED,  /* published with an empty p= */
};

/* A new private key, "rsa" (bits) or "ed25519", as PKCS#8 PEM (the caller
 * frees, wiping). NULL with *error_r. */
char *dkim_keygen(const char *algo, int bits, const char **error_r);
/* The private key in pem. NULL with *error_r. */
EVP_PKEY *dkim_key_load(const char *pem, const char **error_r);
/* The TXT record for k's public key: "v=DKIM1; k=...; p=..." (an empty
 * p= when revoked, RFC 6376 3.6.1). 0, or -1 with *error_r. */
int dkim_key_record(const struct dir_dkim_key *k, struct buf *out,
		    const char **error_r);

/* Where keys[i] stands at now, among keys[0..n), the keys of its domain. */
enum dkim_key_state dkim_key_state(const struct dir_dkim_key *keys, size_t n,
				   size_t i, int64_t now);
const char *dkim_key_state_name(enum dkim_key_state s);

#endif
