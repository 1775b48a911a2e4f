/* commands: the handlers of the IMAP command table (imapd/parse.h holds
 * the names and the states each is allowed in), dispatch, and the commands
 * that need no store: CAPABILITY, LOGOUT, STARTTLS, ID, ENABLE, NAMESPACE,
 * IDLE. RFC 9051 6, RFC 2971 (ID), RFC 5161 (ENABLE), RFC 2342
 * (NAMESPACE), RFC 2177 (IDLE). */
#include "imapd/imapd.h"

#include "lib/log.h"
#include "lib/util.h"
#include "sasl/mech.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef void imap_handler(struct imap_session *s,
			  const struct imap_command *cmd);

static imap_handler cmd_capability, cmd_logout, cmd_starttls, cmd_id,
	cmd_enable, cmd_namespace, cmd_idle;

/* Indexed by enum imap_cmd_id; NULL: known but not implemented yet. */
static imap_handler *const handlers[IMAP_CMD_COUNT] = {
	[IMAP_CMD_CAPABILITY] = cmd_capability,
	[IMAP_CMD_NOOP] = imapd_cmd_noop,
	[IMAP_CMD_LOGOUT] = cmd_logout,
	[IMAP_CMD_ID] = cmd_id,
	[IMAP_CMD_STARTTLS] = cmd_starttls,
	[IMAP_CMD_AUTHENTICATE] = imapd_cmd_authenticate,
	[IMAP_CMD_LOGIN] = imapd_cmd_login,
	[IMAP_CMD_ENABLE] = cmd_enable,
	[IMAP_CMD_SELECT] = imapd_cmd_select,
	[IMAP_CMD_EXAMINE] = imapd_cmd_select,
	[IMAP_CMD_CREATE] = imapd_cmd_create,
	[IMAP_CMD_DELETE] = imapd_cmd_delete,
	[IMAP_CMD_RENAME] = imapd_cmd_rename,
	[IMAP_CMD_SUBSCRIBE] = imapd_cmd_subscribe,
	[IMAP_CMD_UNSUBSCRIBE] = imapd_cmd_subscribe,
	[IMAP_CMD_LIST] = imapd_cmd_list,
	[IMAP_CMD_LSUB] = imapd_cmd_list,
	[IMAP_CMD_NAMESPACE] = cmd_namespace,
	[IMAP_CMD_STATUS] = imapd_cmd_status,
	[IMAP_CMD_APPEND] = imapd_cmd_append,
	[IMAP_CMD_IDLE] = cmd_idle,
	[IMAP_CMD_GETQUOTA] = imapd_cmd_quota,
	[IMAP_CMD_GETQUOTAROOT] = imapd_cmd_quota,
	[IMAP_CMD_SETQUOTA] = imapd_cmd_quota,
	[IMAP_CMD_CHECK] = imapd_cmd_noop,
	[IMAP_CMD_CLOSE] = imapd_cmd_close,
	[IMAP_CMD_UNSELECT] = imapd_cmd_close,
	[IMAP_CMD_EXPUNGE] = imapd_cmd_expunge,
	[IMAP_CMD_UID_EXPUNGE] = imapd_cmd_expunge,
	[IMAP_CMD_SEARCH] = imapd_cmd_search,
	[IMAP_CMD_UID_SEARCH] = imapd_cmd_search,
	[IMAP_CMD_FETCH] = imapd_cmd_fetch,
	[IMAP_CMD_UID_FETCH] = imapd_cmd_fetch,
	[IMAP_CMD_STORE] = imapd_cmd_store,
	[IMAP_CMD_UID_STORE] = imapd_cmd_store,
	[IMAP_CMD_COPY] = imapd_cmd_copy,
	[IMAP_CMD_UID_COPY] = imapd_cmd_copy,
	[IMAP_CMD_MOVE] = imapd_cmd_copy,
	[IMAP_CMD_UID_MOVE] = imapd_cmd_copy,
	[IMAP_CMD_SORT] = imapd_cmd_sort,
	[IMAP_CMD_UID_SORT] = imapd_cmd_sort,
	[IMAP_CMD_THREAD] = imapd_cmd_sort,
	[IMAP_CMD_UID_THREAD] = imapd_cmd_sort,
};

