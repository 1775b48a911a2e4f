/* conn: non-blocking plain/TLS connection with bounded buffers. */
#include "net/conn.h"

#include "net/tls.h"

#include <errno.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	READ_CHUNK = 16 * 1024,
	OUTPUT_MAX = 1024 * 1024,
};

enum conn_state {
	ST_PLAIN,
	ST_TLS_FLUSHING, /* STARTTLS: sending the last plaintext reply */
	ST_HANDSHAKE,
	ST_TLS,
	ST_DONE, /* closed or failed: no more I/O */
};

struct conn {
	int fd;
	SSL *ssl;
	SSL_CTX *tls_ctx;     /* for the pending handshake */
	int client_certs;
	uint64_t handshake_ms;
	struct event *ev_read, *ev_write, *ev_timer;
	struct event *ev_notify; /* delivers FLUSHED and the TLS start from the loop */
	bool reading, writing; /* which events are armed */
	bool read_paused, want_flushed;
	bool hs_want_write;    /* the handshake waits for writability */
	bool read_wants_write; /* SSL_read needs the socket writable */
	bool write_wants_read; /* SSL_write needs the socket readable */
	enum conn_state state;
	struct buf in, out;
	unsigned depth; /* nesting of our own callbacks */
	bool dead;      /* conn_free was called inside a callback */
	bool error_pending; /* an error found outside a callback, to report */
	conn_event_fn *fn;
	void *arg;
	char error[160];
};

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_notify(evutil_socket_t fd, short what, void *arg);

static void conn_destroy(struct conn *c)
{
	if (c->ssl != NULL) {
		if (c->state == ST_TLS) {
			ERR_clear_error();
			SSL_shutdown(c->ssl); /* one try: a close_notify, no wait */
		}
		SSL_free(c->ssl);
	}
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_timer);
	event_free(c->ev_notify);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

struct conn *conn_new(struct event_base *base, int fd, size_t input_max,
		      conn_event_fn *fn, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->fn = fn;
	c->arg = arg;
	buf_init(&c->in, input_max);
	buf_init(&c->out, OUTPUT_MAX);
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, c);
	c->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
	c->ev_timer = evtimer_new(base, on_timer, c);
	c->ev_notify = event_new(base, -1, 0, on_notify, c);
	if (c->ev_read == NULL || c->ev_write == NULL || c->ev_timer == NULL ||
	    c->ev_notify == NULL) {
		struct event *evs[] = {c->ev_read, c->ev_write, c->ev_timer,
				       c->ev_notify};
		for (size_t i = 0; i < 4; i++)
			if (evs[i] != NULL)
				event_free(evs[i]);
		close(fd);
		free(c);
		return NULL;
	}
	event_add(c->ev_read, NULL);
	c->reading = true;
	return c;
}

/* Arm exactly the events the current state needs. */
static void update_events(struct conn *c)
{
	bool want_read = false, want_write = false;
	switch (c->state) {
	case ST_PLAIN:
	case ST_TLS:
		want_read = (!c->read_paused && buf_room(&c->in) > 0) ||
			    c->write_wants_read;
		want_write = c->out.len > 0 || c->read_wants_write;
		break;
	case ST_TLS_FLUSHING:
		want_write = true; /* no reading: the next bytes are TLS */
		break;
	case ST_HANDSHAKE:
		want_read = !c->hs_want_write;
		want_write = c->hs_want_write;
		break;
	case ST_DONE:
		break;
	}
	if (c->dead)
		want_read = want_write = false;
	if (want_read != c->reading) {
		want_read ? event_add(c->ev_read, NULL) : event_del(c->ev_read);
		c->reading = want_read;
	}
	if (want_write != c->writing) {
		want_write ? event_add(c->ev_write, NULL) : event_del(c->ev_write);
		c->writing = want_write;
	}
}

static void emit(struct conn *c, enum conn_event ev)
{
	c->depth++;
	c->fn(c, ev, c->arg);
	c->depth--;
}

/* Leave one of our libevent callbacks: finish a deferred free, or re-arm. */
static void leave(struct conn *c)
{
	if (c->dead && c->depth == 0)
		conn_destroy(c);
	else if (!c->dead)
		update_events(c);
}

static void fail(struct conn *c, const char *what, const char *detail)
{
	snprintf(c->error, sizeof(c->error), "%s%s%s", what,
		 detail != NULL ? ": " : "", detail != NULL ? detail : "");
	c->state = ST_DONE;
	evtimer_del(c->ev_timer);
	if (c->depth == 0) {
		/* inside an API call (conn_flush): the owner must not free the
		 * conn under its own feet, so the error is reported from the loop */
		c->error_pending = true;
		event_active(c->ev_notify, EV_READ, 0);
		return;
	}
	emit(c, CONN_EV_ERROR);
}

