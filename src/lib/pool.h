/* pool: a fixed set of threads for work that blocks (fsync, file writes,
 * password hashing), so that event loops never do.
 *
 * A job is a function and its argument; it runs on some pool thread, in the
 * order submitted when there are free threads. A job that must report back to
 * an event loop does so itself (see net/inbox.h). */
#ifndef POSTERN_LIB_POOL_H
#define POSTERN_LIB_POOL_H

#include <stddef.h>

struct pool;
typedef void pool_fn(void *arg);

/* Start n threads; NULL on failure. */
struct pool *pool_new(unsigned n);
/* Queue fn(arg). Returns 0, or -1 when out of memory or shutting down. */
int pool_submit(struct pool *p, pool_fn *fn, void *arg);
/* Run every queued job, then stop and join the threads and free the pool. */
void pool_free(struct pool **p);
/* Jobs queued and not yet started. */
size_t pool_backlog(struct pool *p);

#endif
