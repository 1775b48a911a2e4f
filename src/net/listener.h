/* listener: the listening sockets of the configured [listener] sections.
 * All are bound at start-up, before privileges are dropped; every worker
 * thread then watches each of them and accepts what it can. */
#ifndef POSTERN_NET_LISTENER_H
#define POSTERN_NET_LISTENER_H

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/netaddr.h"

#include <stddef.h>

struct listen_socket {
	int fd;
	const struct listener_config *cfg;
	char address[NETADDR_TEXT_MAX]; /* as bound, with the real port */
};

/* Bind and listen on every address of every listener. On failure appends
 * the reason to errors, closes what was opened and returns -1. */
int listeners_open(const struct config *cfg, struct listen_socket **socks_r,
		   size_t *n_r, struct buf *errors);
void listeners_close(struct listen_socket *socks, size_t n);

#endif
