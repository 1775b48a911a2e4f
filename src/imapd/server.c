/* server: the IMAP service on net/service.c's workers: what is IMAP's own
 * (the BYE for a refused client, how a session winds down at shutdown,
 * the store and password pools, the secret). The workers are separate
 * from SMTP's so that a flood of one protocol's connections cannot take
 * the other's caps. */
#include "imapd/imapd.h"

#include "lib/log.h"
#include "lib/util.h"
#include "sasl/secret.h"
#include "store/hdrcache.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* At shutdown: sessions waiting for a command get BYE (RFC 9051 7.1.5),
 * the others end as soon as their job reports back. */
static void stop_session(void *arg)
{
	struct imap_session *s = arg;
	if (s->phase == IP_COMMAND || s->phase == IP_AUTH ||
	    s->phase == IP_IDLE)
		imapd_close_with(s, "Server shutting down");
	else if (s->phase == IP_TLS || s->jobs == 0)
		imapd_session_end(s, "server shutting down");
	/* a job under way ends the session when it reports back */
}

static struct service *start_service(struct imapd *d,
				     const struct imapd_deps *deps,
				     unsigned n_workers)
{
	const struct config *cfg = deps->cfg;
	struct service_ops ops = {
		.name = "imapd",
		.refuse_prefix = "* BYE ", /* RFC 9051 7.1.5 */
		.max_connections = (unsigned)cfg->imap_max_connections,
		.max_connections_per_ip =
			(unsigned)cfg->imap_max_connections_per_ip,
		.start = imapd_session_start,
		.stop_session = stop_session,
		/* no reap: a session is held by each entry from the loop and
		 * freed as the last hold goes (imapd_session_release) */
		.server = d,
	};
	return service_start(&ops, deps->socks, deps->n_socks, n_workers);
}

struct imapd *imapd_start(const struct imapd_deps *deps)
{
	if (deps->n_socks == 0)
		return NULL;
	struct imapd *d = calloc(1, sizeof(*d));
	if (d == NULL)
		goto fail;
	const struct config *cfg = deps->cfg;
	d->cfg = cfg;
	d->tls = deps->tls;
	d->penalty = deps->penalty;
	unsigned n_workers = service_worker_count(cfg->workers);
	d->store_pool = pool_new((unsigned)cfg->io_threads);
	d->auth_pool = pool_new(n_workers);
	if (cfg->imap_header_cache_size > 0)
		d->hdrcache = hdrcache_new((size_t)cfg->imap_header_cache_size);
	/* made-up SCRAM salts for unknown users, as over submission */
	(void)sasl_secret_load(cfg->data_dir, d->secret);
	if (d->store_pool == NULL || d->auth_pool == NULL ||
	    (cfg->imap_header_cache_size > 0 && d->hdrcache == NULL) ||
	    password_dummy_hash(d->dummy_hash) < 0 ||
	    (d->svc = start_service(d, deps, n_workers)) == NULL)
		goto fail;
	log_info("imapd event=started workers=%u", n_workers);
	return d;
fail:
	log_error("imapd event=start-failed");
	exit(1); /* threads may be running: no clean way back */
}

void imapd_stop(struct imapd **dp)
{
	struct imapd *d = *dp;
	if (d == NULL)
		return;
	*dp = NULL;
	if (!service_stop(d->svc))
		return; /* sessions may still run: leave it to exit() */
	pool_free(&d->store_pool);
	pool_free(&d->auth_pool);
	hdrcache_free(&d->hdrcache); /* no job runs: no handle is out */
	service_free(&d->svc);
	explicit_bzero(d->secret, sizeof(d->secret));
	free(d);
	log_info("imapd event=stopped");
}
