/* commands: the handlers of the POP3 command table (pop3d/parse.h holds
 * the names, argument counts and the states each is allowed in), dispatch,
 * and the commands that need no store: CAPA (RFC 2449), STLS (RFC 2595),
 * QUIT in the AUTHORIZATION state, NOOP. */
#include "pop3d/pop3d.h"

#include "lib/log.h"
#include "sasl/mech.h"

#include <stdio.h>
#include <string.h>

typedef void pop3_handler(struct pop3_session *s,
			  const struct pop3_command *cmd);

static pop3_handler cmd_capa, cmd_stls, cmd_quit, cmd_noop;

/* Indexed by enum pop3_cmd_id. */
static pop3_handler *const handlers[POP3_CMD_COUNT] = {
	[POP3_CMD_CAPA] = cmd_capa,	    [POP3_CMD_STLS] = cmd_stls,
	[POP3_CMD_USER] = pop3d_cmd_user,   [POP3_CMD_PASS] = pop3d_cmd_pass,
	[POP3_CMD_AUTH] = pop3d_cmd_auth,   [POP3_CMD_QUIT] = cmd_quit,
	[POP3_CMD_STAT] = pop3d_cmd_stat,   [POP3_CMD_LIST] = pop3d_cmd_list,
	[POP3_CMD_UIDL] = pop3d_cmd_list,   [POP3_CMD_RETR] = pop3d_cmd_retr,
	[POP3_CMD_TOP] = pop3d_cmd_retr,    [POP3_CMD_DELE] = pop3d_cmd_dele,
	[POP3_CMD_RSET] = pop3d_cmd_rset,   [POP3_CMD_NOOP] = cmd_noop,
};

void pop3d_dispatch(struct pop3_session *s, const struct pop3_command *cmd)
{
	const struct pop3_cmd_def *def = cmd->def;
	log_debug("session=%s event=command name=%s", s->id, def->name);
	if (!(def->states & s->state)) {
		pop3d_error(s, "%s %s", def->name,
			    s->state == POP3_STATE_AUTH
				    ? "needs a login first"
				    : "is not allowed after login");
		pop3d_await_command(s);
		return;
	}
	handlers[def->id](s, cmd);
}

void pop3d_greet(struct pop3_session *s)
{
	/* no APOP timestamp: APOP needs the password in the clear on the
	 * server, and we keep only hashes */
	s->phase = PP_COMMAND;
	pop3d_printf(s, "+OK Postern POP3 server ready");
	if (s->conn != NULL)
		conn_flush(s->conn);
}

static bool stls_offered(const struct pop3_session *s)
{
	return s->ls->cfg->tls == LISTENER_TLS_STARTTLS && !s->tls &&
	       s->d->tls != NULL;
}

/* RFC 2449 5: the capabilities in this state. Logins only over TLS (RFC
 * 2595 4, RFC 8314): before it neither USER nor SASL is listed. */
static void cmd_capa(struct pop3_session *s, const struct pop3_command *cmd)
{
	struct buf b;
	buf_init(&b, 4096);
	buf_append_str(&b, "+OK Capability list follows\r\n");
	if (stls_offered(s))
		buf_append_str(&b, "STLS\r\n");
	if (s->tls && s->state == POP3_STATE_AUTH) {
		if (sasl_password_logins(s->d->cfg->auth_mechanisms))
			buf_append_str(&b, "USER\r\n");
		buf_append_str(&b, "SASL");
		pop3d_auth_mechanisms(s, &b);
		buf_append_str(&b, "\r\n");
	}
	buf_append_str(&b, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
			   "PIPELINING\r\nEXPIRE NEVER\r\n"
			   "IMPLEMENTATION Postern\r\n.\r\n");
	pop3d_write(s, b.data, b.len);
	buf_free(&b);
	pop3d_await_command(s);
}

static void cmd_stls(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!stls_offered(s)) {
		pop3d_error(s, s->tls ? "TLS is already active"
				      : "STLS is not available here");
		pop3d_await_command(s);
		return;
	}
	pop3d_printf(s, "+OK Begin TLS negotiation");
	/* RFC 2595 4: conn_start_tls throws away every byte that came behind
	 * the command, so nothing sent in plaintext runs under TLS */
	s->phase = PP_TLS;
	conn_start_tls(s->conn, tls_server_ctx(s->d->tls),
		       s->d->cfg->smtp_timeout_tls_ms, s->ls->cfg->client_certs);
	log_info("session=%s event=starttls", s->id);
}

static void cmd_quit(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (s->state == POP3_STATE_TRANS) {
		pop3d_update(s);
		return;
	}
	pop3d_close_with(s, "+OK Bye");
}

static void cmd_noop(struct pop3_session *s, const struct pop3_command *cmd)
{
	pop3d_printf(s, "+OK");
	pop3d_await_command(s);
}
