/* cache: the process's shared folder states (see store/cache.h). One mutex
 * guards the list; a state is copied in and out outside it. */
#include "store/cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct store_cache_entry {
	struct store_cache_entry *prev, *next; /* head: most recently used */
	unsigned refs; /* holders; being on the list is not counted */
	bool linked;   /* on the list (else freed by the last release) */
	size_t max_messages, bytes;
	struct store_stamp stamp; /* trusted */
	struct store_state st;
	char dir[];
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct store_cache_entry *head, *tail;
static size_t n_entries, n_bytes;
static size_t max_folders = STORE_CACHE_FOLDERS, max_bytes = STORE_CACHE_BYTES;
static unsigned long n_hits, n_misses, n_puts;

static void entry_free(struct store_cache_entry *e)
{
	store_state_free(&e->st);
	free(e);
}

/* What an entry costs, for the byte bound. */
static size_t entry_bytes(const struct store_state *st, size_t dir_len)
{
	size_t b = sizeof(struct store_cache_entry) + dir_len + 1 +
		   st->n * sizeof(*st->recs) + st->names.len + 1;
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (st->keywords[i] != NULL)
			b += strlen(st->keywords[i]) + 1;
	return b;
}

/* With the mutex held, as every function below. */
static struct store_cache_entry *find(const char *dir)
{
	for (struct store_cache_entry *e = head; e != NULL; e = e->next)
		if (strcmp(e->dir, dir) == 0)
			return e;
	return NULL;
}

static void list_remove(struct store_cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		tail = e->prev;
	e->prev = e->next = NULL;
}

static void list_push_front(struct store_cache_entry *e)
{
	e->prev = NULL;
	e->next = head;
	if (head != NULL)
		head->prev = e;
	head = e;
	if (tail == NULL)
		tail = e;
}

/* Off the list; freed now, or by its last holder. */
static void unlink_entry(struct store_cache_entry *e)
{
	list_remove(e);
	e->linked = false;
	n_entries--;
	n_bytes -= e->bytes;
	if (e->refs == 0)
		entry_free(e);
}

static void evict(void)
{
	while (tail != NULL && (n_entries > max_folders || n_bytes > max_bytes))
		unlink_entry(tail);
}

static const struct store_cache_entry *
hold(const char *dir, size_t max_messages, const struct store_stamp *now,
     bool count)
{
	pthread_mutex_lock(&mutex);
	struct store_cache_entry *e = find(dir);
	if (e != NULL && e->max_messages == max_messages &&
	    store_stamp_unchanged(&e->stamp, now)) {
		e->refs++;
		list_remove(e);
		list_push_front(e);
		n_hits += count;
	} else {
		e = NULL;
		n_misses += count;
	}
	pthread_mutex_unlock(&mutex);
	return e;
}

const struct store_cache_entry *
store_cache_hold(const char *dir, size_t max_messages,
		 const struct store_stamp *now)
{
	return hold(dir, max_messages, now, true);
}

const struct store_cache_entry *
store_cache_hold_put(const char *dir, size_t max_messages,
		     const struct store_stamp *stamp)
{
	return hold(dir, max_messages, stamp, false);
}

const struct store_state *store_cache_state(const struct store_cache_entry *e)
{
	return &e->st;
}

void store_cache_release(const struct store_cache_entry **ep)
{
	/* const for the holder, who only reads; the count is the cache's */
	struct store_cache_entry *e = (struct store_cache_entry *)*ep;
	if (e == NULL)
		return;
	pthread_mutex_lock(&mutex);
	e->refs--;
	bool gone = !e->linked && e->refs == 0;
	pthread_mutex_unlock(&mutex);
	if (gone)
		entry_free(e);
	*ep = NULL;
}

void store_cache_drop(const char *dir)
{
	pthread_mutex_lock(&mutex);
	struct store_cache_entry *e = find(dir);
	if (e != NULL)
		unlink_entry(e);
	pthread_mutex_unlock(&mutex);
}

/* Whether dir's entry is already this state: then only its age changes. */
static bool have_same(const char *dir, size_t max_messages,
		      const struct store_stamp *stamp, size_t *limit_r)
{
	pthread_mutex_lock(&mutex);
	struct store_cache_entry *e = find(dir);
	bool same = e != NULL && e->max_messages == max_messages &&
		    store_stamp_unchanged(&e->stamp, stamp);
	if (same) {
		list_remove(e);
		list_push_front(e);
	}
	*limit_r = max_bytes;
	pthread_mutex_unlock(&mutex);
	return same;
}

void store_cache_put(const char *dir, size_t max_messages,
		     const struct store_stamp *stamp,
		     const struct store_state *st)
{
	size_t limit, len = strlen(dir);
	if (!stamp->trusted) {
		store_cache_drop(dir); /* it holds an older state at best */
		return;
	}
	if (have_same(dir, max_messages, stamp, &limit))
		return; /* sessions that missed together: one copy is enough */
	size_t bytes = entry_bytes(st, len);
	struct store_cache_entry *e =
		bytes > limit ? NULL : calloc(1, sizeof(*e) + len + 1);
	if (e == NULL || store_state_copy(&e->st, st) < 0) {
		free(e);
		store_cache_drop(dir);
		return;
	}
	memcpy(e->dir, dir, len + 1);
	e->max_messages = max_messages;
	e->bytes = bytes;
	e->stamp = *stamp;
	e->linked = true;
	pthread_mutex_lock(&mutex);
	struct store_cache_entry *old = find(dir);
	if (old != NULL)
		unlink_entry(old);
	list_push_front(e);
	n_entries++;
	n_bytes += bytes;
	n_puts++;
	evict();
	pthread_mutex_unlock(&mutex);
}

void store_cache_set_limits(size_t folders, size_t bytes)
{
	pthread_mutex_lock(&mutex);
	max_folders = folders ? folders : STORE_CACHE_FOLDERS;
	max_bytes = bytes ? bytes : STORE_CACHE_BYTES;
	evict();
	pthread_mutex_unlock(&mutex);
}

void store_cache_clear(void)
{
	pthread_mutex_lock(&mutex);
	while (head != NULL)
		unlink_entry(head);
	n_hits = n_misses = n_puts = 0;
	pthread_mutex_unlock(&mutex);
}

void store_cache_get_stats(struct store_cache_stats *s)
{
	pthread_mutex_lock(&mutex);
	s->hits = n_hits;
	s->misses = n_misses;
	s->puts = n_puts;
	s->entries = n_entries;
	s->bytes = n_bytes;
	pthread_mutex_unlock(&mutex);
}
