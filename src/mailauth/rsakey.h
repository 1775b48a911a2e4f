/* rsakey: the RSA public key of a DKIM key record, read from its DER form
 * here rather than by OpenSSL 3's generic decoder (d2i_PUBKEY), which
 * costs some 200 us per key, more than the signature check it serves; a
 * verifier parses a key per signature. Accepted (RFC 6376 3.6.1, and what
 * other verifiers take): a SubjectPublicKeyInfo with the rsaEncryption
 * algorithm, or a bare RSAPublicKey; strict DER (minimal lengths and
 * integers), nothing after the end.
 *
 * Limits (RFC 8301 3.2 and against keys chosen to make checks slow): the
 * modulus is 1024 to 4096 bits, the public exponent odd, from 3 to
 * 2^32 - 1. Pure code with OpenSSL. */
#ifndef POSTERN_MAILAUTH_RSAKEY_H
#define POSTERN_MAILAUTH_RSAKEY_H

#include <openssl/evp.h>
#include <stddef.h>

enum { DKIM_RSA_MIN_BITS = 1024, DKIM_RSA_MAX_BITS = 4096 };

/* The key, or NULL with *error_r. */
EVP_PKEY *rsakey_read(const unsigned char *der, size_t len,
		      const char **error_r);

#endif
