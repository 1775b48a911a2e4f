/* session: one SMTP connection: its events, input loop, replies, timeouts. */
#include "smtpd/smtpd.h"

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

enum { CLOSE_FLUSH_MS = 10000, REPLY_MAX = 1024 };

static void on_conn_event(struct conn *c, enum conn_event ev, void *arg);

static void greet(struct session *s)
{
	s->state = S_INIT;
	s->phase = P_COMMAND;
	/* RFC 5321 4.2: no enhanced status code in the greeting */
	session_reply(s, 220, NULL, "%s ESMTP Postern", s->sd->cfg->hostname);
	session_await_command(s);
	conn_flush(s->conn);
}

bool session_start(struct service_worker *w, int fd,
		   const struct sockaddr *peer, const struct listen_socket *ls)
{
	struct smtpd *sd = w->server;
	struct session *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return false;
	}
	s->conn = conn_new(w->base, fd, SMTP_INPUT_MAX, on_conn_event, s);
	if (s->conn == NULL || service_conn_attach(w, &s->link, peer, s) < 0) {
		if (s->conn != NULL)
			conn_free(s->conn);
		free(s);
		return false;
	}
	s->w = w;
	s->sd = sd;
	s->ls = ls;
	s->peer = s->link.peer;
	netaddr_ip(peer, s->peer_ip);
	service_session_id(s->id);
	s->started_ms = monotonic_ms();
	log_info("session=%s event=connect ip=%s listener=%s", s->id,
		 s->peer_ip, ls->cfg->name);
	if (ls->cfg->tls == LISTENER_TLS_IMPLICIT) {
		s->phase = P_TLS;
		conn_start_tls(s->conn, tls_server_ctx(sd->tls),
			       sd->cfg->smtp_timeout_tls_ms, ls->cfg->client_certs);
	} else {
		greet(s);
	}
	return true;
}

/* Free everything; the connection must already be gone. */
static void session_destroy(struct session *s)
{
	smtpd_auth_abort(s);
	if (s->auth_timer != NULL)
		event_free(s->auth_timer);
	smtpd_data_abort(s);
	envelope_free(&s->tx.env);
	service_conn_detach(&s->link); /* and the caps go */
	free(s);
}

void session_end(struct session *s, const char *reason)
{
	if (s->conn == NULL)
		return; /* already ended; waiting for the commit or the reap */
	log_info("session=%s event=disconnect reason=\"%s\" commands=%u "
		 "messages=%u errors=%u duration=%.3fs",
		 s->id, reason, s->commands, s->messages, s->errors,
		 (double)(monotonic_ms() - s->started_ms) / 1000.0);
	conn_free(s->conn);
	s->conn = NULL;
	s->gone = true;
	if (s->auth_timer != NULL) /* it would find no connection */
		event_del(s->auth_timer);
	/* freed from the loop, not here: the caller may be deep in a callback
	 * of this session that still reads it; with a job under way, the
	 * last job to report back frees it */
	if (s->jobs == 0)
		service_reap(&s->link);
}

bool session_free_if_gone(struct session *s)
{
	if (!s->gone || s->jobs > 0)
		return false;
	session_destroy(s);
	return true;
}

void session_reset_transaction(struct session *s)
{
	smtpd_data_abort(s);
	envelope_free(&s->tx.env);
	memset(&s->tx, 0, sizeof(s->tx));
	if (s->state & (S_MAIL | S_RCPT | S_BDAT))
		s->state = S_READY;
}

void session_await_command(struct session *s)
{
	/* a deadline for the whole next command: bytes that dribble in do not
	 * move it (RFC 5321 4.5.3.2.7 asks for at least 5 minutes) */
	conn_set_timeout(s->conn, s->sd->cfg->smtp_timeout_command_ms);
}

