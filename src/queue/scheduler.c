/* scheduler: delivery attempts and retries. */
#include "queue/scheduler.h"

#include "db/directory.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "net/inbox.h"
#include "queue/local.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct qentry {
	struct qentry *next, *prev;
	struct scheduler *sched;
	char id[QUEUE_ID_LEN + 1];
	bool recovering;
	bool busy;          /* a delivery attempt is running */
	unsigned attempts;
	uint64_t first_ms;  /* when the scheduler got it, for delay= */
	unsigned char *done; /* per recipient: delivered */
	size_t n_rcpts;
	struct event *retry;
};

struct scheduler {
	const struct config *cfg;
	struct spool *spool;
	struct local_ctx local;
	struct event_base *base;
	struct inbox *inbox;
	struct pool *pool;
	pthread_t thread;
	struct qentry *entries; /* every message held */
	atomic_uint pending;
	atomic_bool stopping;
	unsigned running; /* attempts under way */
};

/* What a delivery attempt reports back to the scheduler thread. */
struct attempt {
	struct qentry *e;
	unsigned char *done; /* updated copy of e->done */
	size_t n_rcpts;
	bool gone;           /* the file is gone or damaged: forget it */
	bool deferred;
	char why[192];
};

struct submission {
	struct scheduler *sched;
	char id[QUEUE_ID_LEN + 1];
	bool recovering;
};

static void start_attempt(struct qentry *e);

static void entry_free(struct scheduler *s, struct qentry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->entries = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	if (e->retry != NULL)
		event_free(e->retry);
	free(e->done);
	free(e);
	atomic_fetch_sub(&s->pending, 1);
}

/* retry_min * 2^(attempts-1), at most retry_max, +-10% jitter */
static uint64_t retry_delay_ms(const struct config *cfg, unsigned attempts)
{
	uint64_t d = cfg->queue_retry_min_ms;
	for (unsigned i = 1; i < attempts && d < cfg->queue_retry_max_ms; i++)
		d *= 2;
	if (d > cfg->queue_retry_max_ms)
		d = cfg->queue_retry_max_ms;
	uint64_t spread = d / 10;
	if (spread > 0)
		d = d - spread + random_below((uint32_t)(2 * spread < UINT32_MAX
								 ? 2 * spread
								 : UINT32_MAX));
	return d;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	start_attempt(arg);
}

/* ------------------------------------------------------------ attempts */

static void attempt_done(void *arg);

static void log_delivered(const struct queued *q, size_t i, unsigned attempt)
{
	log_info("queue=%s event=delivered rcpt=<%s> mailbox=%s attempt=%u",
		 q->env.id, q->env.rcpts[i].orig, q->env.rcpts[i].mailbox,
		 attempt);
}

/* Read the queue file for an attempt. false when there is nothing to
 * deliver now (gone, damaged, unreadable: a->gone / a->deferred say which). */
static bool load_for_attempt(struct attempt *a, struct queued *q)
{
	struct qentry *e = a->e;
	struct scheduler *s = e->sched;
	const char *why;
	if (atomic_load(&s->stopping)) {
		a->deferred = true; /* shutting down: it stays in the queue */
		return false;
	}
	if (spool_load(s->spool, e->id, q, &why) == 0)
		return true;
	if (errno == EBADMSG) {
		log_error("queue=%s event=corrupt action=moved-to-corrupt "
			  "error=\"%s\"", e->id, why);
		spool_quarantine(s->spool, e->id);
		a->gone = true;
	} else if (errno == ENOENT) {
		a->gone = true;
	} else {
		log_error("queue=%s event=read-failed error=\"%s\"", e->id, why);
		snprintf(a->why, sizeof(a->why), "%s", why);
		a->deferred = true; /* keep it; try again later */
	}
	return false;
}

/* Deliver every recipient not yet done; true when all now are. */
static bool deliver_all(struct attempt *a, const struct queued *q)
{
	struct qentry *e = a->e;
	bool all = true;
	for (size_t i = 0; i < a->n_rcpts; i++) {
		if (a->done[i])
			continue;
		if (q->env.rcpts[i].mailbox[0] == '\0') {
			/* a remote recipient: it waits for outbound delivery */
			all = false;
			snprintf(a->why, sizeof(a->why),
				 "no outbound delivery yet: it waits in the queue");
			log_info("queue=%s event=deferred rcpt=<%s> reason=\"%s\"",
				 q->env.id, q->env.rcpts[i].orig, a->why);
			continue;
		}
		enum store_result r = local_deliver(&e->sched->local, q, i,
						    e->recovering, a->why,
						    sizeof(a->why));
		if (r == STORE_OK) {
			a->done[i] = 1;
			log_delivered(q, i, e->attempts + 1);
			continue;
		}
		all = false;
		log_warn("queue=%s event=deferred rcpt=<%s> mailbox=%s "
			 "reason=\"%s\" attempt=%u",
			 q->env.id, q->env.rcpts[i].orig, q->env.rcpts[i].mailbox,
			 a->why, e->attempts + 1);
	}
	return all;
}

static void dequeue(struct qentry *e)
{
	if (spool_remove(e->sched->spool, e->id) < 0 && errno != ENOENT)
		log_error("queue=%s event=remove-failed error=\"%s\"", e->id,
			  strerror(errno));
	else
		log_info("queue=%s event=removed delay=%.3fs", e->id,
			 (double)(monotonic_ms() - e->first_ms) / 1000.0);
}

