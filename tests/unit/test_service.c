/* Tests for src/net/service.c over real loopback sockets: a tiny protocol
 * (a greeting, a goodbye at shutdown, sessions reaped when the client
 * goes) on two workers; the connection caps and what a refused client
 * reads; the drain at stop; and that a reap runs only once the call that
 * asked for it has returned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct toy_session {
	struct service_conn link;
	struct event *ev;
	int fd;
	bool reap_asked; /* set just after service_reap, by the same call */
};

static atomic_int started, stopped, reaped, reaped_early;

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct toy_session *s = arg;
	char b[64];
	ssize_t n = read(fd, b, sizeof(b));
	if (n > 0 || (n < 0 && errno == EAGAIN))
		return;
	event_del(s->ev);
	service_reap(&s->link);
	s->reap_asked = true; /* the session is still ours */
}

static bool toy_start(struct service_worker *w, int fd,
		      const struct sockaddr *peer, const struct listen_socket *ls)
{
	struct toy_session *s = calloc(1, sizeof(*s));
	if (s == NULL || service_conn_attach(w, &s->link, peer, s) < 0) {
		free(s);
		close(fd);
		return false;
	}
	s->fd = fd;
	s->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_readable, s);
	event_add(s->ev, NULL);
	if (send(fd, "hello\r\n", 7, MSG_NOSIGNAL) != 7)
		return true; /* the read event sees the client go */
	atomic_fetch_add(&started, 1);
	return true;
}

static void toy_stop(void *arg)
{
	struct toy_session *s = arg;
	atomic_fetch_add(&stopped, 1);
	if (send(s->fd, "bye\r\n", 5, MSG_NOSIGNAL) != 5) {
		/* the client went: the reap below ends it all the same */
	}
	event_del(s->ev);
	service_reap(&s->link);
	s->reap_asked = true;
}

static void toy_reap(void *arg)
{
	struct toy_session *s = arg;
	if (!s->reap_asked)
		atomic_fetch_add(&reaped_early, 1);
	event_free(s->ev);
	close(s->fd);
	service_conn_detach(&s->link);
	free(s);
	atomic_fetch_add(&reaped, 1);
}

struct fixture {
	struct listener_config cfg;
	struct listen_socket ls;
	struct service *svc;
};

static void listen_on_loopback(struct fixture *f, int tls)
{
	memset(f, 0, sizeof(*f));
	f->cfg.name = "toy";
	f->cfg.tls = tls;
	f->ls.cfg = &f->cfg;
	f->ls.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(f->ls.fd >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(f->ls.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f->ls.fd, 16), 0);
}

static void start_toy(struct fixture *f, unsigned max, unsigned per_ip)
{
	atomic_store(&started, 0);
	atomic_store(&stopped, 0);
	atomic_store(&reaped, 0);
	atomic_store(&reaped_early, 0);
	struct service_ops ops = {
		.name = "toyd",
		.refuse_prefix = "NO over: ",
		.max_connections = max,
		.max_connections_per_ip = per_ip,
		.start = toy_start,
		.stop_session = toy_stop,
		.reap = toy_reap,
	};
	f->svc = service_start(&ops, &f->ls, 1, 2);
	assert_non_null(f->svc);
}

static void stop_toy(struct fixture *f)
{
	assert_true(service_stop(f->svc));
	service_free(&f->svc);
	assert_null(f->svc);
	close(f->ls.fd);
	assert_int_equal(atomic_load(&reaped_early), 0);
}