/* Why a known command cannot run in this state. */
static const char *state_hint(const struct imap_session *s,
			      const struct imap_cmd_def *def)
{
	if (s->state == IMAP_STATE_NOT_AUTH)
		return "needs a login first";
	if (def->states == IMAP_STATE_NOT_AUTH)
		return "is not allowed after login";
	if (def->id == IMAP_CMD_ENABLE)
		return "must come before SELECT or EXAMINE";
	return "needs a selected mailbox (SELECT or EXAMINE first)";
}

void imapd_dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_cmd_def *def = cmd->def;
	snprintf(s->tag, sizeof(s->tag), "%s", cmd->tag);
	log_debug("session=%s event=command name=\"%s\"", s->id, def->name);
	if (!imap_cmd_allowed(def, s->state))
		imapd_tagged(s, "BAD", "%s %s", def->name, state_hint(s, def));
	else if (handlers[def->id] == NULL)
		imapd_tagged(s, "BAD", "%s is not supported", def->name);
	else {
		handlers[def->id](s, cmd);
		return;
	}
	imapd_await_command(s);
}

/* ------------------------------------------------------------ capability */

static bool starttls_offered(const struct imap_session *s)
{
	return s->ls->cfg->tls == LISTENER_TLS_STARTTLS && !s->tls &&
	       s->d->tls != NULL;
}

void imapd_capabilities(struct imap_session *s, struct buf *out)
{
	buf_append_str(out, "IMAP4rev1 IMAP4rev2");
	if (s->state == IMAP_STATE_NOT_AUTH) {
		/* RFC 9051 6.2.3, RFC 8314: no credentials before TLS */
		if (starttls_offered(s))
			buf_append_str(out, " STARTTLS LOGINDISABLED");
		if (s->tls) {
			if (!sasl_password_logins(s->d->cfg->auth_mechanisms))
				buf_append_str(out, " LOGINDISABLED");
			imapd_auth_capabilities(s, out);
			buf_append_str(out, " SASL-IR");
		}
		/* small literals only before login (RFC 7888 LITERAL-) */
		buf_append_str(out, " LITERAL- ID ENABLE");
		return;
	}
	buf_append_str(out, " LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE "
			    "UNSELECT CHILDREN LIST-EXTENDED LIST-STATUS "
			    "SPECIAL-USE ESEARCH UTF8=ACCEPT STATUS=SIZE "
			    "BINARY CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE "
			    "SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES");
}

static bool no_args(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_top == 0)
		return true;
	imapd_tagged(s, "BAD", "%s takes no arguments", cmd->def->name);
	return false;
}

static void cmd_capability(struct imap_session *s,
			   const struct imap_command *cmd)
{
	if (!no_args(s, cmd))
		goto done;
	struct buf caps;
	buf_init(&caps, 0);
	imapd_capabilities(s, &caps);
	imapd_printf(s, "* CAPABILITY %s", buf_cstr(&caps));
	buf_free(&caps);
	imapd_tagged(s, "OK", "CAPABILITY completed");
done:
	imapd_await_command(s);
}

static void cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	if (!no_args(s, cmd)) {
		imapd_await_command(s);
		return;
	}
	imapd_printf(s, "* BYE Logging out");
	imapd_tagged(s, "OK", "LOGOUT completed");
	s->state = IMAP_STATE_LOGOUT;
	imapd_close_with(s, NULL);
}

static void cmd_starttls(struct imap_session *s,
			 const struct imap_command *cmd)
{
	if (!no_args(s, cmd))
		return;
	if (s->tls) {
		imapd_tagged(s, "BAD", "TLS is already active");
		return;
	}
	if (!starttls_offered(s)) {
		imapd_tagged(s, "BAD", "STARTTLS is not available here");
		return;
	}
	imapd_tagged(s, "OK", "Begin TLS negotiation now");
	/* RFC 9051 6.2.1: conn_start_tls throws away every byte that came
	 * behind the command, so nothing sent in plaintext runs under TLS */
	if (s->conn == NULL)
		return;
	s->phase = IP_TLS;
	conn_start_tls(s->conn, tls_server_ctx(s->d->tls),
		       s->d->cfg->smtp_timeout_tls_ms, s->ls->cfg->client_certs);
	log_info("session=%s event=starttls", s->id);
}

/* RFC 2971: one argument, NIL or a list of (field value) pairs; we only
 * check its shape. */
