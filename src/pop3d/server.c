/* server: the POP3 service on net/service.c's workers: what is POP3's own
 * (the -ERR for a refused client, how a session winds down at shutdown,
 * the store and password pools, the secret). The workers and caps are
 * POP3's own, so that a flood of one protocol's connections cannot take
 * another's. */
#include "pop3d/pop3d.h"

#include "lib/log.h"
#include "lib/util.h"
#include "sasl/secret.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* At shutdown: sessions waiting for a command are told and closed (no
 * UPDATE: RFC 1939 6 deletes only on QUIT); the others end as soon as
 * their job reports back. */
static void stop_session(void *arg)
{
	struct pop3_session *s = arg;
	if (s->phase == PP_COMMAND || s->phase == PP_SASL)
		pop3d_close_with(s, "-ERR [SYS/TEMP] Server shutting down");
	else if (s->phase == PP_TLS || s->jobs == 0)
		pop3d_session_end(s, "server shutting down");
}

static void reap(void *arg)
{
	pop3d_session_free_if_gone(arg);
}

static struct service *start_service(struct pop3d *d,
				     const struct pop3d_deps *deps,
				     unsigned n_workers)
{
	const struct config *cfg = deps->cfg;
	struct service_ops ops = {
		.name = "pop3d",
		/* RFC 3206 4: a temporary failure */
		.refuse_prefix = "-ERR [SYS/TEMP] ",
		.max_connections = (unsigned)cfg->pop3_max_connections,
		.max_connections_per_ip =
			(unsigned)cfg->pop3_max_connections_per_ip,
		.start = pop3d_session_start,
		.stop_session = stop_session,
		.reap = reap,
		.server = d,
	};
	return service_start(&ops, deps->socks, deps->n_socks, n_workers);
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
	d->tls = deps->tls;
	d->penalty = deps->penalty;
	unsigned n_workers = service_worker_count(cfg->workers);
	d->store_pool = pool_new((unsigned)cfg->io_threads);
	d->auth_pool = pool_new(n_workers);
	/* made-up SCRAM salts for unknown users, as over submission */
	(void)sasl_secret_load(cfg->data_dir, d->secret);
	if (d->store_pool == NULL || d->auth_pool == NULL ||
	    password_dummy_hash(d->dummy_hash) < 0 ||
	    (d->svc = start_service(d, deps, n_workers)) == NULL)
		goto fail;
	log_info("pop3d event=started workers=%u", n_workers);
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
	*dp = NULL;
	if (!service_stop(d->svc))
		return; /* sessions may still run: leave it to exit() */
	pool_free(&d->store_pool);
	pool_free(&d->auth_pool);
	service_free(&d->svc);
	explicit_bzero(d->secret, sizeof(d->secret));
	free(d);
	log_info("pop3d event=stopped");
}
