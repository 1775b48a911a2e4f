/* penalty: per-client failed-login delays in a locked hash table. */
#include "policy/penalty.h"

#include "policy/clientkey.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { BUCKETS = 1024 };

struct entry {
	struct entry *next;
	unsigned char key[CLIENT_KEY_LEN];
	unsigned failures;
	uint64_t last_ms;   /* the last failure */
	uint64_t next_ms;   /* the earliest the next attempt may go */
};

struct penalty {
	pthread_mutex_t mu;
	uint64_t base_ms, max_ms, memory_ms;
	struct entry *buckets[BUCKETS];
};

struct penalty *penalty_new(uint64_t base_ms, uint64_t max_ms,
			    uint64_t memory_ms)
{
	struct penalty *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	p->base_ms = base_ms;
	p->max_ms = max_ms;
	p->memory_ms = memory_ms;
	return p;
}

void penalty_free(struct penalty **pp)
{
	struct penalty *p = *pp;
	if (p == NULL)
		return;
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct entry *e = p->buckets[b], *next; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&p->mu);
	free(p);
	*pp = NULL;
}

static uint64_t delay_of(const struct penalty *p, unsigned failures)
{
	uint64_t d = p->base_ms;
	for (unsigned i = 1; i < failures && d < p->max_ms; i++)
		d *= 2;
	return d < p->max_ms ? d : p->max_ms;
}

/* The entry for sa (created when make), dropping forgotten ones on the way.
 * Lock held. */
static struct entry *find(struct penalty *p, const struct sockaddr *sa,
			  uint64_t now, int make)
{
	unsigned char key[CLIENT_KEY_LEN];
	client_key(sa, key);
	struct entry **pp = &p->buckets[client_key_hash(key) % BUCKETS];
	while (*pp != NULL) {
		struct entry *e = *pp;
		if (now - e->last_ms > p->memory_ms) {
			*pp = e->next;
			free(e);
			continue;
		}
		if (memcmp(e->key, key, CLIENT_KEY_LEN) == 0)
			return e;
		pp = &e->next;
	}
	if (!make || (*pp = calloc(1, sizeof(**pp))) == NULL)
		return NULL;
	memcpy((*pp)->key, key, CLIENT_KEY_LEN);
	return *pp;
}

uint64_t penalty_wait(struct penalty *p, const struct sockaddr *sa,
		      uint64_t now_ms)
{
	pthread_mutex_lock(&p->mu);
	struct entry *e = find(p, sa, now_ms, 0);
	uint64_t wait = 0;
	if (e != NULL && e->failures > 0) {
		uint64_t slot = e->next_ms > now_ms ? e->next_ms : now_ms;
		e->next_ms = slot + delay_of(p, e->failures);
		wait = slot - now_ms;
	}
	pthread_mutex_unlock(&p->mu);
	return wait;
}

uint64_t penalty_fail(struct penalty *p, const struct sockaddr *sa,
		      uint64_t now_ms)
{
	pthread_mutex_lock(&p->mu);
	struct entry *e = find(p, sa, now_ms, 1);
	uint64_t d = p->base_ms;
	if (e != NULL) {
		e->failures++;
		e->last_ms = now_ms;
		d = delay_of(p, e->failures);
		if (e->next_ms < now_ms + d)
			e->next_ms = now_ms + d;
	}
	pthread_mutex_unlock(&p->mu);
	return d;
}
