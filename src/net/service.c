/* service: worker threads, accepting, connection caps, hand-off to the
 * protocol, reaping and the drain at shutdown (see service.h). */
#include "net/service.h"

#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/util.h"
#include "net/inbox.h"
#include "policy/ipcount.h"

#include <assert.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	ACCEPT_BATCH = 32, /* per wake-up: the loop's other work goes on */
	STOP_WAIT_S = 10,  /* for the workers to drain at shutdown */
	REFUSE_LINE_MAX = 128,
	DRAIN_CHECK_US = 50000,
};

struct service {
	struct service_ops ops;
	const struct listen_socket *socks;
	size_t n_socks;
	struct ipcount *ipcount;
	atomic_uint connections;
	atomic_bool stopping;
	struct service_worker *workers;
	unsigned n_workers;
};

struct accept_ctx {
	struct service_worker *w;
	const struct listen_socket *ls;
};

/* Over a cap: a line where the client can read it (not on implicit TLS,
 * where it would be noise), then close. */
static void refuse(const struct service *svc, int fd,
		   const struct listen_socket *ls, const char *why)
{
	if (ls->cfg->tls != LISTENER_TLS_IMPLICIT) {
		char line[REFUSE_LINE_MAX];
		int n = snprintf(line, sizeof(line), "%s%s\r\n",
				 svc->ops.refuse_prefix, why);
		if (n > 0 && (size_t)n < sizeof(line) &&
		    send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) <
			    0) {
			/* nothing to do: the client goes away either way */
		}
	}
	close(fd);
}

/* Take the caps for one connection from peer: false (logged) when over. */
static bool take_caps(struct service *svc, const struct sockaddr *peer,
		      const char **why_r)
{
	const char *reason = NULL;
	unsigned before = atomic_fetch_add(&svc->connections, 1);
	if (before >= svc->ops.max_connections) {
		reason = "max-connections";
		*why_r = "Too many connections, try again later";
	} else if (!ipcount_acquire(svc->ipcount, peer,
				    svc->ops.max_connections_per_ip)) {
		reason = "max-connections-per-ip";
		*why_r = "Too many connections from your address";
	}
	if (reason == NULL)
		return true;
	atomic_fetch_sub(&svc->connections, 1);
	char ip[NETADDR_TEXT_MAX];
	netaddr_ip(peer, ip);
	log_warn("%s event=refused ip=%s reason=%s", svc->ops.name, ip, reason);
	return false;
}

static void give_caps(struct service *svc, const struct sockaddr *peer)
{
	ipcount_release(svc->ipcount, peer);
	atomic_fetch_sub(&svc->connections, 1);
}

static void admit(struct service_worker *w, const struct listen_socket *ls,
		  int fd, const struct sockaddr *peer)
{
	struct service *svc = w->svc;
	const char *why;
	if (!take_caps(svc, peer, &why)) {
		refuse(svc, fd, ls, why);
		return;
	}
	int on = 1; /* replies are batched by us; Nagle would only delay them */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (!svc->ops.start(w, fd, peer, ls))
		give_caps(svc, peer);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct accept_ctx *ac = arg;
	struct service *svc = ac->w->svc;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_error("%s event=accept-failed error=\"%s\"",
					  svc->ops.name, strerror(errno));
			return; /* EAGAIN: another worker took it */
		}
		if (atomic_load(&svc->stopping)) {
			close(fd);
			continue;
		}
		admit(ac->w, ac->ls, fd, (struct sockaddr *)&ss);
	}
}

static void *worker_thread(void *arg)
{
	struct service_worker *w = arg;
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ------------------------------------------------------------ sessions */

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct service_conn *c = arg;
	c->w->svc->ops.reap(c->session);
}

int service_conn_attach(struct service_worker *w, struct service_conn *c,
			const struct sockaddr *peer, void *session)
{
	c->reap_ev = NULL;
	if (w->svc->ops.reap != NULL &&
	    (c->reap_ev = evtimer_new(w->base, on_reap, c)) == NULL)
		return -1;
	c->w = w;
	c->session = session;
	memcpy(&c->peer, peer, peer->sa_family == AF_INET6
				       ? sizeof(struct sockaddr_in6)
				       : sizeof(struct sockaddr_in));
	c->prev = NULL;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	return 0;
}

void service_conn_detach(struct service_conn *c)
{
	struct service_worker *w = c->w;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->n_conns--;
	if (c->reap_ev != NULL)
		event_free(c->reap_ev); /* a reap still pending goes with it */
	c->reap_ev = NULL;
	give_caps(w->svc, (struct sockaddr *)&c->peer);
}

void service_reap(struct service_conn *c)
{
	assert(c->reap_ev != NULL); /* the protocol has ops->reap */
	event_active(c->reap_ev, EV_TIMEOUT, 0);
}

void service_session_id(char id[SERVICE_ID_LEN + 1])
{
	unsigned char rnd[SERVICE_ID_LEN / 2];
	random_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
}

/* ------------------------------------------------------------ stop */

static void check_drained(evutil_socket_t fd, short what, void *arg)
{
	struct service_worker *w = arg;
	if (w->n_conns == 0)
		event_base_loopbreak(w->base);
}

