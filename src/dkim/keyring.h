/* keyring: the DKIM private keys a running server signs with, loaded from
 * the directory at start and again when `postern dkim` changes them (it
 * says "dkim-reload" on the control socket). Which key signs is decided
 * per message from the keys' times, so a rotation switches over without
 * a reload.
 *
 * Shared by every thread: dkim_keyring_get() hands out a reference to the
 * current set, which stays valid (even across a reload) until
 * dkim_keyring_put(). */
#ifndef POSTERN_DKIM_KEYRING_H
#define POSTERN_DKIM_KEYRING_H

#include "db/directory.h"
#include "mailauth/sign.h"

#include <stddef.h>
#include <stdint.h>

struct dkim_keyring;

/* Load every key from d and make it the current set. 0, or -1 with
 * *error_r (the old set stays). */
int dkim_keyring_reload(struct directory *d, const char **error_r);
struct dkim_keyring *dkim_keyring_get(void);
void dkim_keyring_put(struct dkim_keyring **r);
/* Forget the current set (at shutdown). */
void dkim_keyring_clear(void);

/* The keys that sign domain's mail at now: the newest active key of each
 * algorithm (RSA first), at most DKIM_SIGN_KEYS_MAX, into out (valid while
 * the reference is held). Returns how many (0: domain has no key). */
size_t dkim_keyring_signers(const struct dkim_keyring *r, const char *domain,
			    int64_t now, struct dkim_signing_key *out);
/* Keys loaded, for logs. */
size_t dkim_keyring_size(const struct dkim_keyring *r);

#endif
