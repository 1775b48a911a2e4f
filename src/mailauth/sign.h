/* sign: DKIM signatures for one message (RFC 6376 5, RFC 8463), with one
 * key or several side by side (an rsa-sha256 and an ed25519-sha256 one).
 * Pure code with OpenSSL: the caller picks the keys and feeds the body.
 *
 * Every signature is relaxed/relaxed, carries t= and x= (against replay)
 * and never l=. h= lists the fields of RFC 6376 5.4.1 that are present;
 * From, To, Cc, Subject, Date, Message-ID and Reply-To are listed once more
 * than present (oversigned), so that no copy of them can be added later
 * without breaking the signature. */
#ifndef POSTERN_MAILAUTH_SIGN_H
#define POSTERN_MAILAUTH_SIGN_H

#include "lib/buf.h"
#include "mailauth/sig.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

enum { DKIM_SIGN_KEYS_MAX = 4 };

struct dkim_signing_key {
	int alg;        /* enum dkim_alg */
	EVP_PKEY *pkey; /* the caller's; an RSA or an Ed25519 private key */
	const char *d, *s;
};

struct dkim_sign;

/* Start signing with keys[0..n) (n <= DKIM_SIGN_KEYS_MAX). The
 * signatures say t=now and x=now+expire (no x= when expire is 0). NULL
 * when out of memory. */
struct dkim_sign *dkim_sign_new(const struct dkim_signing_key *keys,
				size_t n, int64_t now, int64_t expire);
/* The body (after the empty line), in pieces of any size. */
void dkim_sign_body(struct dkim_sign *s, const char *p, size_t n);
/* Sign the header section hdr (LF line ends, the fields the message will
 * carry) and append one DKIM-Signature field per key to out, each folded
 * and ending with LF, ready to go on top of the message. 0, or -1 with
 * *error_r. */
int dkim_sign_finish(struct dkim_sign *s, const char *hdr, size_t hdr_len,
		     struct buf *out, const char **error_r);
void dkim_sign_free(struct dkim_sign **s);

/* The signature of data (canonical header data) under k into sig (room
 * for DKIM_SIG_B_MAX bytes): RSA signs the data with SHA-256 (PKCS#1
 * v1.5), Ed25519 the data's SHA-256 hash (RFC 8463 3). 0 or -1. */
int dkim_sign_data(const struct dkim_signing_key *k, const struct buf *data,
		   unsigned char *sig, size_t *sig_len);
/* Append the base64 of data to b: first characters on the current line,
 * then lines of 72, each folded with LF and a tab. 0 or -1. */
int dkim_b64_folded(struct buf *b, const unsigned char *data, size_t n,
		    size_t first);

#endif
