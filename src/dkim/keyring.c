/* keyring: the server's DKIM keys in memory. */
#include "dkim/keyring.h"

#include "db/dkim.h"
#include "dkim/keys.h"
#include "lib/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct ring_key {
	struct dir_dkim_key meta; /* private_pem dropped once loaded */
	EVP_PKEY *pkey;
};

struct dkim_keyring {
	atomic_uint refs;
	struct ring_key *keys; /* by domain, then sign_from */
	size_t n, cap;
};

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dkim_keyring *current;

static void ring_free(struct dkim_keyring *r)
{
	for (size_t i = 0; i < r->n; i++)
		EVP_PKEY_free(r->keys[i].pkey);
	free(r->keys);
	free(r);
}

static int add_key(void *arg, const struct dir_dkim_key *k)
{
	struct dkim_keyring *r = arg;
	const char *why;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct ring_key *keys = realloc(r->keys, cap * sizeof(*keys));
		if (keys == NULL)
			return -1;
		r->keys = keys;
		r->cap = cap;
	}
	struct ring_key *rk = &r->keys[r->n];
	rk->meta = *k;
	rk->meta.private_pem = NULL;
	rk->pkey = NULL;
	if (k->retire_at != 0 && k->retire_at <= (int64_t)time(NULL))
		return 0; /* retired: never signs again */
	if (!k->revoked && (rk->pkey = dkim_key_load(k->private_pem, &why)) == NULL) {
		log_error("dkim event=key-unusable domain=%s selector=%s error=\"%s\"",
			  k->domain, k->selector, why);
		return 0; /* skip it; the others still sign */
	}
	r->n++;
	return 0;
}

int dkim_keyring_reload(struct directory *d, const char **error_r)
{
	struct dkim_keyring *r = calloc(1, sizeof(*r));
	if (r == NULL || dir_dkim_list(d, NULL, add_key, r) < 0) {
		*error_r = r == NULL ? "out of memory" : directory_error(d);
		if (r != NULL)
			ring_free(r);
		return -1;
	}
	atomic_init(&r->refs, 1);
	pthread_mutex_lock(&current_lock);
	struct dkim_keyring *old = current;
	current = r;
	pthread_mutex_unlock(&current_lock);
	dkim_keyring_put(&old);
	return 0;
}

struct dkim_keyring *dkim_keyring_get(void)
{
	pthread_mutex_lock(&current_lock);
	struct dkim_keyring *r = current;
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	pthread_mutex_unlock(&current_lock);
	return r;
}

void dkim_keyring_put(struct dkim_keyring **rp)
{
	struct dkim_keyring *r = *rp;
	*rp = NULL;
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1)
		ring_free(r);
}

void dkim_keyring_clear(void)
{
	pthread_mutex_lock(&current_lock);
	struct dkim_keyring *old = current;
	current = NULL;
	pthread_mutex_unlock(&current_lock);
	dkim_keyring_put(&old);
}

size_t dkim_keyring_signers(const struct dkim_keyring *r, const char *domain,
			    int64_t now, struct dkim_signing_key *out)
{
	size_t n = 0, first = r->n, count = 0;
	for (size_t i = 0; i < r->n; i++)
		if (strcasecmp(r->keys[i].meta.domain, domain) == 0) {
			if (first == r->n)
				first = i;
			count++;
		}
	/* the domain's keys are adjacent; copy their metadata for the
	 * state rule, which looks at all of them */
	struct dir_dkim_key *metas = calloc(count ? count : 1, sizeof(*metas));
	if (metas == NULL)
		return 0;
	for (size_t i = 0; i < count; i++)
		metas[i] = r->keys[first + i].meta;
	for (int pass = 0; pass < 2; pass++) /* RSA first, then Ed25519 */
		for (size_t i = 0; i < count && n < DKIM_SIGN_KEYS_MAX; i++) {
			const struct ring_key *k = &r->keys[first + i];
			bool ed = strcmp(k->meta.algo, "ed25519") == 0;
			if (ed != (pass == 1) ||
			    dkim_key_state(metas, count, i, now) != DKIM_KEY_ACTIVE)
				continue;
			out[n++] = (struct dkim_signing_key){
				.alg = ed ? DKIM_ED25519_SHA256 : DKIM_RSA_SHA256,
				.pkey = k->pkey,
				.d = k->meta.domain,
				.s = k->meta.selector,
			};
		}
	free(metas);
	return n;
}

size_t dkim_keyring_size(const struct dkim_keyring *r)
{
	return r != NULL ? r->n : 0;
}
