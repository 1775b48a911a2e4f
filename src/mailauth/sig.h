/* sig: DKIM-Signature fields (RFC 6376 3.5) and checking the header
 * signature against a key (RFC 6376 3.7, RFC 8463, RFC 8301). Pure code
 * with OpenSSL: the body hash and the key lookup are the caller's. */
#ifndef POSTERN_MAILAUTH_SIG_H
#define POSTERN_MAILAUTH_SIG_H

#include "lib/buf.h"
#include "mailauth/canon.h"
#include "mailauth/key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dkim_alg { DKIM_RSA_SHA256, DKIM_ED25519_SHA256 };
enum { DKIM_SIG_B_MAX = 1024, DKIM_DOMAIN_MAX = 255, DKIM_AUID_MAX = 320,
       DKIM_B_TEXT = 16 };

struct dkim_sig {
	int alg;                /* enum dkim_alg */
	enum canon header_c, body_c;
	char d[DKIM_DOMAIN_MAX + 1];  /* lower case */
	char s[64];             /* selector */
	char i[DKIM_AUID_MAX + 1]; /* i= (the agent or user), "@d" when absent */
	char b_text[DKIM_B_TEXT]; /* b= as written (blanks out), cut short:
				    for header.b in Authentication-Results */
	const char *h;          /* h= value, in the field's text */
	size_t h_len;
	unsigned char bh[32];   /* the body hash */
	unsigned char b[DKIM_SIG_B_MAX];
	size_t b_len;
	bool has_l;
	uint64_t l;             /* body bytes signed, when has_l */
	int64_t t, x;           /* -1 when absent */
};

/* Parse the value of a DKIM-Signature field (after the colon). 0, or -1
 * with *error_r: a permanent error (RFC 6376 6.1.1), rsa-sha1 included
 * (RFC 8301), an i= outside d= too, and a d= or s= that is not a DNS
 * name. */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
		   const char **error_r);

/* The tags DKIM-Signature, ARC-Message-Signature and ARC-Seal share
 * (RFC 8617 4.1): a=, d=, s=, b= and an optional t=; with body, also c=
 * and bh=. Fills sig; 0, or -1 with *error_r. */
struct dkim_tags;
int dkim_sig_common(const struct dkim_tags *t, struct dkim_sig *sig,
		    bool body, const char **error_r);

/* Whether name is domain or a subdomain of it (case ignored). */
bool dkim_domain_within(const char *name, const char *domain);

/* Whether sig's b= signs the header section hdr (with sig_field, the
 * whole DKIM-Signature field, in it) under key. 1 yes, 0 no, -1 with
 * *error_r when it cannot be checked (a key of another type, memory). */
int dkim_sig_verify_header(const struct dkim_sig *sig, const struct dkim_key *key,
			   const char *hdr, size_t hdr_len, const char *sig_field,
			   size_t sig_field_len, const char **error_r);

/* Whether sig's b= signs data (the canonical header data, ready) under
 * key: 1 yes, 0 no, -1 with *error_r. */
int dkim_sig_check(const struct dkim_sig *sig, const struct dkim_key *key,
		   const char *data, size_t len, const char **error_r);
/* The same with the data's SHA-256 hash: what both algorithms sign. */
int dkim_sig_check_hash(const struct dkim_sig *sig, const struct dkim_key *key,
			const unsigned char hash[32], const char **error_r);

#endif
