/* server: POP3 worker threads, accepting, connection caps, shutdown. The
 * shape is imapd/server.c's; the workers and caps are POP3's own, so that
 * a flood of one protocol's connections cannot take another's. */
#include "pop3d/pop3d.h"

#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ACCEPT_BATCH = 32, STOP_WAIT_S = 10 };

struct accept_ctx {
	struct pop3_worker *w;
	const struct listen_socket *ls;
};

/* Over a cap: -ERR where the client can read it, then close. */
static void refuse(int fd, const struct listen_socket *ls, const char *why)
{
	if (ls->cfg->tls != LISTENER_TLS_IMPLICIT) {
		char line[128];
		int n = snprintf(line, sizeof(line), "-ERR [SYS/TEMP] %s\r\n",
				 why);
		if (n > 0 && (size_t)n < sizeof(line) &&
		    send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* the client goes away either way */
		}
	}
	close(fd);
}

static void admit(struct pop3_worker *w, const struct listen_socket *ls,
		  int fd, struct sockaddr_storage *ss)
{
	struct pop3d *d = w->d;
	const struct config *cfg = d->cfg;
	char ip[NETADDR_TEXT_MAX];
	netaddr_ip((struct sockaddr *)ss, ip);
	if (atomic_fetch_add(&d->connections, 1) >= cfg->pop3_max_connections) {
		atomic_fetch_sub(&d->connections, 1);
		log_warn("pop3d event=refused ip=%s reason=max-connections", ip);
		refuse(fd, ls, "Too many connections, try again later");
		return;
	}
	if (!ipcount_acquire(d->ipcount, (struct sockaddr *)ss,
			     (unsigned)cfg->pop3_max_connections_per_ip)) {
		atomic_fetch_sub(&d->connections, 1);
		log_warn("pop3d event=refused ip=%s reason=max-connections-per-ip",
			 ip);
		refuse(fd, ls, "Too many connections from your address");
		return;
	}
	int on = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (!pop3d_session_start(w, fd, (struct sockaddr *)ss, ls)) {
		ipcount_release(d->ipcount, (struct sockaddr *)ss);
		atomic_fetch_sub(&d->connections, 1);
	}
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct accept_ctx *ac = arg;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_error("pop3d event=accept-failed error=\"%s\"",
					  strerror(errno));
			return;
		}
		if (atomic_load(&ac->w->d->stopping)) {
			close(fd);
			continue;
		}
		admit(ac->w, ac->ls, fd, &ss);
	}
}

static void *worker_thread(void *arg)
{
	struct pop3_worker *w = arg;
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void check_drained(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_worker *w = arg;
	if (w->n_sessions == 0)
		event_base_loopbreak(w->base);
}

/* On the worker: stop accepting; sessions waiting for a command are told
 * and closed (no UPDATE: RFC 1939 6 deletes only on QUIT); the others end
 * as soon as their job reports back. */
static void worker_stop(void *arg)
{
	struct pop3_worker *w = arg;
	w->stopping = true;
	for (size_t i = 0; i < w->d->n_socks; i++)
		event_del(w->accept_ev[i]);
	for (struct pop3_session *s = w->sessions, *next; s != NULL; s = next) {
		next = s->next;
		if (s->phase == PP_COMMAND || s->phase == PP_SASL)
			pop3d_close_with(s, "-ERR [SYS/TEMP] Server shutting "
					    "down");
		else if (s->phase == PP_TLS || s->jobs == 0)
			pop3d_session_end(s, "server shutting down");
	}
	struct timeval tv = {.tv_usec = 50000};
	w->drain_ev = event_new(w->base, -1, EV_PERSIST, check_drained, w);
	if (w->drain_ev != NULL)
		event_add(w->drain_ev, &tv);
	check_drained(-1, 0, w);
}

static int worker_init(struct pop3d *d, struct pop3_worker *w)
{
	w->d = d;
	w->base = event_base_new();
	if (w->base == NULL || (w->inbox = inbox_new(w->base)) == NULL)
		return -1;
	w->accept_ev = calloc(d->n_socks, sizeof(*w->accept_ev));
	if (w->accept_ev == NULL)
		return -1;
	for (size_t i = 0; i < d->n_socks; i++) {
		struct accept_ctx *ac = malloc(sizeof(*ac));
		if (ac == NULL)
			return -1;
		ac->w = w;
		ac->ls = &d->socks[i];
		w->accept_ev[i] = event_new(w->base, d->socks[i].fd,
					    EV_READ | EV_PERSIST, on_accept, ac);
		if (w->accept_ev[i] == NULL) {
			free(ac);
			return -1;
		}
		event_add(w->accept_ev[i], NULL);
	}
	return 0;
}

static void worker_free(struct pop3d *d, struct pop3_worker *w)
{
	for (size_t i = 0; w->accept_ev != NULL && i < d->n_socks; i++) {
		if (w->accept_ev[i] == NULL)
			continue;
		free(event_get_callback_arg(w->accept_ev[i]));
		event_free(w->accept_ev[i]);
	}
	free(w->accept_ev);
	if (w->drain_ev != NULL)
		event_free(w->drain_ev);
	inbox_free(&w->inbox);
	if (w->base != NULL)
		event_base_free(w->base);
}

/* data_dir/secret, which smtpd_start made: the same made-up SCRAM salts
 * for unknown users over POP3 as over submission and IMAP. */
static void load_secret(const char *data_dir, unsigned char *out)
{
	char path[4096];
	int fd = path_join(path, sizeof(path), data_dir, "secret") < 0
			 ? -1
			 : open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, POP3_SECRET_LEN) : -1;
	if (fd >= 0)
		close(fd);
	if (n != POP3_SECRET_LEN)
		random_bytes(out, POP3_SECRET_LEN);
}

