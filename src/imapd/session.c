/* session: one IMAP connection: its events, the input loop through the
 * command parser, responses, timeouts, and the store jobs that run its
 * commands on the pool (see imapd.h). */
#include "imapd/imapd.h"

#include "lib/log.h"
#include "lib/util.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum { CLOSE_FLUSH_MS = 10000, LINE_MAX_OUT = 2048 };

static void on_conn_event(struct conn *c, enum conn_event ev, void *arg);
static void conn_event(struct imap_session *s, struct conn *c,
		       enum conn_event ev);

static void set_parser_limits(struct imap_session *s, bool pre_auth)
{
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, pre_auth, s->d->cfg->imap_max_message_size);
	if (pre_auth) {
		lim.literal_max = IMAP_PRE_AUTH_LITERAL;
		lim.command_max = lim.text_max + lim.literal_max;
	}
	imap_parser_set_limits(s->parser, &lim);
}

static void greet(struct imap_session *s)
{
	struct buf caps;
	buf_init(&caps, 0);
	imapd_capabilities(s, &caps);
	s->phase = IP_COMMAND;
	imapd_printf(s, "* OK [CAPABILITY %s] Postern IMAP ready",
		     buf_cstr(&caps));
	buf_free(&caps);
	if (s->conn != NULL)
		conn_flush(s->conn);
}

bool imapd_session_start(struct service_worker *w, int fd,
			 const struct sockaddr *peer,
			 const struct listen_socket *ls)
{
	struct imap_session *s = calloc(1, sizeof(*s));
	struct imap_parse_limits lim;
	imap_parse_limits_init(&lim, true, 0);
	if (s == NULL || (s->parser = imap_parser_new(&lim)) == NULL) {
		free(s);
		close(fd);
		return false;
	}
	s->conn = conn_new(w->base, fd, IMAP_INPUT_MAX, on_conn_event, s);
	if (s->conn == NULL || service_conn_attach(w, &s->link, peer, s) < 0) {
		if (s->conn != NULL)
			conn_free(s->conn);
		imap_parser_free(&s->parser);
		free(s);
		return false;
	}
	s->w = w;
	s->d = w->server;
	s->ls = ls;
	s->state = IMAP_STATE_NOT_AUTH;
	s->peer = s->link.peer;
	netaddr_ip(peer, s->peer_ip);
	service_session_id(s->id);
	s->started_ms = monotonic_ms();
	set_parser_limits(s, true);
	log_info("session=%s event=connect ip=%s listener=%s protocol=imap",
		 s->id, s->peer_ip, ls->cfg->name);
	/* the login deadline runs from the first byte, TLS included */
	conn_set_timeout(s->conn, s->d->cfg->imap_timeout_login_ms);
	if (ls->cfg->tls == LISTENER_TLS_IMPLICIT) {
		s->phase = IP_TLS;
		conn_start_tls(s->conn, tls_server_ctx(s->d->tls),
			       s->d->cfg->smtp_timeout_tls_ms,
			       ls->cfg->client_certs);
	} else {
		greet(s);
	}
	return true;
}

static void job_finish(struct imap_session *s);

static void session_destroy(struct imap_session *s)
{
	/* a job waiting for its output to be read when the client went:
	 * its end function frees its context */
	if (s->job.active)
		job_finish(s);
	imapd_auth_abort(s);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->mb != NULL)
		store_mailbox_free(&s->mb);
	buf_free(&s->job.out);
	imap_parser_free(&s->parser);
	service_conn_detach(&s->link); /* and the caps go */
	free(s);
}

void imapd_session_end(struct imap_session *s, const char *reason)
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
	atomic_store(&s->job.cancelled, true);
	if (s->timer != NULL)
		event_del(s->timer);
	imapd_session_free_if_gone(s);
}

bool imapd_session_free_if_gone(struct imap_session *s)
{
	if (!s->gone || s->jobs > 0 || s->busy > 0)
		return false;
	session_destroy(s);
	return true;
}

void imapd_session_hold(struct imap_session *s)
{
	s->busy++;
}

bool imapd_session_release(struct imap_session *s)
{
	s->busy--;
	return imapd_session_free_if_gone(s);
}

void imapd_write(struct imap_session *s, const char *data, size_t n)
{
	if (s->conn == NULL)
		return;
	if (conn_write(s->conn, data, n) < 0) {
		log_warn("session=%s event=output-overflow", s->id);
		imapd_session_end(s, "output overflow");
		return;
	}
	s->out_total += n;
}

/* Bytes the socket took so far. */
static uint64_t out_sent(const struct imap_session *s)
{
	return s->out_total - conn_output_pending(s->conn);
}