static void cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *a = &cmd->args[0];
	if (cmd->n_top != 1 ||
	    (a->type != IMAP_ARG_NIL && a->type != IMAP_ARG_LIST) ||
	    (a->type == IMAP_ARG_LIST && a->count % 2 != 0) ||
	    (a->type == IMAP_ARG_LIST && a->count > 60)) {
		imapd_tagged(s, "BAD", "Syntax: ID NIL or ID (field value ...)");
	} else {
		imapd_printf(s, "* ID (\"name\" \"Postern\" \"vendor\" "
				"\"Postern\")");
		imapd_tagged(s, "OK", "ID completed");
	}
	imapd_await_command(s);
}

/* RFC 5161: extensions that change what we send. IMAP4rev2 (RFC 9051
 * 6.3.1) brings UTF-8 mailbox names and ESEARCH; UTF8=ACCEPT (RFC 6855)
 * UTF-8 names; CONDSTORE MODSEQ in FETCH responses, QRESYNC (RFC 7162
 * 3.2.3, which implies CONDSTORE) VANISHED instead of EXPUNGE. Others
 * are ignored, as the RFC says. */
static void cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	struct buf enabled;
	buf_init(&enabled, 0);
	if (cmd->n_top == 0) {
		imapd_tagged(s, "BAD", "Syntax: ENABLE capability ...");
		imapd_await_command(s);
		return;
	}
	for (uint32_t i = 0; i < cmd->n_args; i = cmd->args[i].next) {
		const struct imap_arg *a = &cmd->args[i];
		if (imap_arg_atom_is(a, "IMAP4rev2") && !s->rev2) {
			s->rev2 = s->utf8 = true;
			buf_append_str(&enabled, " IMAP4rev2");
		} else if (imap_arg_atom_is(a, "UTF8=ACCEPT") && !s->utf8) {
			s->utf8 = true;
			buf_append_str(&enabled, " UTF8=ACCEPT");
		} else if (imap_arg_atom_is(a, "CONDSTORE") && !s->condstore) {
			s->condstore = true;
			buf_append_str(&enabled, " CONDSTORE");
		} else if (imap_arg_atom_is(a, "QRESYNC") && !s->qresync) {
			s->qresync = s->condstore = true;
			buf_append_str(&enabled, " QRESYNC");
		}
	}
	imapd_printf(s, "* ENABLED%s", buf_cstr(&enabled));
	buf_free(&enabled);
	imapd_tagged(s, "OK", "ENABLE completed");
	imapd_await_command(s);
}

static void cmd_namespace(struct imap_session *s,
			  const struct imap_command *cmd)
{
	if (no_args(s, cmd)) {
		/* one personal namespace, "/" between levels; no others */
		imapd_printf(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
		imapd_tagged(s, "OK", "NAMESPACE completed");
	}
	imapd_await_command(s);
}

/* ------------------------------------------------------------ IDLE */

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	imapd_session_hold(s);
	if (s->phase == IP_IDLE && !s->job.active)
		imapd_idle_poll(s);
	imapd_session_release(s);
}

/* Look at the folder again in IMAP_IDLE_POLL_MS (RFC 2177: clients see new
 * mail within a second). */
static void arm_poll(struct imap_session *s)
{
	struct timeval tv = {.tv_sec = IMAP_IDLE_POLL_MS / 1000,
			     .tv_usec = (IMAP_IDLE_POLL_MS % 1000) * 1000};
	if (s->timer == NULL)
		s->timer = evtimer_new(s->w->base, on_poll, s);
	else
		event_assign(s->timer, s->w->base, -1, 0, on_poll, s);
	if (s->timer != NULL)
		evtimer_add(s->timer, &tv);
}

static void cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	if (!no_args(s, cmd)) {
		imapd_await_command(s);
		return;
	}
	imapd_printf(s, "+ idling");
	s->phase = IP_IDLE;
	imapd_await_command(s); /* RFC 9051 5.4: the idle timeout still runs */
	if (s->mb != NULL)
		arm_poll(s);
}

void imapd_idle_stop(struct imap_session *s)
{
	if (s->timer != NULL)
		event_del(s->timer);
	if (s->phase == IP_IDLE)
		s->phase = IP_COMMAND;
}

void imapd_idle_line(struct imap_session *s, const char *line, size_t len)
{
	imapd_idle_stop(s);
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imapd_tagged(s, "OK", "IDLE terminated");
	else
		imapd_tagged(s, "BAD", "Expected DONE to end IDLE");
	imapd_await_command(s);
}

void imapd_idle_polled(struct imap_session *s)
{
	if (s->conn != NULL && s->phase == IP_IDLE)
		arm_poll(s);
}