static int make_dummy_hash(char out[PASSWORD_HASH_MAX])
{
	char pw[33];
	password_generate(pw, 32);
	int rc = password_hash(pw, 32, out);
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

static unsigned worker_count(const struct config *cfg)
{
	if (cfg->workers > 0)
		return (unsigned)cfg->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

struct pop3d *pop3d_start(const struct pop3d_deps *deps)
{
	if (deps->n_socks == 0)
		return NULL;
	struct pop3d *d = calloc(1, sizeof(*d));
	if (d == NULL)
		goto fail;
	const struct config *cfg = deps->cfg;
	d->cfg = cfg;
	d->socks = deps->socks;
	d->n_socks = deps->n_socks;
	d->tls = deps->tls;
	d->penalty = deps->penalty;
	d->ipcount = ipcount_new();
	d->store_pool = pool_new((unsigned)cfg->io_threads);
	d->n_workers = worker_count(cfg);
	d->auth_pool = pool_new(d->n_workers);
	d->workers = calloc(d->n_workers, sizeof(*d->workers));
	load_secret(cfg->data_dir, d->secret);
	if (d->ipcount == NULL || d->store_pool == NULL || d->auth_pool == NULL ||
	    d->workers == NULL || make_dummy_hash(d->dummy_hash) < 0)
		goto fail;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (worker_init(d, &d->workers[i]) < 0)
			goto fail;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (pthread_create(&d->workers[i].thread, NULL, worker_thread,
				   &d->workers[i]) != 0)
			goto fail;
	log_info("pop3d event=started workers=%u", d->n_workers);
	return d;
fail:
	log_error("pop3d event=start-failed");
	exit(1); /* threads may be running: no clean way back */
}

void pop3d_stop(struct pop3d **dp)
{
	struct pop3d *d = *dp;
	if (d == NULL)
		return;
	atomic_store(&d->stopping, true);
	for (unsigned i = 0; i < d->n_workers; i++)
		inbox_post(d->workers[i].inbox, worker_stop, &d->workers[i]);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_WAIT_S;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (pthread_timedjoin_np(d->workers[i].thread, NULL, &deadline) !=
		    0) {
			log_warn("pop3d event=stop-timeout");
			*dp = NULL;
			return;
		}
	pool_free(&d->store_pool);
	pool_free(&d->auth_pool);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_free(d, &d->workers[i]);
	free(d->workers);
	ipcount_free(&d->ipcount);
	explicit_bzero(d->secret, sizeof(d->secret));
	free(d);
	*dp = NULL;
	log_info("pop3d event=stopped");
}
