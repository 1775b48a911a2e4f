/* session: one POP3 connection: its events, the input loop (command lines
 * through parse.h, SASL lines during AUTH), replies, timeouts, and the
 * store jobs that run its commands on the pool (see pop3d.h). */
#include "pop3d/pop3d.h"

#include "lib/log.h"
#include "lib/util.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CLOSE_FLUSH_MS = 10000, LINE_MAX_OUT = 1024 };

static void on_conn_event(struct conn *c, enum conn_event ev, void *arg);

bool pop3d_session_start(struct service_worker *w, int fd,
			 const struct sockaddr *peer,
			 const struct listen_socket *ls)
{
	struct pop3_session *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return false;
	}
	s->conn = conn_new(w->base, fd, POP3_INPUT_MAX, on_conn_event, s);
	if (s->conn == NULL || service_conn_attach(w, &s->link, peer, s) < 0) {
		if (s->conn != NULL)
			conn_free(s->conn);
		free(s);
		return false;
	}
	s->w = w;
	s->d = w->server;
	s->ls = ls;
	s->state = POP3_STATE_AUTH;
	s->drop.lock_fd = -1;
	pop3_line_reader_init(&s->reader, POP3_LINE_MAX);
	s->peer = s->link.peer;
	netaddr_ip(peer, s->peer_ip);
	service_session_id(s->id);
	s->started_ms = monotonic_ms();
	log_info("session=%s event=connect ip=%s listener=%s protocol=pop3",
		 s->id, s->peer_ip, ls->cfg->name);
	/* the login deadline runs from the first byte, TLS included */
	conn_set_timeout(s->conn, s->d->cfg->pop3_timeout_login_ms);
	if (ls->cfg->tls == LISTENER_TLS_IMPLICIT) {
		s->phase = PP_TLS;
		conn_start_tls(s->conn, tls_server_ctx(s->d->tls),
			       s->d->cfg->smtp_timeout_tls_ms,
			       ls->cfg->client_certs);
	} else {
		pop3d_greet(s);
	}
	return true;
}

static void job_finish(struct pop3_session *s);

static void session_destroy(struct pop3_session *s)
{
	/* a job waiting for the client to read: its context (an open
	 * message) goes with the session */
	if (s->job.active && !s->job.running)
		job_finish(s);
	pop3d_auth_abort(s);
	if (s->timer != NULL)
		event_free(s->timer);
	/* no QUIT: nothing is deleted (RFC 1939 6); the lock goes */
	pop3d_maildrop_close(s);
	buf_free(&s->job.out);
	service_conn_detach(&s->link); /* and the caps go */
	free(s);
}

void pop3d_session_end(struct pop3_session *s, const char *reason)
{
	if (s->conn == NULL)
		return;
	log_info("session=%s event=disconnect reason=\"%s\" commands=%u "
		 "errors=%u duration=%.3fs",
		 s->id, reason, s->commands, s->errors,
		 (double)(monotonic_ms() - s->started_ms) / 1000.0);
	conn_free(s->conn);
	s->conn = NULL;
	s->gone = true;
	if (s->timer != NULL)
		event_del(s->timer);
	/* freed from the loop, not here: the caller may be deep in a
	 * callback of this session that still reads it */
	if (s->jobs == 0)
		service_reap(&s->link);
}

bool pop3d_session_free_if_gone(struct pop3_session *s)
{
	if (!s->gone || s->jobs > 0)
		return false;
	session_destroy(s);
	return true;
}

void pop3d_write(struct pop3_session *s, const char *data, size_t n)
{
	if (s->conn != NULL)
		s->out_total += n;
	if (s->conn != NULL && conn_write(s->conn, data, n) < 0) {
		log_warn("session=%s event=output-overflow", s->id);
		pop3d_session_end(s, "output overflow");
	}
}