/* On the worker: stop accepting, wind every session down, and end the
 * loop once the last is gone. */
static void worker_stop(void *arg)
{
	struct service_worker *w = arg;
	struct service *svc = w->svc;
	w->stopping = true;
	for (size_t i = 0; i < svc->n_socks; i++)
		event_del(w->accept_ev[i]);
	/* stop_session may free the session it is given, never another */
	for (struct service_conn *c = w->conns, *next; c != NULL; c = next) {
		next = c->next;
		svc->ops.stop_session(c->session);
	}
	struct timeval tv = {.tv_usec = DRAIN_CHECK_US};
	w->drain_ev = event_new(w->base, -1, EV_PERSIST, check_drained, w);
	if (w->drain_ev != NULL)
		event_add(w->drain_ev, &tv);
	check_drained(-1, 0, w);
}

/* ------------------------------------------------------------ life */

static int watch_sockets(struct service *svc, struct service_worker *w)
{
	w->accept_ev = calloc(svc->n_socks, sizeof(*w->accept_ev));
	if (w->accept_ev == NULL)
		return -1;
	for (size_t i = 0; i < svc->n_socks; i++) {
		struct accept_ctx *ac = malloc(sizeof(*ac));
		if (ac == NULL)
			return -1;
		ac->w = w;
		ac->ls = &svc->socks[i];
		w->accept_ev[i] = event_new(w->base, svc->socks[i].fd,
					    EV_READ | EV_PERSIST, on_accept,
					    ac);
		if (w->accept_ev[i] == NULL) {
			free(ac);
			return -1;
		}
		event_add(w->accept_ev[i], NULL);
	}
	return 0;
}

static int worker_init(struct service *svc, struct service_worker *w)
{
	w->svc = svc;
	w->server = svc->ops.server;
	w->base = event_base_new();
	if (w->base == NULL || (w->inbox = inbox_new(w->base)) == NULL)
		return -1;
	if (svc->ops.worker_init != NULL && svc->ops.worker_init(w) < 0)
		return -1;
	return watch_sockets(svc, w);
}

static void worker_free(struct service *svc, struct service_worker *w)
{
	for (size_t i = 0; w->accept_ev != NULL && i < svc->n_socks; i++) {
		if (w->accept_ev[i] == NULL)
			continue;
		free(event_get_callback_arg(w->accept_ev[i]));
		event_free(w->accept_ev[i]);
	}
	free(w->accept_ev);
	if (w->drain_ev != NULL)
		event_free(w->drain_ev);
	if (svc->ops.worker_free != NULL && w->base != NULL)
		svc->ops.worker_free(w);
	inbox_free(&w->inbox);
	if (w->base != NULL)
		event_base_free(w->base);
}

unsigned service_worker_count(int configured)
{
	if (configured > 0)
		return (unsigned)configured;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

struct service *service_start(const struct service_ops *ops,
			      const struct listen_socket *socks, size_t n_socks,
			      unsigned n_workers)
{
	struct service *svc = calloc(1, sizeof(*svc));
	if (svc == NULL)
		goto fail;
	svc->ops = *ops;
	svc->socks = socks;
	svc->n_socks = n_socks;
	svc->n_workers = n_workers;
	svc->ipcount = ipcount_new();
	svc->workers = calloc(n_workers, sizeof(*svc->workers));
	if (svc->ipcount == NULL || svc->workers == NULL)
		goto fail;
	for (unsigned i = 0; i < n_workers; i++)
		if (worker_init(svc, &svc->workers[i]) < 0)
			goto fail;
	for (unsigned i = 0; i < n_workers; i++)
		if (pthread_create(&svc->workers[i].thread, NULL, worker_thread,
				   &svc->workers[i]) != 0)
			goto fail; /* (cannot happen short of exhaustion) */
	return svc;
fail:
	log_error("%s event=start-failed", ops->name);
	return NULL; /* threads may be running: the caller exits */
}

bool service_stopping(const struct service *svc)
{
	return atomic_load(&svc->stopping);
}

bool service_stop(struct service *svc)
{
	atomic_store(&svc->stopping, true);
	for (unsigned i = 0; i < svc->n_workers; i++) {
		struct service_worker *w = &svc->workers[i];
		inbox_post(w->inbox, worker_stop, w);
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_WAIT_S;
	for (unsigned i = 0; i < svc->n_workers; i++)
		if (pthread_timedjoin_np(svc->workers[i].thread, NULL,
					 &deadline) != 0) {
			/* a client that does not read its last reply: leave it
			 * to exit() */
			log_warn("%s event=stop-timeout", svc->ops.name);
			return false;
		}
	return true;
}

void service_free(struct service **svcp)
{
	struct service *svc = *svcp;
	if (svc == NULL)
		return;
	for (unsigned i = 0; svc->workers != NULL && i < svc->n_workers; i++)
		worker_free(svc, &svc->workers[i]);
	free(svc->workers);
	ipcount_free(&svc->ipcount);
	free(svc);
	*svcp = NULL;
}
