/* submit: DKIM-signing a submitted message before it is queued (RFC 6376
 * 5, after RFC 6409 8 normalisation): the From domain's active keys sign
 * the header fields it will carry (ours added on top included) and the
 * body, read back from the spool in pieces, never held twice.
 *
 * prepare runs on the session's thread (it copies what it needs), run on
 * a pool thread with the commit. */
#ifndef POSTERN_DKIM_SUBMIT_H
#define POSTERN_DKIM_SUBMIT_H

#include "dkim/keyring.h"
#include "mailauth/sign.h"
#include "queue/spool.h"

#include <stddef.h>
#include <stdint.h>

struct dkim_submit {
	struct dkim_keyring *ring; /* holds the keys alive */
	struct dkim_signing_key keys[DKIM_SIGN_KEYS_MAX];
	size_t n;
	char *hdr; /* the fields the message will carry, LF line ends */
	size_t hdr_len;
	uint64_t skip; /* bytes of the stored copy before the body */
	int64_t now, expire;
};

/* Get ready to sign mail From domain: 1 ready, 0 the domain has no active
 * key (nothing to do), -1 out of memory. hdr is the message's header
 * section, prepend the fields we add above it; the body starts skip bytes
 * into the stored copy (after the empty line that may follow). */
int dkim_submit_prepare(struct dkim_submit *ds, const char *domain,
			const char *prepend, size_t prepend_len,
			const char *hdr, size_t hdr_len, uint64_t skip,
			int64_t now, int64_t expire);
/* Sign msg and add the signatures to its prepended fields. 0, or with
 * *error_r -1 (a passing trouble: memory, reading back) or -2 (the message
 * cannot be signed). */
int dkim_submit_run(struct dkim_submit *ds, struct spool_msg *msg,
		    const char **error_r);
void dkim_submit_free(struct dkim_submit *ds);

#endif
