/* listener: bind the configured addresses. */
#include "net/listener.h"

#include "lib/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { LISTEN_BACKLOG = 1024 };

static int open_one(const char *text, struct listen_socket *ls,
		    struct buf *errors)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *why;
	if (netaddr_parse(text, &ss, &len, &why) < 0) {
		buf_appendf(errors, "listener '%s': %s: %s\n", ls->cfg->name,
			    text, why);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int on = 1;
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		buf_appendf(errors, "listener '%s': cannot listen on %s: %s\n",
			    ls->cfg->name, text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	netaddr_ip_port((struct sockaddr *)&ss, ls->address);
	ls->fd = fd;
	return 0;
}

int listeners_open(const struct config *cfg, struct listen_socket **socks_r,
		   size_t *n_r, struct buf *errors)
{
	struct listen_socket *socks = NULL;
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const char *cursor = cfg->listeners[i].address, *word;
		size_t wlen;
		while (next_word(&cursor, &word, &wlen)) {
			char text[NETADDR_TEXT_MAX];
			struct listen_socket *more =
				reallocarray(socks, n + 1, sizeof(*socks));
			if (more == NULL || wlen >= sizeof(text))
				goto fail;
			socks = more;
			memcpy(text, word, wlen);
			text[wlen] = '\0';
			socks[n].cfg = &cfg->listeners[i];
			if (open_one(text, &socks[n], errors) < 0)
				goto fail;
			n++;
		}
	}
	*socks_r = socks;
	*n_r = n;
	return 0;
fail:
	listeners_close(socks, n);
	return -1;
}

void listeners_close(struct listen_socket *socks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(socks[i].fd);
	free(socks);
}
