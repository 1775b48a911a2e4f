/* lookup: DKIM key answers, with a cache of parsed keys. */
#include "dkim/lookup.h"

#include "mailauth/key.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Parsing an RSA key costs more than checking a signature with it, and
 * the same senders come again and again: parsed keys are kept by their
 * record's exact text (a changed record is another text, so nothing goes
 * stale), in a fixed table where a newcomer takes its slot's place. */
enum { KEY_CACHE_SLOTS = 512 };

struct cached {
	char *text;
	struct dkim_key key;
};

static struct cached cache[KEY_CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const char *text)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *text != '\0'; text++)
		h = (h ^ (unsigned char)*text) * 1099511628211ULL;
	return (size_t)(h % KEY_CACHE_SLOTS);
}

/* A parsed key for text (its pkey a new reference), or false. */
static bool cache_get(const char *text, struct dkim_key *k)
{
	struct cached *c = &cache[slot_of(text)];
	bool hit = false;
	pthread_mutex_lock(&cache_lock);
	if (c->text != NULL && strcmp(c->text, text) == 0 &&
	    (c->key.pkey == NULL || EVP_PKEY_up_ref(c->key.pkey) == 1)) {
		*k = c->key;
		hit = true;
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

static void cache_put(const char *text, const struct dkim_key *k)
{
	struct cached *c = &cache[slot_of(text)];
	char *copy = strdup(text);
	if (copy == NULL || (k->pkey != NULL && EVP_PKEY_up_ref(k->pkey) != 1)) {
		free(copy);
		return;
	}
	pthread_mutex_lock(&cache_lock);
	free(c->text);
	EVP_PKEY_free(c->key.pkey);
	c->text = copy;
	c->key = *k;
	pthread_mutex_unlock(&cache_lock);
}

void dkim_key_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
		free(cache[i].text);
		EVP_PKEY_free(cache[i].key.pkey);
		memset(&cache[i], 0, sizeof(cache[i]));
	}
	pthread_mutex_unlock(&cache_lock);
}

/* Where an answer goes: a DKIM signature or an ARC key. */
struct sink {
	struct dkim_verify *dkim;
	struct arc_verify *arc;
	size_t i;
};

static void give_txt(const struct sink *to, enum dkim_lookup what,
		     const char *const *txt, size_t n)
{
	if (to->dkim != NULL)
		dkim_verify_key(to->dkim, to->i, what, txt, n);
	else
		arc_verify_key(to->arc, to->i, what, txt, n);
}

static void give_parsed(const struct sink *to, const struct dkim_key *k)
{
	if (to->dkim != NULL)
		dkim_verify_key_parsed(to->dkim, to->i, k);
	else
		arc_verify_key_parsed(to->arc, to->i, k);
}

/* The first record that is a usable key, from the cache or parsed (and
 * then kept). false when none is: the verifier then says why. */
static bool known_key(const struct sink *to, const char *const *txt, size_t n)
{
	for (size_t r = 0; r < n; r++) {
		struct dkim_key k;
		const char *why;
		if (!cache_get(txt[r], &k)) {
			if (dkim_key_parse(txt[r], strlen(txt[r]), &k, &why) < 0)
				continue;
			cache_put(txt[r], &k);
		}
		give_parsed(to, &k);
		dkim_key_free(&k);
		return true;
	}
	return false;
}

static void answer(const struct sink *to, const struct dns_answer *a)
{
	if (a->status == DNS_NODATA || a->status == DNS_NXDOMAIN) {
		give_txt(to, DKIM_LOOKUP_NONE, NULL, 0);
		return;
	}
	if (a->status != DNS_OK) {
		give_txt(to, DKIM_LOOKUP_TEMPFAIL, NULL, 0);
		return;
	}
	/* records too long for a key are left out, as are broken ones */
	char *text = malloc(a->n * (DKIM_KEY_RECORD_MAX + 1) + 1);
	const char *txt[DNS_RECORDS_MAX];
	size_t n = 0;
	for (size_t k = 0; text != NULL && k < a->n; k++) {
		char *t = text + n * (DKIM_KEY_RECORD_MAX + 1);
		if (dns_txt_decode(a->data[k], a->len[k], t,
				   DKIM_KEY_RECORD_MAX + 1) == 0)
			txt[n++] = t;
	}
	if (text == NULL)
		give_txt(to, DKIM_LOOKUP_TEMPFAIL, NULL, 0);
	else if (!known_key(to, txt, n))
		give_txt(to, DKIM_LOOKUP_OK, txt, n);
	free(text);
}

void dkim_key_answer(struct dkim_verify *v, size_t i,
		     const struct dns_answer *a)
{
	answer(&(struct sink){.dkim = v, .i = i}, a);
}

void arc_key_answer(struct arc_verify *v, size_t k, const struct dns_answer *a)
{
	answer(&(struct sink){.arc = v, .i = k}, a);
}
