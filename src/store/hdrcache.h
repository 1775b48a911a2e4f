/* hdrcache: a process-wide, memory-bounded cache of messages' header
 * blocks, so that a SEARCH, SORT or THREAD on header keys (by any session)
 * does not open and read every message file again.
 *
 * Key: (folder directory, UIDVALIDITY, UID). A Maildir message's bytes
 * never change for a given UIDVALIDITY and UID (IMAP keeps the pair
 * unique for the folder's life, RFC 9051 2.3.1.1), so an entry is never
 * stale: there is nothing to invalidate. An expunged UID's entry wastes
 * its bytes until its folder is evicted; a folder whose UIDVALIDITY
 * changed is dropped whole when it is next asked for.
 *
 * What is kept: the header block as hdrcache_header_end() finds it (up to
 * and with the first empty line), or the whole message when it has no
 * empty line. A block longer than HDRCACHE_ENTRY_MAX is not kept: its
 * reader goes to the file, as without the cache.
 *
 * Memory: every byte the cache allocates (folder records, their UID
 * tables, the arenas holding the blocks) is counted against max_bytes.
 * When an insertion would pass it, whole folders are evicted, least
 * recently asked for first; when only the folder being filled is left
 * (or folders still in use by a reader, which are freed when released),
 * the insertion is refused. Blocks live in one arena per folder, in
 * pieces that never move, so a pointer from hdrcache_lookup() stays valid
 * while the caller holds its folder handle, whatever other threads do.
 *
 * Threads: every call may come from any thread; one mutex guards the
 * cache (each call holds it for a hash probe or a copy of one block). */
#ifndef POSTERN_STORE_HDRCACHE_H
#define POSTERN_STORE_HDRCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	/* longer header blocks are read from the file each time: a header
	 * this long is rare (spam, or a mailing list gone wrong) */
	HDRCACHE_ENTRY_MAX = 64 * 1024,
	HDRCACHE_GUID_MAX = 32, /* the uidlist's GUID (store/uidlist.h) */
};

struct hdrcache;
struct hdrcache_folder;

/* A cache of at most max_bytes (> 0); NULL when out of memory. */
struct hdrcache *hdrcache_new(size_t max_bytes);
/* Free the cache; every folder handle must have been released. */
void hdrcache_free(struct hdrcache **c);

/* The cache of folder directory dir at this UIDVALIDITY and uidlist GUID
 * (store_mailbox_guid; "" when none), made when missing, as a handle for lookups and insertions; the folder becomes the
 * most recently used. NULL when out of memory or when even an empty
 * folder record does not fit. */
struct hdrcache_folder *hdrcache_folder_get(struct hdrcache *c,
					    const char *dir,
					    uint32_t uidvalidity,
					    const char *guid);
/* Give the handle back (*f NULL afterwards; NULL is fine). */
void hdrcache_folder_release(struct hdrcache_folder **f);

/* uid's header block: true with *hdr_r and *len_r, valid until the handle
 * is released; false when it is not cached. */
bool hdrcache_lookup(struct hdrcache_folder *f, uint32_t uid,
		     const char **hdr_r, size_t *len_r);
/* Keep a copy of uid's header block. False when it is not kept: longer
 * than HDRCACHE_ENTRY_MAX, no room even after evicting other folders,
 * the folder was evicted meanwhile, or out of memory. A uid already there
 * keeps its first block (the bytes are the same). */
bool hdrcache_insert(struct hdrcache_folder *f, uint32_t uid,
		     const char *hdr, size_t len);

struct hdrcache_stats {
	size_t bytes;     /* counted against the bound now */
	size_t folders;   /* in the cache (not counting evicted, in use) */
	size_t entries;   /* blocks in those folders */
	uint64_t hits, misses, evictions;
};
void hdrcache_stats(struct hdrcache *c, struct hdrcache_stats *st);

/* Where the header block of a message's first n bytes ends: after the
 * first empty line (LF LF or LF CR LF). 0 when these bytes hold none yet.
 * A reader that finds none in the whole message takes all of it. Pure. */
size_t hdrcache_header_end(const char *p, size_t n);

#endif
