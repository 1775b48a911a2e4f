/* arc: Authenticated Received Chains (RFC 8617). Validating the ARC Sets a
 * received message carries, and sealing a message with a new set when it
 * is forwarded. Pure code with OpenSSL, in the manner of verify.h: the
 * caller looks the keys up and feeds the body.
 *
 * An ARC Set is three fields with one instance number i= (1 to 50):
 * ARC-Authentication-Results (what a handler found), ARC-Message-Signature
 * (a DKIM-like signature of the message) and ARC-Seal (a signature over
 * every set up to its own). Validation (RFC 8617 5.2):
 *
 *   no ARC field at all                                   none
 *   sets not exactly 1..N with one field of each kind,
 *   a malformed field, or the newest seal says cv=fail    fail
 *   the newest ARC-Message-Signature does not verify      fail
 *   any ARC-Seal, newest first, does not verify           fail
 *   otherwise                                             pass
 *
 *   v = arc_verify_new(header section)
 *   for each k < arc_verify_lookups(v): look up arc_verify_key_name(v, k)
 *       and give the answer to arc_verify_key(v, k, ...)
 *   arc_verify_body(v, bytes, n)...
 *   arc_verify_finish(v); arc_verify_result(v) */
#ifndef POSTERN_MAILAUTH_ARC_H
#define POSTERN_MAILAUTH_ARC_H

#include "lib/buf.h"
#include "mailauth/arcfield.h"
#include "mailauth/sign.h"
#include "mailauth/verify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A chain names at most this many distinct keys: each is a DNS question
 * asked on a stranger's behalf (real chains use one or two). */
enum { ARC_KEYS_MAX = 10 };

enum arc_result { ARC_NONE, ARC_PASS, ARC_FAIL };

struct arc_verified {
	enum arc_result result;
	const char *reason; /* why not pass */
	unsigned sets;      /* the newest instance found (0: none) */
	bool sealed_fail;   /* the newest seal says cv=fail: never seal on */
	bool temporary;     /* failed for want of a key now: may pass later,
			       so never sealed as cv=fail */
	char d[DKIM_DOMAIN_MAX + 1]; /* the newest seal's d=, when parsed */
};

struct arc_verify;

/* Find the ARC fields of the header section (LF or CRLF; copied) and
 * check the chain's structure. NULL when out of memory. */
struct arc_verify *arc_verify_new(const char *hdr, size_t len);
/* The keys to look up (distinct names; 0 when the result is known). */
size_t arc_verify_lookups(const struct arc_verify *v);
const char *arc_verify_key_name(const struct arc_verify *v, size_t k);
/* The answer for key k, as dkim_verify_key takes it. */
void arc_verify_key(struct arc_verify *v, size_t k, enum dkim_lookup what,
		    const char *const *txt, size_t n);
/* The same with a key parsed before (its pkey is shared, not taken). */
void arc_verify_key_parsed(struct arc_verify *v, size_t k,
			   const struct dkim_key *key);
/* The body (after the empty line), in pieces of any size. */
void arc_verify_body(struct arc_verify *v, const char *p, size_t n);
void arc_verify_finish(struct arc_verify *v);
const struct arc_verified *arc_verify_result(const struct arc_verify *v);
void arc_verify_free(struct arc_verify **v);

/* "none", "pass", "fail" (RFC 8617 10.1). */
const char *arc_result_name(enum arc_result r);

/* Sealing (RFC 8617 5.1): the three fields of instance i, with key k.
 *
 *   s = arc_seal_new(k, now); arc_seal_body(s, ...)...;
 *   arc_seal_finish(s, hdr, ..., out) */
struct arc_seal;

struct arc_seal *arc_seal_new(const struct dkim_signing_key *k, int64_t now);
void arc_seal_body(struct arc_seal *s, const char *p, size_t n);
/* hdr: the header section the message goes on with (LF line ends, its
 * older ARC Sets in it); instance: the new set's i= (older sets + 1);
 * cv: the chain as validated on receipt (ARC_NONE when instance is 1);
 * authres: the Authentication-Results value the new ARC-Authentication-
 * Results carries (without "i=N;"); h: the fields the ARC-Message-
 * Signature signs, colon-separated, or NULL for those of RFC 6376 5.4.1
 * present in hdr and DKIM-Signature. Appends ARC-Seal, ARC-Message-
 * Signature and ARC-Authentication-Results, in this order and ending with
 * LF, to out, to go on top of the message. 0, or -1 with *error_r. */
int arc_seal_finish(struct arc_seal *s, const char *hdr, size_t hdr_len,
		    unsigned instance, enum arc_result cv, const char *authres,
		    const char *h, struct buf *out, const char **error_r);
void arc_seal_free(struct arc_seal **s);

#endif
