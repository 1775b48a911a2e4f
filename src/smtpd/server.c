/* server: the SMTP service on net/service.c's workers: what is SMTP's own
 * (the 421 for a refused client, how each phase winds down at shutdown,
 * a resolver per worker, the commit and password pools, the secret). */
#include "smtpd/server.h"

#include "lib/durable.h"
#include "lib/log.h"
#include "lib/util.h"
#include "sasl/secret.h"
#include "smtpd/smtpd.h"

#include <fcntl.h>
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Wind a session down at shutdown. A session in the middle of a message
 * loses it (never acknowledged, so the client retries); one whose message
 * is being committed gets its 250 first. */
static void stop_session(void *arg)
{
	struct session *s = arg;
	if (s->phase == P_COMMAND || s->phase == P_AUTH)
		session_close_with(s, 421, "4.3.2", "Shutting down");
	else if (s->phase == P_DATA || s->phase == P_BDAT ||
		 s->phase == P_TLS || (s->phase == P_AUTH_WAIT && s->jobs == 0))
		session_end(s, "server shutting down");
	else if (s->phase == P_COMMIT)
		smtpd_inbound_hurry(s); /* the DNS budget outlasts a stop */
	/* P_COMMIT and password checks end when their job reports */
}

static void reap(void *arg)
{
	session_free_if_gone(arg);
}

/* Each worker has its own resolver, on its loop, for inbound mail. */
static int worker_init(struct service_worker *w)
{
	struct smtpd *sd = w->server;
	struct buf errors;
	buf_init(&errors, 0);
	w->data = dns_new(w->base, sd->cfg, &errors);
	if (w->data == NULL)
		log_error("smtpd event=no-resolver error=\"%s\"",
			  buf_cstr(&errors));
	buf_free(&errors);
	return w->data != NULL ? 0 : -1;
}

static void worker_free(struct service_worker *w)
{
	struct dns *dns = w->data;
	dns_free(&dns);
	w->data = NULL;
}

static struct service *start_service(struct smtpd *sd,
				     const struct smtpd_deps *deps)
{
	const struct config *cfg = deps->cfg;
	struct service_ops ops = {
		.name = "smtpd",
		.refuse_prefix = "421 4.7.0 ",
		.max_connections = (unsigned)cfg->smtp_max_connections,
		.max_connections_per_ip =
			(unsigned)cfg->smtp_max_connections_per_ip,
		.start = session_start,
		.stop_session = stop_session,
		.reap = reap,
		.worker_init = worker_init,
		.worker_free = worker_free,
		.server = sd,
	};
	return service_start(&ops, deps->socks, deps->n_socks,
			     service_worker_count(cfg->workers));
}

struct smtpd *smtpd_start(const struct smtpd_deps *deps)
{
	struct smtpd *sd = calloc(1, sizeof(*sd));
	if (sd == NULL)
		return NULL;
	sd->cfg = deps->cfg;
	sd->tls = deps->tls;
	sd->spool = deps->spool;
	sd->sched = deps->sched;
	const struct config *cfg = deps->cfg;
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
	unsigned n_workers = service_worker_count(cfg->workers);
	sd->commit_pool = pool_new((unsigned)cfg->io_threads);
	sd->auth_pool = pool_new(n_workers);
	if (sd->penalty == NULL || sd->commit_pool == NULL ||
	    sd->auth_pool == NULL || sasl_secret_load(cfg->data_dir, sd->secret) < 0 ||
	    password_dummy_hash(sd->dummy_hash) < 0 ||
	    (sd->svc = start_service(sd, deps)) == NULL)
		goto fail;
	log_info("smtpd event=started workers=%u io_threads=%u", n_workers,
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
	*sdp = NULL;
	if (!service_stop(sd->svc))
		return; /* a client that does not read its 421: leave it to exit() */
	pool_free(&sd->commit_pool);
	pool_free(&sd->auth_pool);
	service_free(&sd->svc);
	if (sd->psl != NULL && sd->psl != psl_builtin())
		psl_free(sd->psl);
	explicit_bzero(sd->secret, sizeof(sd->secret));
	free(sd);
	log_info("smtpd event=stopped");
}
