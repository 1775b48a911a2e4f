/* hdrcache: header blocks of messages, per folder (see hdrcache.h).
 *
 * A folder holds an open-addressing table UID -> (pointer, length) and an
 * arena: a list of pieces, each filled from the front and never moved or
 * freed before the folder itself. Folders sit on one list in the order of
 * their last use; eviction takes from its tail. A folder's references:
 * one for being on the list (live), one per handle; it is freed when the
 * count reaches zero, and its bytes leave the count only then. */
#include "store/hdrcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	TABLE_MIN = 64,           /* slots of a new folder's table */
	PIECE_MIN = 16 * 1024,    /* the first arena piece of a folder */
	PIECE_MAX = 1024 * 1024,  /* pieces double up to this */
};
_Static_assert((int)HDRCACHE_ENTRY_MAX <= (int)PIECE_MAX,
	       "a block fits in a piece");

struct slot {
	const char *p; /* NULL: empty */
	uint32_t uid;
	uint32_t len;
};

struct piece {
	struct piece *next;
	size_t used, cap;
	char data[];
};

struct hdrcache_folder {
	struct hdrcache *c;
	struct hdrcache_folder *prev, *next; /* the use list, when live */
	char *dir;
	uint32_t uidvalidity;
	char guid[HDRCACHE_GUID_MAX + 1]; /* the uidlist's: with UIDVALIDITY,
					     the folder's identity */
	unsigned refs;
	bool live;
	struct slot *slots;
	size_t n_slots, n_used; /* n_slots a power of two */
	struct piece *pieces;   /* the first is being filled */
	size_t bytes;           /* counted for this folder */
};

struct hdrcache {
	pthread_mutex_t lock;
	size_t max, bytes;
	struct hdrcache_folder *head, *tail; /* most recently used first */
	size_t n_folders;
	uint64_t hits, misses, evictions;
};

size_t hdrcache_header_end(const char *p, size_t n)
{
	const char *end = p + n, *q = p;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (q + 1 < end && q[1] == '\n')
			return (size_t)(q - p) + 2;
		if (q + 2 < end && q[1] == '\r' && q[2] == '\n')
			return (size_t)(q - p) + 3;
		q++;
	}
	return 0;
}

struct hdrcache *hdrcache_new(size_t max_bytes)
{
	struct hdrcache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->max = max_bytes;
	return c;
}

/* ------------------------------------------------------------ folders */

static void unlink_folder(struct hdrcache *c, struct hdrcache_folder *f)
{
	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		c->head = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	else
		c->tail = f->prev;
	f->prev = f->next = NULL;
}

static void push_front(struct hdrcache *c, struct hdrcache_folder *f)
{
	f->prev = NULL;
	f->next = c->head;
	if (c->head != NULL)
		c->head->prev = f;
	c->head = f;
	if (c->tail == NULL)
		c->tail = f;
}