static void vline(struct imap_session *s, const char *prefix,
		  const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void vline(struct imap_session *s, const char *prefix,
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
	imapd_write(s, line, n + 2);
}

void imapd_printf(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(s, "", fmt, ap);
	va_end(ap);
}

void imapd_tagged(struct imap_session *s, const char *status,
		  const char *fmt, ...)
{
	char prefix[IMAP_TAG_MAX + 8];
	snprintf(prefix, sizeof(prefix), "%s %s ", s->tag, status);
	if (strcmp(status, "BAD") == 0)
		s->errors++;
	va_list ap;
	va_start(ap, fmt);
	vline(s, prefix, fmt, ap);
	va_end(ap);
}

void imapd_close_with(struct imap_session *s, const char *why)
{
	if (s->conn == NULL || s->phase == IP_CLOSING)
		return;
	if (why != NULL)
		imapd_printf(s, "* BYE %s", why);
	if (s->conn == NULL)
		return; /* the BYE did not fit */
	s->phase = IP_CLOSING;
	conn_pause_read(s->conn);
	conn_notify_flushed(s->conn);
	conn_set_timeout(s->conn, CLOSE_FLUSH_MS);
	conn_flush(s->conn);
}

void imapd_await_command(struct imap_session *s)
{
	/* before login the deadline set at connect keeps running: a client
	 * cannot stay unauthenticated by sending NOOPs */
	if (s->conn != NULL && s->state != IMAP_STATE_NOT_AUTH)
		conn_set_timeout(s->conn, s->d->cfg->imap_timeout_idle_ms);
}

void imapd_resume(struct imap_session *s)
{
	if (s->conn == NULL)
		return;
	if (s->w->stopping) { /* the stop came while the command ran */
		s->phase = IP_COMMAND;
		imapd_close_with(s, "Server shutting down");
		return;
	}
	s->phase = IP_COMMAND;
	conn_resume_read(s->conn);
	imapd_await_command(s);
}

void imapd_logged_in(struct imap_session *s, const char *user, uint64_t quota)
{
	s->state = IMAP_STATE_AUTH;
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->opt.quota = quota;
	s->opt.hostname = s->d->cfg->hostname;
	set_parser_limits(s, false);
}

/* ------------------------------------------------------------ jobs */

static void job_submit(struct imap_session *s);

/* Hand job output to the conn, as much as its buffer takes; true when
 * all of it went. */
static bool job_drain(struct imap_session *s)
{
	struct imap_job *j = &s->job;
	while (s->conn != NULL && j->sent < j->out.len) {
		size_t room = IMAP_CHUNK, left = j->out.len - j->sent;
		if (conn_output_pending(s->conn) >= IMAP_CHUNK)
			break;
		size_t n = left < room ? left : room;
		imapd_write(s, j->out.data + j->sent, n);
		j->sent += n;
	}
	if (s->conn != NULL)
		conn_flush(s->conn);
	if (s->conn == NULL)
		return false; /* gone: session_destroy ends the job */
	if (j->sent < j->out.len) {
		conn_notify_flushed(s->conn);
		return false;
	}
	/* a big response (a message near the size limit) would otherwise
	 * keep its peak size for the life of the session */
	if (j->out.cap > 4 * IMAP_CHUNK)
		buf_free(&j->out);
	else
		buf_clear(&j->out);
	j->sent = 0;
	return true;
}

static void job_finish(struct imap_session *s)
{
	struct imap_job *j = &s->job;
	imap_job_end *end = j->end;
	void *ctx = j->ctx;
	j->active = false;
	j->run = NULL;
	j->end = NULL;
	j->ctx = NULL;
	if (end != NULL)
		end(s, ctx);
}

/* On the loop: move the output along; then run again, or end. */
static void job_continue(struct imap_session *s)
{
	struct imap_job *j = &s->job;
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
	if (s->mailbox_lost) { /* the BYE is sent: nothing may follow */
		imapd_close_with(s, NULL);
		return;
	}
	if (s->phase == IP_JOB)
		imapd_resume(s);
	else if (s->phase != IP_CLOSING)
		conn_resume_read(s->conn); /* an IDLE poll */
	imapd_process_input(s);
}

static void job_back(void *arg)
{
	struct imap_session *s = arg;
	s->jobs--;
	s->job.running = false;
	imapd_session_hold(s);
	if (s->gone) {
		s->job.more = false;
		job_finish(s); /* frees the context */
	} else {
		job_continue(s);
	}
	imapd_session_release(s);
}

static void job_thread(void *arg)
{
	struct imap_session *s = arg;
	struct imap_job *j = &s->job;
	j->more = j->run(s, j->ctx, &j->out) == 0;
	if (inbox_post(s->w->inbox, job_back, s) < 0)
		abort(); /* the session would hang for ever */
}

static void job_submit(struct imap_session *s)
{
	s->job.running = true;
	s->jobs++;
	if (pool_submit(s->d->store_pool, job_thread, s) < 0) {
		s->jobs--;
		s->job.running = false;
		s->job.more = false;
		imapd_tagged(s, "NO", "[UNAVAILABLE] Server busy, try again");
		job_finish(s);
		imapd_resume(s);
	}
}

void imapd_job_start(struct imap_session *s, imap_job_run *run,
		     imap_job_end *end, void *ctx)
{
	struct imap_job *j = &s->job;
	if (j->out.max == 0) /* one message in CRLF form, and a chunk more */
		buf_init(&j->out, s->d->cfg->imap_max_message_size * 2 +
					  IMAP_CHUNK * 2);
	j->run = run;
	j->end = end;
	j->ctx = ctx;
	j->active = true;
	j->more = false;
	atomic_store(&j->cancelled, false);
	if (s->conn != NULL && s->phase == IP_COMMAND) {
		/* the idle timeout watches the job's output from now on */
		s->out_sent_mark = out_sent(s);
		conn_set_timeout(s->conn, s->d->cfg->imap_timeout_idle_ms);
	}
	if (s->conn == NULL) { /* a response before the job did not fit */
		job_finish(s);
		return;
	}
	if (s->phase == IP_COMMAND)
		s->phase = IP_JOB;
	conn_pause_read(s->conn);
	conn_flush(s->conn); /* what was written before the job goes first */
	if (s->conn == NULL) { /* the flush failed: nothing to run for */
		job_finish(s);
		return;
	}
	job_submit(s);
}

/* ------------------------------------------------------------ input */

static void parse_error(struct imap_session *s)
{
	const struct imap_parse_error *e = imap_parser_error(s->parser);
	char code[48] = "";
	if (e->code != NULL)
		snprintf(code, sizeof(code), "[%s] ", e->code);
	s->errors++;
	if (e->tagged)
		imapd_printf(s, "%s BAD %s%s", imap_parser_command(s->parser)->tag,
			     code, e->msg);
	else
		imapd_printf(s, "* BAD %s%s", code, e->msg);
	if (e->fatal)
		imapd_close_with(s, "Cannot go on after that");
}

static void literal_announced(struct imap_session *s)
{
	const struct imap_literal *lit = imap_parser_literal(s->parser);
	imap_parser_literal_accept(s->parser, false);
	if (lit->sync) /* RFC 9051 7.5: the continuation request */
		imapd_printf(s, "+ Ready for literal data");
}

/* A whole line (CRLF) from the input, for SASL and IDLE; false when more
 * is needed. A line longer than max ends the session. */
static bool take_line(struct imap_session *s, struct buf *in, size_t max,
		      void (*fn)(struct imap_session *, const char *, size_t))
{
	char *nl = memchr(in->data, '\n', in->len);
	if (nl == NULL) {
		if (in->len > max)
			imapd_close_with(s, "Line too long");
		return false;
	}
	size_t n = (size_t)(nl - in->data), used = n + 1;
	if (n > 0 && in->data[n - 1] == '\r')
		n--;
	if (n > max) {
		imapd_close_with(s, "Line too long");
		return false;
	}
	char *line = malloc(n + 1);
	if (line == NULL) {
		imapd_session_end(s, "out of memory");
		return false;
	}
	memcpy(line, in->data, n);
	line[n] = '\0';
	buf_consume(in, used);
	fn(s, line, n);
	explicit_bzero(line, n); /* it may have held a password */
	free(line);
	return true;
}

static bool feed(struct imap_session *s, struct buf *in)
{
	size_t used = 0;
	enum imap_parse_result r =
		imap_parser_feed(s->parser, in->data, in->len, &used);
	buf_consume(in, used);
	switch (r) {
	case IMAP_PARSE_MORE:
		return false;
	case IMAP_PARSE_LITERAL:
		literal_announced(s);
		return true;
	case IMAP_PARSE_ERROR:
		parse_error(s);
		return true;
	case IMAP_PARSE_DONE:
		s->commands++;
		imapd_dispatch(s, imap_parser_command(s->parser));
		return true;
	}
	return false;
}

void imapd_process_input(struct imap_session *s)
{
	if (s->conn == NULL)
		return;
	struct buf *in = conn_input(s->conn);
	while (s->conn != NULL) {
		if (s->phase == IP_JOB || s->phase == IP_TLS ||
		    s->phase == IP_CLOSING || s->phase == IP_AUTH_WAIT ||
		    s->job.active) /* (an IDLE poll: DONE waits for it) */
			break;
		if (conn_output_pending(s->conn) > IMAP_OUTPUT_HIGH) {
			/* a client that sends without reading what we say */
			s->waiting_flush = true;
			conn_notify_flushed(s->conn);
			break;
		}
		if (in->len == 0)
			break;
		bool go_on;
		if (s->phase == IP_AUTH)
			go_on = take_line(s, in, IMAP_SASL_LINE_MAX,
					  imapd_auth_line);
		else if (s->phase == IP_IDLE)
			go_on = take_line(s, in, 64, imapd_idle_line);
		else
			go_on = feed(s, in);
		if (!go_on)
			break;
		if (s->errors >= s->d->cfg->imap_max_errors &&
		    s->phase != IP_CLOSING) {
			log_info("session=%s event=too-many-errors errors=%u",
				 s->id, s->errors);
			imapd_close_with(s, "Too many errors");
		}
	}
	if (s->conn != NULL) {
		conn_input_consumed(s->conn);
		conn_flush(s->conn);
	}
}

/* ------------------------------------------------------------ events */

/* The handshake had its own timer: back to what is left of the login
 * deadline, which runs from the connection. */
static void login_deadline(struct imap_session *s)
{
	uint64_t limit = s->d->cfg->imap_timeout_login_ms;
	uint64_t used = monotonic_ms() - s->started_ms;
	if (s->state == IMAP_STATE_NOT_AUTH)
		conn_set_timeout(s->conn, used < limit ? limit - used : 1);
}

static void tls_ready(struct imap_session *s)
{
	struct tls_info info;
	tls_describe(conn_ssl(s->conn), &info);
	s->tls = true;
	log_info("session=%s event=tls version=%s cipher=%s bits=%d", s->id,
		 info.version, info.cipher, info.bits);
	if (s->ls->cfg->tls == LISTENER_TLS_IMPLICIT) {
		login_deadline(s);
		greet(s);
		return;
	}
	/* RFC 9051 6.2.1: no greeting after STARTTLS; the client asks for
	 * CAPABILITY again */
	s->phase = IP_COMMAND;
	login_deadline(s);
}

/* Output that waits and has not moved since the job started or the timer
 * last fired: the client reads nothing, and would keep its session and up
 * to a message of our memory for ever. */
static bool output_stalled(struct imap_session *s)
{
	uint64_t sent = out_sent(s);
	bool stalled = conn_output_pending(s->conn) > 0 &&
		       sent == s->out_sent_mark;
	s->out_sent_mark = sent;
	return stalled;
}

/* After login, a client that still reads our output is not idle, nor is
 * one whose job runs (a long SEARCH); one that reads none of it for the
 * idle timeout is closed, without a BYE it would not read either. */
static void output_timeout(struct imap_session *s)
{
	if (output_stalled(s)) {
		log_info("session=%s event=timeout state=%u output=%zu", s->id,
			 s->state, conn_output_pending(s->conn));
		imapd_session_end(s, "output not read");
		return;
	}
	conn_set_timeout(s->conn, s->d->cfg->imap_timeout_idle_ms);
}

static void on_timeout(struct imap_session *s)
{
	if (s->phase == IP_TLS) {
		log_info("session=%s event=tls-timeout", s->id);
		imapd_session_end(s, "TLS handshake timed out");
	} else if (s->phase == IP_CLOSING) {
		imapd_session_end(s, "closing response not read");
	} else if (s->state != IMAP_STATE_NOT_AUTH &&
		   (s->phase == IP_JOB || conn_output_pending(s->conn) > 0)) {
		output_timeout(s);
	} else {
		log_info("session=%s event=timeout state=%u", s->id, s->state);
		imapd_close_with(s, s->state == IMAP_STATE_NOT_AUTH
					    ? "Login timeout"
					    : "Autologout; idle for too long");
	}
}

static void on_conn_event(struct conn *c, enum conn_event ev, void *arg)
{
	struct imap_session *s = arg;
	imapd_session_hold(s);
	conn_event(s, c, ev);
	imapd_session_release(s);
}

static void conn_event(struct imap_session *s, struct conn *c,
		       enum conn_event ev)
{
	switch (ev) {
	case CONN_EV_INPUT:
		imapd_process_input(s);
		break;
	case CONN_EV_FLUSHED:
		if (s->phase == IP_CLOSING) {
			imapd_session_end(s, "closed by us");
		} else if (s->job.active && !s->job.running) {
			job_continue(s);
		} else if (s->waiting_flush) {
			s->waiting_flush = false;
			imapd_process_input(s);
		}
		break;
	case CONN_EV_TLS_READY:
		tls_ready(s);
		imapd_process_input(s);
		break;
	case CONN_EV_TIMEOUT:
		on_timeout(s);
		break;
	case CONN_EV_CLOSED:
		imapd_session_end(s, s->phase == IP_CLOSING ? "closed"
							    : "client closed");
		break;
	case CONN_EV_ERROR:
		log_info("session=%s event=error error=\"%s\"", s->id,
			 conn_error(c));
		imapd_session_end(s, conn_error(c));
		break;
	}
}