/* A TLS failure, with OpenSSL's reason when it has one. */
static void tls_fail(struct conn *c, int ssl_err, const char *what)
{
	char reason[128] = "";
	unsigned long e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else if (ssl_err == SSL_ERROR_SYSCALL)
		snprintf(reason, sizeof(reason), "%s",
			 errno != 0 ? strerror(errno) : "connection closed");
	ERR_clear_error();
	fail(c, what, reason[0] != '\0' ? reason : NULL);
}

/* One read into the input buffer: >0 bytes read, 0 nothing for now, -1 EOF,
 * -2 failed (already reported). */
static ssize_t read_some(struct conn *c, char *dst, size_t n)
{
	if (c->ssl == NULL) {
		for (;;) {
			ssize_t r = read(c->fd, dst, n);
			if (r > 0)
				return r;
			if (r == 0)
				return -1;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			fail(c, "read failed", strerror(errno));
			return -2;
		}
	}
	ERR_clear_error();
	int r = SSL_read(c->ssl, dst, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	int err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ)
		return 0;
	if (err == SSL_ERROR_WANT_WRITE) {
		c->read_wants_write = true;
		return 0;
	}
	if (err == SSL_ERROR_ZERO_RETURN)
		return -1;
	tls_fail(c, err, "TLS read failed");
	return -2;
}

static void do_read(struct conn *c)
{
	size_t added = 0;
	bool eof = false;
	c->read_wants_write = false;
	while (buf_room(&c->in) > 0) {
		size_t room = buf_room(&c->in);
		size_t chunk = room < READ_CHUNK ? room : READ_CHUNK;
		if (buf_reserve(&c->in, chunk) < 0) {
			fail(c, "out of memory", NULL);
			return;
		}
		ssize_t n = read_some(c, c->in.data + c->in.len, chunk);
		if (n == -2)
			return;
		if (n == -1)
			eof = true;
		if (n <= 0)
			break;
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
		added += (size_t)n;
		if (c->ssl == NULL && (size_t)n < chunk)
			break; /* a short plain read drained the socket */
	}
	if (added > 0) {
		/* ACK at once: a client that writes a literal and its CRLF
		 * in two sends, with Nagle on (Python's imaplib), otherwise
		 * waits out our delayed ACK (40 ms) before the second one.
		 * Linux clears quick-ACK by itself, so it is set per read. */
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		emit(c, CONN_EV_INPUT);
	}
	if (eof && !c->dead && c->state != ST_DONE) {
		c->state = ST_DONE;
		emit(c, CONN_EV_CLOSED);
	}
}

/* One write from the output buffer: >0 written, 0 would block, -1 failed. */
static ssize_t write_some(struct conn *c)
{
	size_t n = c->out.len;
	if (c->ssl == NULL || c->state != ST_TLS) {
		for (;;) {
			ssize_t w = send(c->fd, c->out.data, n, MSG_NOSIGNAL);
			if (w >= 0)
				return w;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			fail(c, "write failed", strerror(errno));
			return -1;
		}
	}
	ERR_clear_error();
	int w = SSL_write(c->ssl, c->out.data, n > INT32_MAX ? INT32_MAX : (int)n);
	if (w > 0)
		return w;
	int err = SSL_get_error(c->ssl, w);
	if (err == SSL_ERROR_WANT_WRITE)
		return 0;
	if (err == SSL_ERROR_WANT_READ) {
		c->write_wants_read = true;
		return 0;
	}
	tls_fail(c, err, "TLS write failed");
	return -1;
}

/* Write what the socket takes. Returns true when the buffer is now empty. */
static bool do_write(struct conn *c)
{
	c->write_wants_read = false;
	while (c->out.len > 0) {
		ssize_t w = write_some(c);
		if (w <= 0)
			return false;
		buf_consume(&c->out, (size_t)w);
	}
	return true;
}

static void do_handshake(struct conn *c)
{
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->state = ST_TLS;
		evtimer_del(c->ev_timer);
		emit(c, CONN_EV_TLS_READY);
		/* the client may have sent its first command with its Finished */
		if (!c->dead && c->state == ST_TLS && SSL_has_pending(c->ssl))
			do_read(c);
		return;
	}
	int err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->hs_want_write = err == SSL_ERROR_WANT_WRITE;
		return;
	}
	tls_fail(c, err, "TLS handshake failed");
}

