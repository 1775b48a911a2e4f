/* cache: the last synced state of each folder, shared by every session of
 * the process. Internal to src/store (mailbox.c); thread-safe, as the store
 * runs on pool threads.
 *
 * Why: opening a folder used to lock it and sync it (read its uidlist and
 * modseq file, list cur/ and new/): 10-20 ms for 10,000 messages, on every
 * SELECT, POP3 login and STATUS, although a big folder rarely changes.
 * With the cache, a folder that has not moved costs its stamp (five stat()
 * calls, store/stamp.h), and its sessions share the state (mailbox.c
 * copies it only for a session that changes it).
 *
 * Contract: an entry is (dir, max_messages, stamp, state), the stamp taken
 * with the folder's lock held just before the sync that made the state. It
 * is given only to a caller whose stamp, taken now, store_stamp_unchanged()
 * finds equal: then nothing the sync read has moved since. A stamp is
 * trusted only when every time in it is more than a second old, so a
 * change made in the same clock tick as the last one (session B renaming a
 * file in cur/ while session A's stamp is taken) cannot leave the times as
 * they were; an untrusted stamp is never stored, and storing one drops the
 * folder's entry. A sync that wrote (new UIDs, a repaired uidlist) moved
 * its own stamp: its state is not stored either (mailbox.c compares the
 * stamps before and after). The state served is a read snapshot: whatever
 * writes (flags, expunge, append, copy, keywords, new UIDs) still locks and
 * syncs (store/sync.h), so the cache never hands out a UID.
 *
 * Entries are immutable once made and counted by reference: a holder reads
 * one outside the cache's mutex, and an entry evicted meanwhile is freed by
 * its last release. Bounds: STORE_CACHE_FOLDERS entries and
 * STORE_CACHE_BYTES bytes of state, least recently used dropped first; a
 * state bigger than the byte bound is not kept. */
#ifndef POSTERN_STORE_CACHE_H
#define POSTERN_STORE_CACHE_H

#include "store/stamp.h"
#include "store/sync.h"

#include <stddef.h>

enum {
	STORE_CACHE_FOLDERS = 256,
	STORE_CACHE_BYTES = 64 * 1024 * 1024,
};

struct store_cache_entry;

/* The state of dir (synced with max_messages) valid for stamp now, held
 * until store_cache_release; NULL when there is none. */
const struct store_cache_entry *
store_cache_hold(const char *dir, size_t max_messages,
		 const struct store_stamp *now);
/* The same for the caller whose sync just put dir's entry (stamp: the
 * one it was put with), so that it shares the entry instead of keeping
 * its own copy; not counted as a hit or a miss. */
const struct store_cache_entry *
store_cache_hold_put(const char *dir, size_t max_messages,
		     const struct store_stamp *stamp);
const struct store_state *
store_cache_state(const struct store_cache_entry *e);
void store_cache_release(const struct store_cache_entry **e);

/* Keep a copy of st, synced at stamp, as dir's entry (an untrusted stamp
 * drops the entry instead). Out of memory: nothing kept. */
void store_cache_put(const char *dir, size_t max_messages,
		     const struct store_stamp *stamp,
		     const struct store_state *st);
/* Forget dir's entry (after a write: it no longer matches the disk). */
void store_cache_drop(const char *dir);

/* For tests: change the bounds (0: the default), empty the cache, and
 * read its counters. */
void store_cache_set_limits(size_t folders, size_t bytes);
void store_cache_clear(void);
struct store_cache_stats {
	unsigned long hits, misses, puts;
	size_t entries, bytes;
};
void store_cache_get_stats(struct store_cache_stats *s);

#endif
