/* dkim: the DKIM keys of our domains, in the directory (table dkim_keys).
 *
 * A key's life is written as times, so that it moves on without anyone
 * acting (RFC 6376 3.6.2.1 wants a new selector published before it
 * signs, and an old one kept while its signatures can still be checked):
 *
 *   sign_from  it may sign from then on; of a domain's keys of one
 *              algorithm the newest whose time has come signs
 *   retire_at  (0: never) from then on it is neither used nor published
 *   revoked    published with an empty p= (RFC 6376 3.6.1), never used
 *
 * The private key is PKCS#8 PEM text, as readable as the database is: by
 * the server user only. */
#ifndef POSTERN_DB_DKIM_H
#define POSTERN_DB_DKIM_H

#include "db/directory.h"

#include <stdbool.h>
#include <stdint.h>

enum { DIR_SELECTOR_MAX = 63 };

struct dir_dkim_key {
	char domain[DIR_ADDRESS_MAX + 1];
	char selector[DIR_SELECTOR_MAX + 1];
	char algo[8]; /* "rsa" or "ed25519" */
	char *private_pem; /* wiped and freed by dir_dkim_key_clear */
	int64_t created, sign_from, retire_at;
	bool revoked;
};

void dir_dkim_key_clear(struct dir_dkim_key *k);

/* 0 added, 1 the selector exists for the domain, -1 error. */
int dir_dkim_add(struct directory *d, const struct dir_dkim_key *k);
/* Each key of domain (every key when NULL), by domain, then sign_from
 * and selector; fn's k is valid during the call. Listing stops when fn
 * returns non-0. */
typedef int dir_dkim_fn(void *arg, const struct dir_dkim_key *k);
int dir_dkim_list(struct directory *d, const char *domain, dir_dkim_fn *fn,
		  void *arg);
/* 0 done, 1 no such key, -1 error. */
int dir_dkim_set_retire(struct directory *d, const char *domain,
			const char *selector, int64_t when);
int dir_dkim_revoke(struct directory *d, const char *domain,
		    const char *selector);
int dir_dkim_delete(struct directory *d, const char *domain,
		    const char *selector);

#endif
