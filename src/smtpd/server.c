/* server: worker threads, accepting, connection caps, shutdown. */
#include "smtpd/server.h"

#include "lib/durable.h"
#include "lib/log.h"
#include "lib/util.h"
#include "smtpd/smtpd.h"

#include <errno.h>
#include <libpsl.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ACCEPT_BATCH = 32, STOP_WAIT_S = 10 };

struct accept_ctx {
	struct worker *w;
	const struct listen_socket *ls;
};

/* Refuse a connection over a cap: a 421 where the client can read it
 * (not on implicit TLS, where it would be noise), then close. */
static void refuse(int fd, const struct listen_socket *ls, const char *why)
{
	if (ls->cfg->tls != LISTENER_TLS_IMPLICIT) {
		char line[128];
		int n = snprintf(line, sizeof(line), "421 4.7.0 %s\r\n", why);
		if (n > 0 && (size_t)n < sizeof(line) &&
		    send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing to do: the client goes away either way */
		}
	}
	close(fd);
}

static void admit(struct worker *w, const struct listen_socket *ls, int fd,
		  struct sockaddr_storage *ss)
{
	struct smtpd *sd = w->sd;
	const struct config *cfg = sd->cfg;
	char ip[NETADDR_TEXT_MAX];
	if (atomic_fetch_add(&sd->connections, 1) >= cfg->smtp_max_connections) {
		atomic_fetch_sub(&sd->connections, 1);
		netaddr_ip((struct sockaddr *)ss, ip);
		log_warn("smtpd event=refused ip=%s reason=max-connections", ip);
		refuse(fd, ls, "Too many connections, try again later");
		return;
	}
	if (!ipcount_acquire(sd->ipcount, (struct sockaddr *)ss,
			     (unsigned)cfg->smtp_max_connections_per_ip)) {
		atomic_fetch_sub(&sd->connections, 1);
		netaddr_ip((struct sockaddr *)ss, ip);
		log_warn("smtpd event=refused ip=%s reason=max-connections-per-ip",
			 ip);
		refuse(fd, ls, "Too many connections from your address");
		return;
	}
	int on = 1; /* replies are batched by us; Nagle would only delay them */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (!session_start(w, fd, (struct sockaddr *)ss, ls)) {
		ipcount_release(sd->ipcount, (struct sockaddr *)ss);
		atomic_fetch_sub(&sd->connections, 1);
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
				log_error("smtpd event=accept-failed error=\"%s\"",
					  strerror(errno));
			return; /* EAGAIN: another worker took it */
		}
		if (atomic_load(&ac->w->sd->stopping)) {
			close(fd);
			continue;
		}
		admit(ac->w, ac->ls, fd, &ss);
	}
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ------------------------------------------------------------ stop */

static void check_drained(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	if (w->n_sessions == 0)
		event_base_loopbreak(w->base);
}

/* On the worker: stop accepting and wind the sessions down. A session in
 * the middle of a message loses it (never acknowledged, so the client
 * retries); one whose message is being committed gets its 250 first. */
static void worker_stop(void *arg)
{
	struct worker *w = arg;
	w->stopping = true;
	for (size_t i = 0; i < w->sd->n_socks; i++)
		event_del(w->accept_ev[i]);
	for (struct session *s = w->sessions, *next; s != NULL; s = next) {
		next = s->next;
		if (s->phase == P_COMMAND || s->phase == P_AUTH)
			session_close_with(s, 421, "4.3.2", "Shutting down");
		else if (s->phase == P_DATA || s->phase == P_BDAT ||
			 s->phase == P_TLS ||
			 (s->phase == P_AUTH_WAIT && s->jobs == 0))
			session_end(s, "server shutting down");
		else if (s->phase == P_COMMIT)
			smtpd_inbound_hurry(s); /* the DNS budget outlasts a stop */
		/* P_COMMIT and password checks end when their job reports */
	}
	struct timeval tv = {.tv_usec = 50000};
	w->drain_ev = event_new(w->base, -1, EV_PERSIST, check_drained, w);
	if (w->drain_ev != NULL)
		event_add(w->drain_ev, &tv);
	check_drained(-1, 0, w);
}

static int worker_init(struct smtpd *sd, struct worker *w)
{
	w->sd = sd;
	w->base = event_base_new();
	if (w->base == NULL || (w->inbox = inbox_new(w->base)) == NULL)
		return -1;
	struct buf errors;
	buf_init(&errors, 0);
	w->dns = dns_new(w->base, sd->cfg, &errors);
	if (w->dns == NULL)
		log_error("smtpd event=no-resolver error=\"%s\"", buf_cstr(&errors));
	buf_free(&errors);
	if (w->dns == NULL)
		return -1;
	w->accept_ev = calloc(sd->n_socks, sizeof(*w->accept_ev));
	if (w->accept_ev == NULL)
		return -1;
	for (size_t i = 0; i < sd->n_socks; i++) {
		struct accept_ctx *ac = malloc(sizeof(*ac));
		if (ac == NULL)
			return -1;
		ac->w = w;
		ac->ls = &sd->socks[i];
		w->accept_ev[i] = event_new(w->base, sd->socks[i].fd,
					    EV_READ | EV_PERSIST, on_accept, ac);
		if (w->accept_ev[i] == NULL) {
			free(ac);
			return -1;
		}
		event_add(w->accept_ev[i], NULL);
	}
	return 0;
}