static int dial(const struct fixture *f)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	assert_int_equal(getsockname(f->ls.fd, (struct sockaddr *)&sin, &len), 0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = 10}; /* a hung test fails, not waits */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Everything the server sends until it closes (or the buffer is full). */
static void read_all(int fd, char *out, size_t n)
{
	size_t got = 0;
	ssize_t r;
	while (got + 1 < n && (r = read(fd, out + got, n - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
}

/* The first line the server sends. */
static void read_line(int fd, char *out, size_t n)
{
	size_t got = 0;
	while (got + 1 < n && read(fd, out + got, 1) == 1 && out[got++] != '\n') {
	}
	out[got] = '\0';
}

/* Connections are refused by their worker while the server drops the
 * closed ones from the loop: try until the cap has room again. */
static int dial_until_greeted(const struct fixture *f)
{
	char line[64];
	for (int i = 0; i < 500; i++) {
		int fd = dial(f);
		read_line(fd, line, sizeof(line));
		if (strcmp(line, "hello\r\n") == 0)
			return fd;
		close(fd);
		usleep(10000);
	}
	fail_msg("the cap never had room again");
	return -1;
}

static void caps_refuse_with_the_protocol_line(void **state)
{
	struct fixture f;
	listen_on_loopback(&f, LISTENER_TLS_NONE);
	start_toy(&f, 2, 8);
	char line[128];
	int a = dial(&f), b = dial(&f);
	read_line(a, line, sizeof(line));
	assert_string_equal(line, "hello\r\n");
	read_line(b, line, sizeof(line));
	assert_string_equal(line, "hello\r\n");
	int c = dial(&f);
	read_all(c, line, sizeof(line));
	assert_string_equal(line,
			    "NO over: Too many connections, try again later\r\n");
	close(c);
	close(a); /* its session is reaped; the caps are given back */
	int d = dial_until_greeted(&f);
	stop_toy(&f);
	read_all(b, line, sizeof(line)); /* the stop's goodbye, then EOF */
	assert_string_equal(line, "bye\r\n");
	read_all(d, line, sizeof(line));
	assert_string_equal(line, "bye\r\n");
	assert_int_equal(atomic_load(&stopped), 2);
	assert_int_equal(atomic_load(&reaped), atomic_load(&started));
	close(b);
	close(d);
}

static void per_ip_cap(void **state)
{
	struct fixture f;
	listen_on_loopback(&f, LISTENER_TLS_STARTTLS);
	start_toy(&f, 100, 1);
	char line[128];
	int a = dial(&f);
	read_line(a, line, sizeof(line));
	assert_string_equal(line, "hello\r\n");
	int b = dial(&f);
	read_all(b, line, sizeof(line));
	assert_string_equal(line,
			    "NO over: Too many connections from your address\r\n");
	close(b);
	stop_toy(&f);
	close(a);
}

/* On implicit TLS a plaintext line would be noise: the close says it. */
static void implicit_tls_refusal_is_a_close(void **state)
{
	struct fixture f;
	listen_on_loopback(&f, LISTENER_TLS_IMPLICIT);
	start_toy(&f, 0, 8);
	char line[128];
	int a = dial(&f);
	read_all(a, line, sizeof(line));
	assert_string_equal(line, "");
	close(a);
	stop_toy(&f);
	assert_int_equal(atomic_load(&started), 0);
}

/* A stop with sessions on the workers: each is told, reaped from its
 * loop, and the stop returns once all are gone. */
static void stop_drains_the_workers(void **state)
{
	struct fixture f;
	listen_on_loopback(&f, LISTENER_TLS_NONE);
	start_toy(&f, 100, 100);
	enum { N = 12 };
	int fds[N];
	char line[128];
	for (int i = 0; i < N; i++) {
		fds[i] = dial(&f);
		read_line(fds[i], line, sizeof(line));
		assert_string_equal(line, "hello\r\n");
	}
	assert_false(service_stopping(f.svc));
	assert_true(service_stop(f.svc));
	assert_true(service_stopping(f.svc));
	assert_int_equal(atomic_load(&stopped), N);
	assert_int_equal(atomic_load(&reaped), N);
	for (int i = 0; i < N; i++) {
		read_all(fds[i], line, sizeof(line));
		assert_string_equal(line, "bye\r\n");
		close(fds[i]);
	}
	service_free(&f.svc);
	close(f.ls.fd);
	assert_int_equal(atomic_load(&reaped_early), 0);
}

static void session_ids(void **state)
{
	char a[SERVICE_ID_LEN + 1], b[SERVICE_ID_LEN + 1];
	service_session_id(a);
	service_session_id(b);
	assert_int_equal(strlen(a), SERVICE_ID_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), SERVICE_ID_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(service_worker_count(3), 3);
	assert_true(service_worker_count(0) >= 1);
}

int main(void)
{
	evthread_use_pthreads(); /* as serve does: the stop is posted across */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(caps_refuse_with_the_protocol_line),
		cmocka_unit_test(per_ip_cap),
		cmocka_unit_test(implicit_tls_refusal_is_a_close),
		cmocka_unit_test(stop_drains_the_workers),
		cmocka_unit_test(session_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
