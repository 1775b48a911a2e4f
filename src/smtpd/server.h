/* server: the SMTP service: worker threads, each with its own event loop,
 * all watching every listening socket and running the sessions they accept.
 *
 * Sessions stay on the worker that accepted them. The blocking half of
 * acceptance (writing and fsyncing the queue file) runs on the commit pool
 * and reports back through the worker's inbox. */
#ifndef POSTERN_SMTPD_SERVER_H
#define POSTERN_SMTPD_SERVER_H

#include "lib/config.h"
#include "net/listener.h"
#include "net/tls.h"
#include "queue/scheduler.h"
#include "queue/spool.h"

#include <stddef.h>

struct smtpd;

struct smtpd_deps {
	const struct config *cfg;
	const struct listen_socket *socks;
	size_t n_socks;
	struct tls_server *tls; /* NULL when no listener uses TLS */
	struct spool *spool;
	struct scheduler *sched;
	struct penalty *penalty; /* failed logins, shared with IMAP */
};

/* Start the workers. NULL on failure. */
struct smtpd *smtpd_start(const struct smtpd_deps *deps);
/* Stop accepting, say 421 to idle sessions, let sessions waiting for a
 * commit finish it, and join the workers (at most a few seconds). */
void smtpd_stop(struct smtpd **sd);

#endif
