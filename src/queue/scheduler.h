/* scheduler: takes accepted messages from the queue to their mailboxes.
 *
 * It runs on its own event loop thread. Sessions (and start-up recovery)
 * hand it queue ids with scheduler_submit(); it runs deliveries on its own
 * pool, so that slow deliveries never hold up the fsyncs that acceptance
 * waits for. A delivery that fails temporarily is retried after retry_min,
 * doubling up to retry_max, with +-10% jitter so that retries do not come in
 * waves. A message leaves the queue only when every recipient has it. */
#ifndef POSTERN_QUEUE_SCHEDULER_H
#define POSTERN_QUEUE_SCHEDULER_H

#include "lib/config.h"
#include "queue/spool.h"

#include <stdbool.h>

struct scheduler;

/* Start the scheduler thread. NULL on failure. */
struct scheduler *scheduler_start(const struct config *cfg, struct spool *spool);
/* Stop taking work, wait for deliveries under way, join the thread. */
void scheduler_stop(struct scheduler **s);
/* Queue id for delivery (thread-safe). recovering: it was found at start-up,
 * so a copy may already be in a mailbox. */
void scheduler_submit(struct scheduler *s, const char *id, bool recovering);
/* Messages the scheduler holds (deferred or being delivered). */
unsigned scheduler_pending(struct scheduler *s);

#endif