static void worker_free(struct smtpd *sd, struct worker *w)
{
	for (size_t i = 0; w->accept_ev != NULL && i < sd->n_socks; i++) {
		if (w->accept_ev[i] == NULL)
			continue;
		free(event_get_callback_arg(w->accept_ev[i]));
		event_free(w->accept_ev[i]);
	}
	free(w->accept_ev);
	if (w->drain_ev != NULL)
		event_free(w->drain_ev);
	dns_free(&w->dns);
	inbox_free(&w->inbox);
	if (w->base != NULL)
		event_base_free(w->base);
}

/* data_dir/secret: random bytes made once, so that the SCRAM salts shown
 * for users that do not exist stay the same across restarts. */
static int load_secret(const char *data_dir, unsigned char out[SMTP_SECRET_LEN])
{
	char path[4096];
	if (path_join(path, sizeof(path), data_dir, "secret") < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, out, SMTP_SECRET_LEN);
		close(fd);
		return n == SMTP_SECRET_LEN ? 0 : -1;
	}
	random_bytes(out, SMTP_SECRET_LEN);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, out, SMTP_SECRET_LEN) == 0 && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

/* A hash of a random password: checked against when a user does not exist,
 * so that a wrong name costs exactly what a wrong password costs. */
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

struct smtpd *smtpd_start(const struct smtpd_deps *deps)
{
	struct smtpd *sd = calloc(1, sizeof(*sd));
	if (sd == NULL)
		return NULL;
	sd->cfg = deps->cfg;
	sd->socks = deps->socks;
	sd->n_socks = deps->n_socks;
	sd->tls = deps->tls;
	sd->spool = deps->spool;
	sd->sched = deps->sched;
	const struct config *cfg = deps->cfg;
	sd->ipcount = ipcount_new();
	sd->penalty = deps->penalty; /* the caller's: IMAP shares it */
	sd->psl = psl_load_file(cfg->dmarc_public_suffix_list);
	if (sd->psl == NULL) {
		log_warn("smtpd event=no-public-suffix-list file=%s note=\"the "
			 "list built into libpsl is used\"",
			 cfg->dmarc_public_suffix_list);
		sd->psl = (psl_ctx_t *)psl_builtin();
		if (sd->psl == NULL) /* relaxed alignment would act as strict */
			log_error("smtpd event=no-public-suffix-list note=\"no list "
				  "built into libpsl either: every domain is its own "
				  "organisational domain\"");
	}
	sd->commit_pool = pool_new((unsigned)cfg->io_threads);
	sd->n_workers = worker_count(cfg);
	sd->auth_pool = pool_new(sd->n_workers);
	sd->workers = calloc(sd->n_workers, sizeof(*sd->workers));
	if (sd->ipcount == NULL || sd->penalty == NULL || sd->commit_pool == NULL ||
	    sd->auth_pool == NULL || sd->workers == NULL ||
	    load_secret(cfg->data_dir, sd->secret) < 0 ||
	    make_dummy_hash(sd->dummy_hash) < 0)
		goto fail;
	for (unsigned i = 0; i < sd->n_workers; i++)
		if (worker_init(sd, &sd->workers[i]) < 0)
			goto fail;
	for (unsigned i = 0; i < sd->n_workers; i++)
		if (pthread_create(&sd->workers[i].thread, NULL, worker_thread,
				   &sd->workers[i]) != 0)
			goto fail; /* (cannot happen short of exhaustion) */
	log_info("smtpd event=started workers=%u io_threads=%u", sd->n_workers,
		 (unsigned)deps->cfg->io_threads);
	return sd;
fail:
	log_error("smtpd event=start-failed");
	exit(1); /* threads may be running: no clean way back */
}

void smtpd_stop(struct smtpd **sdp)
{
	struct smtpd *sd = *sdp;
	if (sd == NULL)
		return;
	atomic_store(&sd->stopping, true);
	for (unsigned i = 0; i < sd->n_workers; i++)
		inbox_post(sd->workers[i].inbox, worker_stop, &sd->workers[i]);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_WAIT_S;
	for (unsigned i = 0; i < sd->n_workers; i++)
		if (pthread_timedjoin_np(sd->workers[i].thread, NULL, &deadline) != 0) {
			/* a client that does not read its 421: leave it to exit() */
			log_warn("smtpd event=stop-timeout");
			*sdp = NULL;
			return;
		}
	pool_free(&sd->commit_pool);
	pool_free(&sd->auth_pool);
	for (unsigned i = 0; i < sd->n_workers; i++)
		worker_free(sd, &sd->workers[i]);
	free(sd->workers);
	ipcount_free(&sd->ipcount);
	if (sd->psl != NULL && sd->psl != psl_builtin())
		psl_free(sd->psl);
	explicit_bzero(sd->secret, sizeof(sd->secret));
	free(sd);
	*sdp = NULL;
	log_info("smtpd event=stopped");
}
