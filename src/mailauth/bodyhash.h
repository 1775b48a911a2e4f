/* bodyhash: the body hash of a DKIM signature (RFC 6376 3.7, bh=): SHA-256
 * over the canonical body, or over its first l= bytes. Streaming: the body
 * is fed in pieces as it is read, never held whole. */
#ifndef POSTERN_MAILAUTH_BODYHASH_H
#define POSTERN_MAILAUTH_BODYHASH_H

#include "mailauth/canon.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

enum { DKIM_BODYHASH_BLOCK = 16 * 1024 };

struct dkim_bodyhash {
	struct canon_body canon;
	EVP_MD_CTX *md;
	/* canonical bytes come a word at a time; hashing them in blocks is
	 * several times faster */
	char block[DKIM_BODYHASH_BLOCK];
	size_t in_block;
	bool has_l;
	uint64_t l;       /* canonical bytes to hash, when has_l */
	uint64_t hashed;  /* canonical bytes hashed so far */
};

/* Start a hash over c-canonicalised body bytes; has_l bounds it to l bytes.
 * 0, or -1 when out of memory. */
int dkim_bodyhash_init(struct dkim_bodyhash *h, enum canon c, bool has_l,
		       uint64_t l);
void dkim_bodyhash_update(struct dkim_bodyhash *h, const char *p, size_t n);
/* End the body: out gets the hash, *total_r the length of the whole
 * canonical body (more than l= means unsigned content, RFC 6376 8.2). */
void dkim_bodyhash_final(struct dkim_bodyhash *h, unsigned char out[32],
			 uint64_t *total_r);
void dkim_bodyhash_free(struct dkim_bodyhash *h);

#endif