static void begin_handshake(struct conn *c)
{
	c->ssl = SSL_new(c->tls_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_fail(c, SSL_ERROR_SSL, "TLS setup failed");
		return;
	}
	SSL_set_accept_state(c->ssl);
	tls_set_client_certs(c->ssl, c->client_certs);
	c->state = ST_HANDSHAKE;
	do_handshake(c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->depth++;
	if (c->state == ST_HANDSHAKE)
		do_handshake(c);
	else if (c->state == ST_PLAIN || c->state == ST_TLS) {
		if (c->write_wants_read && do_write(c) && c->want_flushed &&
		    c->state != ST_DONE) {
			c->want_flushed = false;
			emit(c, CONN_EV_FLUSHED);
		}
		if (!c->dead && (c->state == ST_PLAIN || c->state == ST_TLS) &&
		    !c->read_paused)
			do_read(c);
	}
	c->depth--;
	leave(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->depth++;
	if (c->state == ST_HANDSHAKE) {
		do_handshake(c);
	} else if (c->state != ST_DONE) {
		if (c->read_wants_write)
			do_read(c);
		if (!c->dead && c->state != ST_DONE && do_write(c)) {
			if (c->state == ST_TLS_FLUSHING)
				begin_handshake(c);
			else if (c->want_flushed) {
				c->want_flushed = false;
				emit(c, CONN_EV_FLUSHED);
			}
		}
	}
	c->depth--;
	leave(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->depth++;
	if (c->state != ST_DONE)
		emit(c, CONN_EV_TIMEOUT);
	c->depth--;
	leave(c);
}

/* Output drained outside our own callbacks: say so from the loop, never
 * from inside the owner's call (no re-entry into the owner). */
static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->depth++;
	if (c->error_pending) {
		c->error_pending = false;
		emit(c, CONN_EV_ERROR);
	} else if (c->state == ST_TLS_FLUSHING && c->out.len == 0)
		begin_handshake(c);
	else if (c->want_flushed && c->out.len == 0 && c->state != ST_DONE) {
		c->want_flushed = false;
		emit(c, CONN_EV_FLUSHED);
	}
	c->depth--;
	leave(c);
}

/* ------------------------------------------------------------ API */

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->depth > 0) {
		c->dead = true;
		event_del(c->ev_read);
		event_del(c->ev_write);
		event_del(c->ev_timer);
		event_del(c->ev_notify);
		return;
	}
	conn_destroy(c);
}

struct buf *conn_input(struct conn *c)
{
	return &c->in;
}

void conn_input_consumed(struct conn *c)
{
	if (c->depth == 0 && !c->dead)
		update_events(c);
}

int conn_write(struct conn *c, const void *data, size_t n)
{
	if (c->state == ST_DONE)
		return -1;
	if (buf_append(&c->out, data, n) < 0)
		return -1;
	if (c->depth == 0)
		update_events(c);
	return 0;
}

void conn_flush(struct conn *c)
{
	if (c->dead || (c->state != ST_PLAIN && c->state != ST_TLS))
		return;
	if (do_write(c) && c->want_flushed)
		event_active(c->ev_notify, EV_READ, 0); /* FLUSHED from the loop */
	if (c->depth == 0 && !c->dead)
		update_events(c);
}

void conn_notify_flushed(struct conn *c)
{
	c->want_flushed = true;
	if (c->out.len == 0 && !c->dead)
		event_active(c->ev_notify, EV_READ, 0);
}

size_t conn_output_pending(const struct conn *c)
{
	return c->out.len;
}

void conn_pause_read(struct conn *c)
{
	c->read_paused = true;
	if (c->depth == 0 && !c->dead)
		update_events(c);
}

void conn_resume_read(struct conn *c)
{
	c->read_paused = false;
	if (c->dead)
		return;
	/* decrypted bytes may wait inside OpenSSL, where epoll cannot see */
	if (c->ssl != NULL && c->state == ST_TLS && SSL_has_pending(c->ssl))
		event_active(c->ev_read, EV_READ, 0);
	if (c->depth == 0)
		update_events(c);
}

void conn_set_timeout(struct conn *c, uint64_t ms)
{
	if (ms == 0) {
		evtimer_del(c->ev_timer);
		return;
	}
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(c->ev_timer, &tv);
}

int conn_start_tls(struct conn *c, SSL_CTX *ctx, uint64_t handshake_ms,
		   int client_certs)
{
	c->client_certs = client_certs;
	if (c->ssl != NULL || c->state != ST_PLAIN)
		return -1;
	/* RFC 3207 5 / CVE-2011-0411: nothing received before the handshake
	 * may be acted on after it */
	buf_clear(&c->in);
	c->tls_ctx = ctx;
	c->state = ST_TLS_FLUSHING;
	conn_set_timeout(c, handshake_ms);
	if (c->out.len == 0)
		event_active(c->ev_notify, EV_READ, 0); /* nothing to send first */
	if (c->depth == 0)
		update_events(c);
	return 0;
}

bool conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL;
}

SSL *conn_ssl(const struct conn *c)
{
	return c->state == ST_TLS ? c->ssl : NULL;
}

const char *conn_error(const struct conn *c)
{
	return c->error[0] != '\0' ? c->error : "unknown error";
}

int conn_fd(const struct conn *c)
{
	return c->fd;
}
