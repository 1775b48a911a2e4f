/* server: the POP3 service (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC
 * 5034 SASL): worker threads, each with its own event loop, watching the
 * pop3 and pop3s listeners and running the sessions they accept.
 *
 * Built as src/imapd/ is: sessions stay on the worker that accepted them;
 * what touches the mailbox store (file I/O, fsync) runs on the store pool
 * and reports back through the worker's inbox; password checks run on their
 * own pool. */
#ifndef POSTERN_POP3D_SERVER_H
#define POSTERN_POP3D_SERVER_H

#include "lib/config.h"
#include "net/listener.h"
#include "net/tls.h"

#include <stddef.h>

struct pop3d;
struct penalty;

struct pop3d_deps {
	const struct config *cfg;
	const struct listen_socket *socks; /* the pop3 and pop3s ones only */
	size_t n_socks;
	struct tls_server *tls;
	struct penalty *penalty; /* failed logins, shared with SMTP and IMAP */
};

/* Start the workers (none when there is no POP3 listener: NULL is then
 * returned, and is no error). Exits on failure, like imapd_start. */
struct pop3d *pop3d_start(const struct pop3d_deps *deps);
/* Stop accepting, end idle sessions (their maildrops untouched: no QUIT,
 * no UPDATE), let running store jobs finish, and join the workers. */
void pop3d_stop(struct pop3d **d);

#endif
