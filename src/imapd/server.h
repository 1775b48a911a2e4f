/* server: the IMAP service (RFC 9051, with RFC 3501 behaviour for clients
 * that do not ENABLE IMAP4rev2): worker threads, each with its own event
 * loop, watching the imap and imaps listeners and running the sessions they
 * accept.
 *
 * Built as src/smtpd/ is: sessions stay on the worker that accepted them;
 * everything that touches the mailbox store (which blocks: file I/O and
 * fsync) runs on the store pool and reports back through the worker's
 * inbox; password checks run on their own pool. */
#ifndef POSTERN_IMAPD_SERVER_H
#define POSTERN_IMAPD_SERVER_H

#include "lib/config.h"
#include "net/listener.h"
#include "net/tls.h"

#include <stddef.h>

struct imapd;
struct penalty;

struct imapd_deps {
	const struct config *cfg;
	const struct listen_socket *socks; /* the imap and imaps ones only */
	size_t n_socks;
	struct tls_server *tls;
	struct penalty *penalty; /* failed logins, shared with submission */
};

/* Start the workers (none when there is no IMAP listener: NULL is then
 * returned, and is no error). Exits on failure, like smtpd_start. */
struct imapd *imapd_start(const struct imapd_deps *deps);
/* Stop accepting, say BYE to idle sessions, let running store jobs finish,
 * and join the workers. */
void imapd_stop(struct imapd **d);

#endif
