/* bodyhash: streaming DKIM body hashes. */
#include "mailauth/bodyhash.h"

#include <string.h>

/* Canonical bytes arrive here; past l= they are counted, not hashed. */
static void hash_bytes(void *arg, const char *p, size_t n)
{
	struct dkim_bodyhash *h = arg;
	if (h->has_l) {
		uint64_t room = h->hashed < h->l ? h->l - h->hashed : 0;
		if (n > room)
			n = (size_t)room;
	}
	h->hashed += n;
	if (h->in_block + n > sizeof(h->block)) {
		(void)EVP_DigestUpdate(h->md, h->block, h->in_block);
		h->in_block = 0;
	}
	if (n >= sizeof(h->block)) {
		(void)EVP_DigestUpdate(h->md, p, n);
		return;
	}
	memcpy(h->block + h->in_block, p, n);
	h->in_block += n;
}

int dkim_bodyhash_init(struct dkim_bodyhash *h, enum canon c, bool has_l,
		       uint64_t l)
{
	memset(h, 0, sizeof(*h));
	h->has_l = has_l;
	h->l = l;
	h->md = EVP_MD_CTX_new();
	if (h->md == NULL || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->md);
		h->md = NULL;
		return -1;
	}
	canon_body_init(&h->canon, c, hash_bytes, h);
	return 0;
}

void dkim_bodyhash_update(struct dkim_bodyhash *h, const char *p, size_t n)
{
	canon_body_update(&h->canon, p, n);
}

void dkim_bodyhash_final(struct dkim_bodyhash *h, unsigned char out[32],
			 uint64_t *total_r)
{
	unsigned len = 0;
	canon_body_final(&h->canon);
	if (h->in_block > 0)
		(void)EVP_DigestUpdate(h->md, h->block, h->in_block);
	h->in_block = 0;
	if (EVP_DigestFinal_ex(h->md, out, &len) != 1 || len != 32)
		memset(out, 0, 32); /* matches no real hash */
	*total_r = h->canon.emitted;
}

void dkim_bodyhash_free(struct dkim_bodyhash *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}
