/* verify: checking the DKIM signatures of one message (RFC 6376 6), with
 * RFC 8301 (no rsa-sha1, RSA keys of 1024 bits at least) and RFC 8463
 * (ed25519-sha256). Pure code: the caller looks the keys up (it knows the
 * resolver, synchronous or not) and feeds the body as it reads it.
 *
 *   v = dkim_verify_new(header section, now)
 *   for each i: name = dkim_verify_key_name(v, i); if name, look it up and
 *               give the answer to dkim_verify_key(v, i, ...)
 *   dkim_verify_body(v, bytes, n)...   (the body, in pieces)
 *   dkim_verify_finish(v); dkim_verify_result(v, i)
 *
 * At most DKIM_VERIFY_MAX signatures are checked, the topmost (newest)
 * first: a message with hundreds of signatures must not cost hundreds of
 * key lookups and hashes. The body is fed with the line ends it has. */
#ifndef POSTERN_MAILAUTH_VERIFY_H
#define POSTERN_MAILAUTH_VERIFY_H

#include "mailauth/sig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { DKIM_VERIFY_MAX = 5 };

/* RFC 8601 2.7.1 result values */
enum dkim_result {
	DKIM_NONE,
	DKIM_PASS,
	DKIM_FAIL,      /* the signature or the body hash does not match */
	DKIM_NEUTRAL,
	DKIM_POLICY,
	DKIM_TEMPERROR, /* the key could not be fetched now: try later */
	DKIM_PERMERROR, /* malformed signature or key, expired, revoked */
};

/* What a key lookup found. */
enum dkim_lookup {
	DKIM_LOOKUP_OK,       /* TXT records, given as strings */
	DKIM_LOOKUP_NONE,     /* no such name or no TXT record */
	DKIM_LOOKUP_TEMPFAIL, /* timeout, SERVFAIL, DNSSEC-bogus */
};

struct dkim_verified {
	enum dkim_result result;
	const char *reason; /* why not pass, for comments and logs */
	int alg;            /* enum dkim_alg, when parsed */
	char d[DKIM_DOMAIN_MAX + 1];
	char s[64];
	char i[DKIM_AUID_MAX + 1];
	char b[DKIM_B_TEXT];
	bool partial; /* passed, but l= left part of the body unsigned */
	bool testing; /* the key says t=y */
};

struct dkim_verify;

/* Find and parse the DKIM-Signature fields of the header section (LF or
 * CRLF line ends; copied). Signatures that parse are taken first, up to
 * DKIM_VERIFY_MAX, then malformed ones (reported as permerror) while
 * room is left. now is for x= (expiry). NULL when out of memory. */
struct dkim_verify *dkim_verify_new(const char *hdr, size_t len, int64_t now);
/* The signatures considered (0 when the message is unsigned). */
size_t dkim_verify_count(const struct dkim_verify *v);
/* The DNS name of signature i's key ("s._domainkey.d"), or NULL when no
 * lookup is needed (its result is known already). */
const char *dkim_verify_key_name(const struct dkim_verify *v, size_t i);
/* The answer for signature i's key: with DKIM_LOOKUP_OK, txt[0..n) are the
 * TXT records (each record's strings joined). */
void dkim_verify_key(struct dkim_verify *v, size_t i, enum dkim_lookup what,
		     const char *const *txt, size_t n);
/* The same with a key parsed before (a cache of the caller's): its pkey
 * is shared, not taken. */
void dkim_verify_key_parsed(struct dkim_verify *v, size_t i,
			    const struct dkim_key *k);
/* The message body (after the empty line), in pieces of any size. */
void dkim_verify_body(struct dkim_verify *v, const char *p, size_t n);
/* Check what remains to be checked; a signature without a key answer by
 * now gets temperror. */
void dkim_verify_finish(struct dkim_verify *v);
const struct dkim_verified *dkim_verify_result(const struct dkim_verify *v,
					       size_t i);
void dkim_verify_free(struct dkim_verify **v);

/* "pass", "fail", ... as Authentication-Results writes them. */
const char *dkim_result_name(enum dkim_result r);

#endif
