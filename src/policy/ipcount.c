/* ipcount: per-client connection counts in a locked hash table. */
#include "policy/ipcount.h"

#include "policy/clientkey.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { BUCKETS = 4096, KEY_LEN = CLIENT_KEY_LEN };

struct entry {
	struct entry *next;
	unsigned char key[KEY_LEN]; /* family byte + 4 (v4) or 8 (/64) bytes */
	unsigned count;
};

struct ipcount {
	pthread_mutex_t mu;
	struct entry *buckets[BUCKETS];
};

static unsigned bucket_of(const unsigned char key[KEY_LEN])
{
	return client_key_hash(key) % BUCKETS;
}

struct ipcount *ipcount_new(void)
{
	struct ipcount *ic = calloc(1, sizeof(*ic));
	if (ic != NULL)
		pthread_mutex_init(&ic->mu, NULL);
	return ic;
}

void ipcount_free(struct ipcount **icp)
{
	struct ipcount *ic = *icp;
	if (ic == NULL)
		return;
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct entry *e = ic->buckets[b], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&ic->mu);
	free(ic);
	*icp = NULL;
}

static struct entry **find(struct ipcount *ic, const unsigned char *key)
{
	struct entry **pp = &ic->buckets[bucket_of(key)];
	while (*pp != NULL && memcmp((*pp)->key, key, KEY_LEN) != 0)
		pp = &(*pp)->next;
	return pp;
}

bool ipcount_acquire(struct ipcount *ic, const struct sockaddr *sa,
		     unsigned limit)
{
	unsigned char key[KEY_LEN];
	client_key(sa, key);
	bool ok = false;
	pthread_mutex_lock(&ic->mu);
	struct entry **pp = find(ic, key);
	if (*pp == NULL) {
		struct entry *e = calloc(1, sizeof(*e));
		if (e != NULL) {
			memcpy(e->key, key, KEY_LEN);
			*pp = e;
		}
	}
	if (*pp != NULL && (*pp)->count < limit) {
		(*pp)->count++;
		ok = true;
	} else if (*pp != NULL && (*pp)->count == 0) {
		struct entry *e = *pp;
		*pp = e->next;
		free(e);
	}
	pthread_mutex_unlock(&ic->mu);
	return ok;
}

void ipcount_release(struct ipcount *ic, const struct sockaddr *sa)
{
	unsigned char key[KEY_LEN];
	client_key(sa, key);
	pthread_mutex_lock(&ic->mu);
	struct entry **pp = find(ic, key);
	struct entry *e = *pp;
	if (e != NULL && --e->count == 0) {
		*pp = e->next;
		free(e);
	}
	pthread_mutex_unlock(&ic->mu);
}