/* Drop one reference, under the lock; the last frees the folder. */
static void unref(struct hdrcache *c, struct hdrcache_folder *f)
{
	if (--f->refs > 0)
		return;
	for (struct piece *p = f->pieces, *next; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	c->bytes -= f->bytes;
	free(f->slots);
	free(f->dir);
	free(f);
}

/* Take f off the use list (no new handle finds it); it goes when its
 * last handle does. */
static void retire(struct hdrcache *c, struct hdrcache_folder *f)
{
	unlink_folder(c, f);
	f->live = false;
	c->n_folders--;
	c->evictions++;
	unref(c, f);
}

/* Room for n more bytes, evicting the least recently used folders other
 * than keep. Under the lock. */
static bool make_room(struct hdrcache *c, size_t n,
		      const struct hdrcache_folder *keep)
{
	struct hdrcache_folder *f = c->tail;
	while (c->bytes + n > c->max && f != NULL) {
		struct hdrcache_folder *prev = f->prev;
		if (f != keep)
			retire(c, f);
		f = prev;
	}
	return c->bytes + n <= c->max;
}

static struct hdrcache_folder *new_folder(struct hdrcache *c,
					  const char *dir, uint32_t uv,
					  const char *guid)
{
	size_t dlen = strlen(dir) + 1;
	size_t need = sizeof(struct hdrcache_folder) + dlen +
		      TABLE_MIN * sizeof(struct slot);
	if (!make_room(c, need, NULL))
		return NULL;
	struct hdrcache_folder *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->dir = malloc(dlen);
	f->slots = calloc(TABLE_MIN, sizeof(*f->slots));
	if (f->dir == NULL || f->slots == NULL) {
		free(f->dir);
		free(f->slots);
		free(f);
		return NULL;
	}
	memcpy(f->dir, dir, dlen);
	f->c = c;
	f->uidvalidity = uv;
	snprintf(f->guid, sizeof(f->guid), "%s", guid);
	f->n_slots = TABLE_MIN;
	f->bytes = need;
	f->refs = 1; /* the list's */
	f->live = true;
	c->bytes += need;
	c->n_folders++;
	push_front(c, f);
	return f;
}

/* The live folder of dir (one whose UIDVALIDITY is not uv, or whose GUID
 * is not guid, is retired: its UIDs name other messages now; the GUID
 * tells apart a folder deleted and made again within the second that
 * could give it the same UIDVALIDITY), or NULL. Linear, but every use moves a
 * folder to the head, so the folders in use sit near it and the scan for
 * them is short; a folder not cached costs one whole scan (a few thousand
 * folders at most fit the bound). */
static struct hdrcache_folder *find_folder(struct hdrcache *c,
					   const char *dir, uint32_t uv,
					   const char *guid)
{
	for (struct hdrcache_folder *f = c->head; f != NULL; f = f->next) {
		if (strcmp(f->dir, dir) != 0)
			continue;
		if (f->uidvalidity == uv && strcmp(f->guid, guid) == 0)
			return f;
		retire(c, f);
		return NULL;
	}
	return NULL;
}

struct hdrcache_folder *hdrcache_folder_get(struct hdrcache *c,
					    const char *dir,
					    uint32_t uidvalidity,
					    const char *guid)
{
	if (strlen(guid) > HDRCACHE_GUID_MAX)
		return NULL;
	pthread_mutex_lock(&c->lock);
	struct hdrcache_folder *f = find_folder(c, dir, uidvalidity, guid);
	if (f != NULL) {
		unlink_folder(c, f);
		push_front(c, f);
	} else {
		f = new_folder(c, dir, uidvalidity, guid);
	}
	if (f != NULL)
		f->refs++;
	pthread_mutex_unlock(&c->lock);
	return f;
}

void hdrcache_folder_release(struct hdrcache_folder **fp)
{
	struct hdrcache_folder *f = *fp;
	if (f == NULL)
		return;
	struct hdrcache *c = f->c;
	pthread_mutex_lock(&c->lock);
	unref(c, f);
	pthread_mutex_unlock(&c->lock);
	*fp = NULL;
}

void hdrcache_free(struct hdrcache **cp)
{
	struct hdrcache *c = *cp;
	if (c == NULL)
		return;
	while (c->head != NULL)
		retire(c, c->head);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

/* ------------------------------------------------------------ entries */

/* UIDs are mostly consecutive. Multiplying by an odd constant is a
 * bijection on the low bits, so consecutive UIDs still land in distinct
 * slots, while a regular stride (every other UID left after expunges)
 * is spread instead of piling up. */
static size_t slot_of(const struct hdrcache_folder *f, uint32_t uid)
{
	return (size_t)((uid * 2654435769u) & (uint32_t)(f->n_slots - 1));
}

static struct slot *probe(struct slot *slots, size_t n_slots, size_t i,
			  uint32_t uid)
{
	while (slots[i].p != NULL && slots[i].uid != uid)
		i = (i + 1) & (n_slots - 1);
	return &slots[i];
}

bool hdrcache_lookup(struct hdrcache_folder *f, uint32_t uid,
		     const char **hdr_r, size_t *len_r)
{
	struct hdrcache *c = f->c;
	pthread_mutex_lock(&c->lock);
	struct slot *s = probe(f->slots, f->n_slots, slot_of(f, uid), uid);
	bool hit = s->p != NULL;
	if (hit) {
		*hdr_r = s->p;
		*len_r = s->len;
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* Double the table when it is half full (probes stay short). */
static bool grow_table(struct hdrcache *c, struct hdrcache_folder *f)
{
	if (f->n_used + 1 <= f->n_slots / 2)
		return true;
	size_t n = f->n_slots * 2, add = f->n_slots * sizeof(struct slot);
	if (!make_room(c, add, f))
		return false;
	struct slot *v = calloc(n, sizeof(*v));
	if (v == NULL)
		return false;
	struct hdrcache_folder tmp = {.n_slots = n};
	for (size_t i = 0; i < f->n_slots; i++)
		if (f->slots[i].p != NULL)
			*probe(v, n, slot_of(&tmp, f->slots[i].uid),
			       f->slots[i].uid) = f->slots[i];
	free(f->slots);
	f->slots = v;
	f->n_slots = n;
	f->bytes += add;
	c->bytes += add;
	return true;
}

/* Where len bytes go in f's arena: the current piece, or a new one twice
 * the size of the last (a small folder stays small). */
static char *arena_take(struct hdrcache *c, struct hdrcache_folder *f,
			size_t len)
{
	struct piece *p = f->pieces;
	if (p != NULL && p->cap - p->used >= len) {
		p->used += len;
		return p->data + p->used - len;
	}
	size_t cap = p == NULL ? PIECE_MIN : p->cap * 2;
	if (cap > PIECE_MAX)
		cap = PIECE_MAX;
	if (cap < len)
		cap = len;
	size_t need = sizeof(*p) + cap;
	if (!make_room(c, need, f) || (p = malloc(need)) == NULL)
		return NULL;
	p->next = f->pieces;
	p->cap = cap;
	p->used = len;
	f->pieces = p;
	f->bytes += need;
	c->bytes += need;
	return p->data;
}

bool hdrcache_insert(struct hdrcache_folder *f, uint32_t uid,
		     const char *hdr, size_t len)
{
	struct hdrcache *c = f->c;
	bool kept = false;
	if (len > HDRCACHE_ENTRY_MAX || uid == 0)
		return false;
	pthread_mutex_lock(&c->lock);
	struct slot *s = probe(f->slots, f->n_slots, slot_of(f, uid), uid);
	if (s->p != NULL) {
		kept = true;
	} else if (f->live && grow_table(c, f)) {
		/* an empty block still needs a non-NULL pointer */
		char *p = arena_take(c, f, len > 0 ? len : 1);
		if (p != NULL) {
			memcpy(p, hdr, len);
			s = probe(f->slots, f->n_slots, slot_of(f, uid), uid);
			*s = (struct slot){.p = p, .uid = uid,
					   .len = (uint32_t)len};
			f->n_used++;
			kept = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return kept;
}

void hdrcache_stats(struct hdrcache *c, struct hdrcache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	memset(st, 0, sizeof(*st));
	st->bytes = c->bytes;
	st->folders = c->n_folders;
	for (struct hdrcache_folder *f = c->head; f != NULL; f = f->next)
		st->entries += f->n_used;
	st->hits = c->hits;
	st->misses = c->misses;
	st->evictions = c->evictions;
	pthread_mutex_unlock(&c->lock);
}
