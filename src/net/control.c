/* control: the local command socket. */
#include "net/control.h"

#include "lib/durable.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct control_client {
	struct control_client *next;
	struct control *ctl;
	int fd;
	struct event *ev;
	char line[CONTROL_LINE_MAX + 1];
	size_t len;
};

struct control {
	struct event_base *base;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct event *ev;
	control_fn *fn;
	void *arg;
	struct control_client *clients;
	unsigned n_clients;
};

static int unix_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

static void client_free(struct control_client *cl)
{
	struct control *c = cl->ctl;
	for (struct control_client **p = &c->clients; *p != NULL; p = &(*p)->next)
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	c->n_clients--;
	event_free(cl->ev);
	close(cl->fd);
	free(cl);
}

/* One reply line, then the connection ends. The reply is small and the
 * socket buffer empty, so a non-blocking send takes it whole unless the
 * client has gone, which only loses the client its answer. */
static void client_reply(struct control_client *cl, const char *text)
{
	struct buf reply;
	buf_init(&reply, CONTROL_LINE_MAX);
	if (text != NULL)
		buf_append_str(&reply, text);
	else
		cl->ctl->fn(cl->ctl->arg, cl->line, &reply);
	if (reply.len == 0)
		buf_append_str(&reply, "error no reply");
	buf_append_byte(&reply, '\n');
	send(cl->fd, reply.data, reply.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	buf_free(&reply);
	client_free(cl);
}

static void on_client(evutil_socket_t fd, short what, void *arg)
{
	struct control_client *cl = arg;
	if (what & EV_TIMEOUT) {
		client_reply(cl, "error timed out waiting for the request");
		return;
	}
	ssize_t n = read(fd, cl->line + cl->len, CONTROL_LINE_MAX - cl->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(cl);
		return;
	}
	cl->len += (size_t)n;
	char *nl = memchr(cl->line, '\n', cl->len);
	if (nl == NULL && cl->len == CONTROL_LINE_MAX) {
		client_reply(cl, "error request line too long");
		return;
	}
	if (nl == NULL)
		return;
	if (memchr(cl->line, '\0', (size_t)(nl - cl->line)) != NULL) {
		client_reply(cl, "error NUL in the request");
		return;
	}
	*nl = '\0';
	if (nl > cl->line && nl[-1] == '\r')
		nl[-1] = '\0';
	client_reply(cl, NULL);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	struct control_client *cl = NULL;
	if (c->n_clients >= CONTROL_CLIENTS_MAX ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		close(cfd);
		return;
	}
	cl->ctl = c;
	cl->fd = cfd;
	cl->ev = event_new(c->base, cfd, EV_READ | EV_PERSIST, on_client, cl);
	struct timeval tv = {.tv_sec = CONTROL_TIMEOUT_S};
	if (cl->ev == NULL || event_add(cl->ev, &tv) < 0) {
		if (cl->ev != NULL)
			event_free(cl->ev);
		close(cfd);
		free(cl);
		return;
	}
	cl->next = c->clients;
	c->clients = cl;
	c->n_clients++;
}

/* A socket file that nobody answers on is left from a server that died. */
static bool someone_listens(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool yes = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return yes;
}

static int listen_on(const char *path, const char **error_r)
{
	struct sockaddr_un sa;
	if (unix_address(path, &sa) < 0) {
		*error_r = "the path of the control socket is too long";
		return -1;
	}
	if (someone_listens(&sa)) {
		*error_r = "another server is running on this data directory";
		return -1;
	}
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0077); /* no moment where others may connect */
	int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct control *control_open(struct event_base *base, const char *path,
			     control_fn *fn, void *arg, const char **error_r)
{
	struct control *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	c->base = base;
	c->fn = fn;
	c->arg = arg;
	c->fd = listen_on(path, error_r);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	memcpy(c->path, path, strlen(path) + 1); /* fits: listen_on checked */
	c->ev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_accept, c);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
		*error_r = "cannot watch the control socket";
		control_close(&c);
		return NULL;
	}
	return c;
}

void control_close(struct control **cp)
{
	struct control *c = *cp;
	if (c == NULL)
		return;
	while (c->clients != NULL)
		client_free(c->clients);
	if (c->ev != NULL)
		event_free(c->ev);
	close(c->fd);
	unlink(c->path);
	free(c);
	*cp = NULL;
}

/* ------------------------------------------------------------ client */

static int read_reply(int fd, char *reply, size_t n)
{
	size_t len = 0;
	while (len + 1 < n) {
		ssize_t r = read(fd, reply + len, n - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(reply, '\n', len) != NULL)
			break;
	}
	reply[len] = '\0';
	char *nl = strchr(reply, '\n');
	if (nl == NULL) {
		errno = EPROTO;
		return -1;
	}
	*nl = '\0';
	return 0;
}

int control_request(const char *path, const char *line, char *reply, size_t n)
{
	struct sockaddr_un sa;
	if (n == 0 || unix_address(path, &sa) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc = -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write_all(fd, line, strlen(line)) == 0 && write_all(fd, "\n", 1) == 0)
		rc = read_reply(fd, reply, n);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}