static void reply_write(struct session *s, int code, const char *sep,
			const char *status, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static void reply_write(struct session *s, int code, const char *sep,
			const char *status, const char *fmt, va_list ap)
{
	char line[REPLY_MAX];
	int n = snprintf(line, sizeof(line), "%03d%s%s%s", code, sep,
			 status != NULL ? status : "", status != NULL ? " " : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 3)
		len = sizeof(line) - 3; /* cut an over-long text */
	memcpy(line + len, "\r\n", 2);
	if (s->conn != NULL)
		conn_write(s->conn, line, len + 2);
	if (code >= 400 && code != 421)
		s->errors++;
}

void session_reply(struct session *s, int code, const char *status,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_write(s, code, " ", status, fmt, ap);
	va_end(ap);
}

void session_reply_line(struct session *s, int code, bool more,
			const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_write(s, code, more ? "-" : " ", NULL, fmt, ap);
	va_end(ap);
}

void session_close_with(struct session *s, int code, const char *status,
			const char *why)
{
	if (s->conn == NULL || s->phase == P_CLOSING)
		return;
	session_reply(s, code, status, "%s", why);
	s->phase = P_CLOSING;
	conn_pause_read(s->conn);
	conn_notify_flushed(s->conn);
	conn_set_timeout(s->conn, CLOSE_FLUSH_MS);
	conn_flush(s->conn);
}

/* Only AUTH and SASL responses may pass 512 bytes (RFC 4954 4). */
static bool may_be_long(const struct session *s, const char *line, size_t len)
{
	return s->phase == P_AUTH ||
	       (len >= 5 && strncasecmp(line, "AUTH ", 5) == 0);
}

/* One framed command line, or the reply for a line that could not be one. */
static void command_line(struct session *s, enum smtp_line_result r,
			 const char *line, size_t len)
{
	s->commands++;
	if (r == SMTP_LINE_TOO_LONG ||
	    (r == SMTP_LINE_OK && len + 2 > SMTP_COMMAND_LINE_MAX &&
	     !may_be_long(s, line, len)))
		session_reply(s, 500, "5.5.2", "Line too long (%d bytes at most)",
			      SMTP_COMMAND_LINE_MAX);
	else if (r == SMTP_LINE_BARE_LF)
		session_reply(s, 500, "5.5.2",
			      "Syntax error: lines must end with CRLF");
	else if (s->phase == P_AUTH)
		smtpd_auth_line(s, line, len);
	else
		smtpd_dispatch(s, line, len);
	if (s->errors >= s->sd->cfg->smtp_max_errors && s->phase != P_CLOSING) {
		log_info("session=%s event=too-many-errors errors=%u", s->id,
			 s->errors);
		session_close_with(s, 421, "4.7.0", "Too many errors");
	}
}

/* Take one command line from the input, if a whole one is there. Returns
 * false when more input is needed. */
static bool next_command(struct session *s, struct buf *in)
{
	char line[SMTP_AUTH_LINE_MAX + 1];
	size_t consumed = 0, len = 0;
	size_t max = smtpd_auth_offered(s) ? SMTP_AUTH_LINE_MAX
					   : SMTP_COMMAND_LINE_MAX;
	enum smtp_line_result r =
		smtp_line_next(&s->lines, in->data, in->len, max, &consumed, &len);
	if (r == SMTP_LINE_OK) {
		memcpy(line, in->data, len); /* the handler may reset the input */
		line[len] = '\0'; /* handlers may treat the arguments as a string */
	}
	buf_consume(in, consumed);
	if (r == SMTP_LINE_NONE)
		return false;
	command_line(s, r, line, len);
	explicit_bzero(line, len); /* it may have been a password */
	return true;
}

void session_process_input(struct session *s)
{
	if (s->conn == NULL)
		return;
	struct buf *in = conn_input(s->conn);
	while (s->conn != NULL) {
		if (s->phase == P_COMMIT || s->phase == P_TLS ||
		    s->phase == P_CLOSING || s->phase == P_AUTH_WAIT)
			break;
		if (conn_output_pending(s->conn) > SMTP_OUTPUT_HIGH) {
			/* a client that sends without reading our replies */
			s->waiting_flush = true;
			conn_notify_flushed(s->conn);
			break;
		}
		if (s->phase == P_DATA || s->phase == P_BDAT) {
			if (in->len == 0)
				break;
			size_t n = s->phase == P_DATA
					   ? smtpd_data_input(s, in->data, in->len)
					   : smtpd_bdat_input(s, in->data, in->len);
			buf_consume(in, n);
			continue;
		}
		if (in->len == 0 || !next_command(s, in))
			break;
	}
	if (s->conn != NULL) {
		conn_input_consumed(s->conn);
		conn_flush(s->conn);
	}
}

static void tls_ready(struct session *s)
{
	struct tls_info info;
	tls_describe(conn_ssl(s->conn), &info);
	s->tls = true;
	snprintf(s->tls_version, sizeof(s->tls_version), "%s", info.version);
	snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s", info.cipher);
	s->tls_bits = info.bits;
	log_info("session=%s event=tls version=%s cipher=%s bits=%d", s->id,
		 s->tls_version, s->tls_cipher, s->tls_bits);
	if (s->ls->cfg->tls == LISTENER_TLS_IMPLICIT) {
		greet(s);
		return;
	}
	/* RFC 3207 4.2: after STARTTLS the client starts over with EHLO */
	s->state = S_INIT;
	s->phase = P_COMMAND;
	session_await_command(s);
}

static void on_timeout(struct session *s)
{
	if (s->phase == P_TLS) {
		log_info("session=%s event=tls-timeout", s->id);
		session_end(s, "TLS handshake timed out");
	} else if (s->phase == P_CLOSING) {
		session_end(s, "closing reply not read");
	} else {
		log_info("session=%s event=timeout phase=%d", s->id, (int)s->phase);
		session_close_with(s, 421, "4.4.2", "Timeout exceeded, closing");
	}
}

static void on_conn_event(struct conn *c, enum conn_event ev, void *arg)
{
	struct session *s = arg;
	switch (ev) {
	case CONN_EV_INPUT:
		if (s->phase == P_DATA || s->phase == P_BDAT)
			conn_set_timeout(c, s->sd->cfg->smtp_timeout_data_ms);
		session_process_input(s);
		break;
	case CONN_EV_FLUSHED:
		if (s->phase == P_CLOSING) {
			session_end(s, "closed by us");
		} else if (s->waiting_flush) {
			s->waiting_flush = false;
			session_process_input(s);
		}
		break;
	case CONN_EV_TLS_READY:
		tls_ready(s);
		session_process_input(s);
		break;
	case CONN_EV_TIMEOUT:
		on_timeout(s);
		break;
	case CONN_EV_CLOSED:
		session_end(s, s->phase == P_CLOSING ? "closed" : "client closed");
		break;
	case CONN_EV_ERROR:
		log_info("session=%s event=error error=\"%s\"", s->id, conn_error(c));
		session_end(s, conn_error(c));
		break;
	}
}