static void vline(struct pop3_session *s, const char *prefix,
		  const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void vline(struct pop3_session *s, const char *prefix,
		  const char *fmt, va_list ap)
{
	char line[LINE_MAX_OUT];
	size_t n = strlen(prefix);
	if (n >= sizeof(line) - 3)
		return;
	memcpy(line, prefix, n);
	int m = vsnprintf(line + n, sizeof(line) - n - 2, fmt, ap);
	if (m < 0)
		return;
	n += (size_t)m;
	if (n > sizeof(line) - 3)
		n = sizeof(line) - 3; /* cut an over-long text */
	memcpy(line + n, "\r\n", 2);
	pop3d_write(s, line, n + 2);
}

void pop3d_printf(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(s, "", fmt, ap);
	va_end(ap);
}

void pop3d_error(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	s->errors++;
	va_start(ap, fmt);
	vline(s, "-ERR ", fmt, ap);
	va_end(ap);
}

void pop3d_close_with(struct pop3_session *s, const char *line)
{
	if (s->conn == NULL || s->phase == PP_CLOSING)
		return;
	if (line != NULL)
		pop3d_printf(s, "%s", line);
	if (s->conn == NULL)
		return; /* the write ended the session */
	s->phase = PP_CLOSING;
	conn_pause_read(s->conn);
	conn_notify_flushed(s->conn);
	conn_set_timeout(s->conn, CLOSE_FLUSH_MS);
	conn_flush(s->conn);
}

void pop3d_await_command(struct pop3_session *s)
{
	/* before login the deadline set at connect keeps running: a client
	 * cannot stay unauthenticated by sending CAPA */
	if (s->conn != NULL && s->state != POP3_STATE_AUTH)
		conn_set_timeout(s->conn, s->d->cfg->pop3_timeout_idle_ms);
}

void pop3d_resume(struct pop3_session *s)
{
	if (s->conn == NULL)
		return;
	if (s->w->stopping) {
		/* the stop came while a job or a login check ran and found
		 * nothing to wind down (server.c): without this the session
		 * would go on, and the drain would wait for it until the stop
		 * timed out (imapd_resume does the same) */
		s->phase = PP_COMMAND;
		pop3d_close_with(s, "-ERR [SYS/TEMP] Server shutting down");
		return;
	}
	s->phase = PP_COMMAND;
	conn_resume_read(s->conn);
	pop3d_await_command(s);
}

/* ------------------------------------------------------------ jobs */

static void job_submit(struct pop3_session *s);

/* Hand job output to the conn, as much as it takes; true when all went. */
static bool job_drain(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	while (s->conn != NULL && j->sent < j->out.len) {
		if (conn_output_pending(s->conn) >= POP3_CHUNK)
			break;
		size_t left = j->out.len - j->sent;
		size_t n = left < POP3_CHUNK ? left : POP3_CHUNK;
		pop3d_write(s, j->out.data + j->sent, n);
		j->sent += n;
	}
	if (s->conn == NULL)
		return false;
	conn_flush(s->conn);
	if (j->sent < j->out.len) {
		conn_notify_flushed(s->conn);
		return false;
	}
	buf_clear(&j->out);
	j->sent = 0;
	return true;
}

static void job_finish(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	pop3_job_end *end = j->end;
	void *ctx = j->ctx;
	j->active = false;
	j->run = NULL;
	j->end = NULL;
	j->ctx = NULL;
	if (end != NULL)
		end(s, ctx);
}

/* On the loop: move the output along; then run again, or end. */
static void job_continue(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	if (!job_drain(s))
		return; /* FLUSHED brings us back */
	if (j->more) {
		if (conn_output_pending(s->conn) > 0) {
			conn_notify_flushed(s->conn); /* let the client read */
			return;
		}
		job_submit(s);
		return;
	}
	job_finish(s);
	if (s->conn == NULL)
		return;
	if (s->phase == PP_JOB)
		pop3d_resume(s);
	pop3d_process_input(s);
}

static void job_back(void *arg)
{
	struct pop3_session *s = arg;
	s->jobs--;
	s->job.running = false;
	if (s->gone) {
		s->job.more = false;
		job_finish(s); /* frees the context */
		pop3d_session_free_if_gone(s);
		return;
	}
	job_continue(s);
}

static void job_thread(void *arg)
{
	struct pop3_session *s = arg;
	struct pop3_job *j = &s->job;
	j->more = j->run(s, j->ctx, &j->out) == 0;
	if (inbox_post(s->w->inbox, job_back, s) < 0)
		abort(); /* the session would hang for ever */
}

static void job_submit(struct pop3_session *s)
{
	s->job.running = true;
	s->jobs++;
	if (pool_submit(s->d->store_pool, job_thread, s) < 0) {
		s->jobs--;
		s->job.running = false;
		s->job.more = false;
		/* a reply cut short cannot be repaired: close */
		pop3d_close_with(s, "-ERR [SYS/TEMP] Server busy, try again");
		job_finish(s);
	}
}

void pop3d_job_start(struct pop3_session *s, pop3_job_run *run,
		     pop3_job_end *end, void *ctx)
{
	struct pop3_job *j = &s->job;
	if (j->out.max == 0) /* a chunk, stuffed (at most twice), and a line */
		buf_init(&j->out, POP3_CHUNK * 3);
	j->run = run;
	j->end = end;
	j->ctx = ctx;
	j->active = true;
	j->more = false;
	if (s->phase == PP_COMMAND)
		s->phase = PP_JOB;
	if (s->conn != NULL) {
		conn_pause_read(s->conn);
		/* what was written before the job goes first */
		conn_flush(s->conn);
	}
	if (s->conn == NULL) { /* gone meanwhile: no job for nobody */
		job_finish(s);
		return;
	}
	job_submit(s);
}

/* ------------------------------------------------------------ input */

/* A SASL response line (RFC 5034 4: not a command, longer lines). */
static bool take_sasl_line(struct pop3_session *s, struct buf *in)
{
	char *nl = memchr(in->data, '\n', in->len);
	if (nl == NULL) {
		if (in->len > POP3_SASL_LINE_MAX)
			pop3d_close_with(s, "-ERR Line too long");
		return false;
	}
	size_t n = (size_t)(nl - in->data), used = n + 1;
	if (n > 0 && in->data[n - 1] == '\r')
		n--;
	if (n > POP3_SASL_LINE_MAX) {
		pop3d_close_with(s, "-ERR Line too long");
		return false;
	}
	char *line = malloc(n + 1);
	if (line == NULL) {
		pop3d_session_end(s, "out of memory");
		return false;
	}
	memcpy(line, in->data, n);
	line[n] = '\0';
	buf_consume(in, used);
	pop3d_auth_line(s, line, n);
	explicit_bzero(line, n); /* it may have held a password */
	free(line);
	return true;
}

/* The next command line, parsed and dispatched. */
static bool take_command(struct pop3_session *s, struct buf *in)
{
	size_t used, n;
	int r = pop3_line_take(&s->reader, in->data, in->len, &used, &n);
	char line[POP3_LINE_MAX + 1];
	if (r == 1)
		memcpy(line, in->data, n);
	buf_consume(in, used);
	if (r == 0)
		return false;
	s->commands++;
	if (r < 0) {
		/* RFC 2449 4: 255 octets, CRLF included */
		pop3d_error(s, "Line too long (%d octets at most)",
			    POP3_LINE_MAX);
		return true;
	}
	struct pop3_command cmd;
	const char *why;
	if (pop3_parse_command(line, n, &cmd, &why) < 0)
		pop3d_error(s, "%s", why);
	else
		pop3d_dispatch(s, &cmd);
	explicit_bzero(line, n); /* PASS */
	return true;
}

void pop3d_process_input(struct pop3_session *s)
{
	if (s->conn == NULL)
		return;
	struct buf *in = conn_input(s->conn);
	while (s->conn != NULL) {
		if (s->phase == PP_JOB || s->phase == PP_TLS ||
		    s->phase == PP_CLOSING || s->phase == PP_AUTH_WAIT ||
		    s->job.active)
			break;
		if (conn_output_pending(s->conn) > POP3_OUTPUT_HIGH) {
			/* a client that sends without reading what we say */
			s->waiting_flush = true;
			conn_notify_flushed(s->conn);
			break;
		}
		if (in->len == 0)
			break;
		bool go_on = s->phase == PP_SASL ? take_sasl_line(s, in)
						 : take_command(s, in);
		if (!go_on)
			break;
		if (s->errors >= s->d->cfg->pop3_max_errors &&
		    s->phase != PP_CLOSING && s->conn != NULL) {
			log_info("session=%s event=too-many-errors errors=%u",
				 s->id, s->errors);
			pop3d_close_with(s, "-ERR Too many errors");
		}
	}
	if (s->conn != NULL) {
		conn_input_consumed(s->conn);
		conn_flush(s->conn);
	}
}

/* ------------------------------------------------------------ events */

static void tls_ready(struct pop3_session *s)
{
	struct tls_info info;
	tls_describe(conn_ssl(s->conn), &info);
	s->tls = true;
	log_info("session=%s event=tls version=%s cipher=%s bits=%d", s->id,
		 info.version, info.cipher, info.bits);
	if (s->ls->cfg->tls == LISTENER_TLS_IMPLICIT) {
		pop3d_greet(s);
		return;
	}
	/* RFC 2595 4: no greeting after STLS; the client asks CAPA again.
	 * Whatever came before is forgotten (conn_start_tls dropped the
	 * bytes; the session drops the USER name and any half line). */
	s->have_user = false;
	pop3_line_reader_init(&s->reader, POP3_LINE_MAX);
	s->phase = PP_COMMAND;
}

static void on_timeout(struct pop3_session *s)
{
	if (s->phase == PP_TLS) {
		log_info("session=%s event=tls-timeout", s->id);
		pop3d_session_end(s, "TLS handshake timed out");
	} else if (s->phase == PP_CLOSING) {
		pop3d_session_end(s, "closing response not read");
	} else if (s->phase == PP_JOB &&
		   s->out_total - conn_output_pending(s->conn) != s->out_sent_mark) {
		/* a long RETR to a slow reader is not idleness; one that
		 * reads nothing for the whole timeout is */
		s->out_sent_mark = s->out_total - conn_output_pending(s->conn);
		conn_set_timeout(s->conn, s->d->cfg->pop3_timeout_idle_ms);
	} else if (s->phase == PP_JOB) {
		log_info("session=%s event=timeout state=output-not-read", s->id);
		pop3d_session_end(s, "output not read");
	} else {
		/* RFC 1939 3: the autologout timer closes the connection
		 * without a response and without entering UPDATE */
		log_info("session=%s event=timeout state=%u", s->id, s->state);
		pop3d_session_end(s, s->state == POP3_STATE_AUTH
					     ? "login timeout"
					     : "idle timeout");
	}
}

static void on_conn_event(struct conn *c, enum conn_event ev, void *arg)
{
	struct pop3_session *s = arg;
	switch (ev) {
	case CONN_EV_INPUT:
		pop3d_process_input(s);
		break;
	case CONN_EV_FLUSHED:
		if (s->phase == PP_CLOSING) {
			pop3d_session_end(s, "closed by us");
		} else if (s->job.active && !s->job.running) {
			job_continue(s);
		} else if (s->waiting_flush) {
			s->waiting_flush = false;
			pop3d_process_input(s);
		}
		break;
	case CONN_EV_TLS_READY:
		tls_ready(s);
		pop3d_process_input(s);
		break;
	case CONN_EV_TIMEOUT:
		on_timeout(s);
		break;
	case CONN_EV_CLOSED:
		pop3d_session_end(s, s->phase == PP_CLOSING ? "closed"
							    : "client closed");
		break;
	case CONN_EV_ERROR:
		log_info("session=%s event=error error=\"%s\"", s->id,
			 conn_error(c));
		pop3d_session_end(s, conn_error(c));
		break;
	}
}