/* Runs on a delivery pool thread. */
static void attempt_job(void *arg)
{
	struct attempt *a = arg;
	struct qentry *e = a->e;
	struct queued q;
	if (load_for_attempt(a, &q)) {
		a->n_rcpts = q.env.n_rcpts;
		a->done = calloc(a->n_rcpts, 1);
		if (a->done == NULL) {
			a->deferred = true;
			snprintf(a->why, sizeof(a->why), "out of memory");
		} else {
			if (e->done != NULL && e->n_rcpts == a->n_rcpts)
				memcpy(a->done, e->done, a->n_rcpts);
			a->deferred = !deliver_all(a, &q);
			if (!a->deferred)
				dequeue(e);
		}
		queued_free(&q);
	}
	if (inbox_post(e->sched->inbox, attempt_done, a) < 0)
		abort(); /* cannot report back: nothing safe is left to do */
}

static void start_attempt(struct qentry *e)
{
	struct scheduler *s = e->sched;
	if (e->busy || atomic_load(&s->stopping))
		return;
	struct attempt *a = calloc(1, sizeof(*a));
	if (a != NULL) {
		a->e = e;
		e->busy = true; /* from here the pool thread may read e */
		s->running++;
	}
	if (a == NULL || pool_submit(s->pool, attempt_job, a) < 0) {
		if (a != NULL) {
			e->busy = false;
			s->running--;
		}
		free(a);
		struct timeval tv = {.tv_sec = 1};
		evtimer_add(e->retry, &tv); /* try again in a moment */
	}
}

/* Back on the scheduler thread: record the outcome, retry or forget. */
static void attempt_done(void *arg)
{
	struct attempt *a = arg;
	struct qentry *e = a->e;
	struct scheduler *s = e->sched;
	e->busy = false;
	s->running--;
	if (a->done != NULL) {
		free(e->done);
		e->done = a->done;
		e->n_rcpts = a->n_rcpts;
	}
	if (a->gone || !a->deferred) {
		entry_free(s, e);
		free(a);
		return;
	}
	e->attempts++;
	e->recovering = false; /* e->done now says what was delivered */
	uint64_t ms = retry_delay_ms(s->cfg, e->attempts);
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	if (atomic_load(&s->stopping)) {
		free(a);
		return;
	}
	evtimer_add(e->retry, &tv);
	log_info("queue=%s event=retry-scheduled attempt=%u retry_in=%.1fs",
		 e->id, e->attempts, (double)ms / 1000.0);
	free(a);
}

/* ------------------------------------------------------------ thread */

static void on_submit(void *arg)
{
	struct submission *sub = arg;
	struct scheduler *s = sub->sched;
	struct qentry *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		log_error("queue=%s event=schedule-failed error=\"out of memory\" "
			  "note=\"delivered after the next restart\"", sub->id);
		free(sub);
		return;
	}
	e->sched = s;
	memcpy(e->id, sub->id, sizeof(e->id));
	e->recovering = sub->recovering;
	e->first_ms = monotonic_ms();
	e->retry = evtimer_new(s->base, on_retry, e);
	e->next = s->entries;
	if (s->entries != NULL)
		s->entries->prev = e;
	s->entries = e;
	free(sub);
	start_attempt(e);
}

void scheduler_submit(struct scheduler *s, const char *id, bool recovering)
{
	struct submission *sub = malloc(sizeof(*sub));
	if (sub == NULL) {
		log_error("queue=%s event=schedule-failed error=\"out of memory\" "
			  "note=\"delivered after the next restart\"", id);
		return;
	}
	sub->sched = s;
	snprintf(sub->id, sizeof(sub->id), "%s", id);
	sub->recovering = recovering;
	atomic_fetch_add(&s->pending, 1);
	if (inbox_post(s->inbox, on_submit, sub) < 0) {
		atomic_fetch_sub(&s->pending, 1);
		free(sub);
	}
}

unsigned scheduler_pending(struct scheduler *s)
{
	return atomic_load(&s->pending);
}

static void *scheduler_thread(void *arg)
{
	struct scheduler *s = arg;
	event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

struct scheduler *scheduler_start(const struct config *cfg, struct spool *spool)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->spool = spool;
	s->local.data_dir = cfg->data_dir;
	s->local.hostname = cfg->hostname;
	s->base = event_base_new();
	s->inbox = s->base != NULL ? inbox_new(s->base) : NULL;
	s->pool = pool_new((unsigned)cfg->io_threads);
	if (s->inbox == NULL || s->pool == NULL)
		goto fail;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, scheduler_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail;
	return s;
fail:
	pool_free(&s->pool);
	inbox_free(&s->inbox);
	if (s->base != NULL)
		event_base_free(s->base);
	free(s);
	return NULL;
}

static void on_stop(void *arg)
{
	struct scheduler *s = arg;
	event_base_loopbreak(s->base);
}

void scheduler_stop(struct scheduler **sp)
{
	struct scheduler *s = *sp;
	if (s == NULL)
		return;
	atomic_store(&s->stopping, true);
	inbox_post(s->inbox, on_stop, s);
	pthread_join(s->thread, NULL);
	/* attempts under way finish; queued ones see stopping and skip */
	pool_free(&s->pool);
	/* collect their reports on this thread now that the loop is ours */
	event_base_loop(s->base, EVLOOP_NONBLOCK);
	while (s->entries != NULL)
		entry_free(s, s->entries);
	inbox_free(&s->inbox);
	event_base_free(s->base);
	free(s);
	*sp = NULL;
}
