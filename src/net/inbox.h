/* inbox: run a function on another thread's event loop.
 *
 * Each event loop that others must talk to owns an inbox. inbox_post() may be
 * called from any thread; the function runs on the inbox's loop, in the order
 * posted. This is how pool jobs report back and how sessions hand messages to
 * the queue, without sharing structures between loops. */
#ifndef POSTERN_NET_INBOX_H
#define POSTERN_NET_INBOX_H

struct event_base;
struct inbox;
typedef void inbox_fn(void *arg);

struct inbox *inbox_new(struct event_base *base);
/* Frees the inbox; calls still queued are dropped (call at shutdown). */
void inbox_free(struct inbox **ib);
/* Queue fn(arg) to run on the inbox's loop. 0, or -1 when out of memory. */
int inbox_post(struct inbox *ib, inbox_fn *fn, void *arg);

#endif
