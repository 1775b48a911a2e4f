/* service: the worker threads of one network service (SMTP, IMAP, POP3):
 * each worker runs its own libevent loop and watches every listening socket
 * of the service; a connection is accepted by whichever worker wakes first,
 * checked against the service's connection caps, given TCP_NODELAY, and
 * handed to the protocol on that worker, where its session stays.
 *
 * The protocol supplies a small table of callbacks (struct service_ops):
 * start a session on an accepted socket, wind one down at shutdown, free
 * one that was reaped, and optionally set up and tear down per-worker data.
 * Each session embeds a struct service_conn, its place in its worker's
 * list; the service counts them, so that a stop ends each worker's loop
 * once its last session is gone (the drain).
 *
 * Sessions are freed at a safe point: service_reap() asks for the
 * protocol's reap callback to run from the loop, never inside the call
 * chain that ended the session (Redis's rule: a client is never freed
 * inside its own callback chain).
 *
 * Threads: service_start and service_stop/service_free on the main thread;
 * everything else on the worker that owns the session. */
#ifndef POSTERN_NET_SERVICE_H
#define POSTERN_NET_SERVICE_H

#include "net/listener.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event;
struct event_base;
struct inbox;
struct service;
struct service_conn;
struct service_worker;

enum { SERVICE_ID_LEN = 12 }; /* hex characters of a session id */

struct service_ops {
	const char *name; /* "smtpd": the first word of the service's logs */
	/* What a refused client reads before the close (not on implicit
	 * TLS): this, the reason, CRLF. "421 4.7.0 " for SMTP. */
	const char *refuse_prefix;
	unsigned max_connections;        /* at once, over all workers */
	unsigned max_connections_per_ip; /* see policy/ipcount.h */
	/* Start a session for the accepted, non-blocking socket fd, on w.
	 * false when none could be made: fd is then closed, and the caps
	 * taken for it are given back by the service. */
	bool (*start)(struct service_worker *w, int fd,
		      const struct sockaddr *peer,
		      const struct listen_socket *ls);
	/* At shutdown, on the worker: wind the session down (a last reply,
	 * or a close once its job reports back). */
	void (*stop_session)(void *session);
	/* The session's reap event fired (service_reap): free it if it may
	 * be freed now. Optional for a protocol that never reaps. */
	void (*reap)(void *session);
	/* Optional: per-worker set-up (before the threads start; 0 or -1)
	 * and tear-down (after they stopped, also after a failed set-up). */
	int (*worker_init)(struct service_worker *w);
	void (*worker_free)(struct service_worker *w);
	void *server; /* the protocol's server, as service_worker.server */
};

/* One worker. The public part is read by the protocol on its own worker. */
struct service_worker {
	struct event_base *base;
	struct inbox *inbox; /* how pool jobs report back to this loop */
	void *server;        /* ops->server */
	void *data;          /* the protocol's per-worker data (worker_init) */
	bool stopping;       /* the stop reached this worker */
	/* the service's own */
	struct service *svc;
	struct event **accept_ev; /* one per listening socket */
	struct event *drain_ev;   /* at shutdown: ends the loop when idle */
	pthread_t thread;
	struct service_conn *conns; /* every live session */
	unsigned n_conns;
};

/* A session's place on its worker, embedded in the protocol's session. */
struct service_conn {
	struct service_conn *next, *prev;
	struct service_worker *w;
	struct event *reap_ev;
	struct sockaddr_storage peer; /* counted against the caps */
	void *session;
};

/* The number of workers for a configured count: 0 means one per CPU. */
unsigned service_worker_count(int configured);

/* Set up n_workers workers watching socks (which must outlive the service)
 * and start their threads. NULL on failure (logged); some threads may be
 * running then, so the caller exits. */
struct service *service_start(const struct service_ops *ops,
			      const struct listen_socket *socks, size_t n_socks,
			      unsigned n_workers);
/* Whether service_stop was called: new work should not start. Any thread. */
bool service_stopping(const struct service *svc);
/* Stop accepting, call ops->stop_session on every session and wait (at most
 * a few seconds) for every worker to drain and end. true when all ended;
 * false on the time-out (logged), when sessions may still run: nothing
 * they use may then be freed, and service_free must not be called. */
bool service_stop(struct service *svc);
/* Free the workers and the service, after service_stop returned true. */
void service_free(struct service **svc);

/* Add a session to worker w, for the client peer (the one its caps were
 * taken for), and make its reap event. -1 when out of memory (nothing to
 * undo). */
int service_conn_attach(struct service_worker *w, struct service_conn *c,
			const struct sockaddr *peer, void *session);
/* Take the session off its worker and give its caps back; its pending
 * reap, if any, is dropped. Called as the session is freed. */
void service_conn_detach(struct service_conn *c);
/* Have ops->reap(session) run from the loop, as soon as the current
 * callbacks return. */
void service_reap(struct service_conn *c);

/* A fresh random session id (SERVICE_ID_LEN hex digits) into id. */
void service_session_id(char id[SERVICE_ID_LEN + 1]);

#endif
