/* commands: the SMTP command table and the handlers of every command but
 * DATA and BDAT (data.c). RFC 5321 4.1, with RFC 1870 (SIZE), 6152
 * (8BITMIME), 6531 (SMTPUTF8), 2034 (ENHANCEDSTATUSCODES), 2920
 * (PIPELINING), 3030 (CHUNKING) and 3207 (STARTTLS). */
#include "smtpd/smtpd.h"

#include "db/directory.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "store/maildir.h"
#include "store/quota.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef void cmd_handler(struct session *s, const struct smtp_command *cmd);

enum arg_rule { ARGS_NONE, ARGS_REQUIRED, ARGS_OPTIONAL };

struct command_def {
	const char *verb;
	unsigned states; /* enum smtp_state bits where it is allowed */
	enum arg_rule args;
	cmd_handler *handler;
};

static cmd_handler cmd_ehlo, cmd_helo, cmd_mail, cmd_rcpt, cmd_rset,
	cmd_noop, cmd_quit, cmd_help, cmd_vrfy, cmd_expn, cmd_starttls;

#define NOT_BDAT (S_ANY & ~S_BDAT)

/* RFC 3030 2: while BDAT chunks are under way only BDAT, RSET, NOOP and
 * QUIT make sense; BDAT itself is allowed everywhere because its chunk must
 * be read even when the command is refused (data.c). */
static const struct command_def commands[] = {
	{"EHLO", NOT_BDAT, ARGS_REQUIRED, cmd_ehlo},
	{"HELO", NOT_BDAT, ARGS_REQUIRED, cmd_helo},
	{"MAIL", S_READY, ARGS_REQUIRED, cmd_mail},
	{"RCPT", S_MAIL | S_RCPT, ARGS_REQUIRED, cmd_rcpt},
	{"DATA", S_MAIL | S_RCPT, ARGS_NONE, smtpd_cmd_data},
	{"BDAT", S_ANY, ARGS_REQUIRED, smtpd_cmd_bdat},
	{"RSET", S_ANY, ARGS_NONE, cmd_rset},
	{"NOOP", S_ANY, ARGS_OPTIONAL, cmd_noop},
	{"QUIT", S_ANY, ARGS_NONE, cmd_quit},
	{"HELP", NOT_BDAT, ARGS_OPTIONAL, cmd_help},
	{"VRFY", NOT_BDAT, ARGS_REQUIRED, cmd_vrfy},
	{"EXPN", NOT_BDAT, ARGS_REQUIRED, cmd_expn},
	{"STARTTLS", S_INIT | S_READY, ARGS_NONE, cmd_starttls},
	{"AUTH", S_READY, ARGS_REQUIRED, smtpd_cmd_auth},
};

/* Verbs of other protocols: a browser or proxy talking to us is a
 * cross-protocol attack, and the rest of its request must not run. */
static const char *const foreign_verbs[] = {"GET", "POST", "HEAD", "PUT",
					    "CONNECT", "OPTIONS"};

static const char *sequence_hint(const struct session *s, const char *verb)
{
	if (s->state == S_BDAT)
		return "Only BDAT, RSET, NOOP or QUIT may follow BDAT";
	if (strcmp(verb, "MAIL") == 0)
		return s->state == S_INIT ? "Send HELO or EHLO first"
					  : "Nested MAIL command";
	if (strcmp(verb, "RCPT") == 0)
		return "Need MAIL before RCPT";
	if (strcmp(verb, "DATA") == 0)
		return "Need MAIL and RCPT before DATA";
	if (strcmp(verb, "STARTTLS") == 0)
		return "STARTTLS is not allowed inside a transaction";
	if (strcmp(verb, "AUTH") == 0)
		return s->state == S_INIT ? "Send EHLO first"
					  : "AUTH is not allowed inside a transaction";
	return "Bad sequence of commands";
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ')
			return false;
	return true;
}

void smtpd_dispatch(struct session *s, const char *line, size_t len)
{
	struct smtp_command cmd;
	const char *why;
	if (smtp_command_parse(line, len, &cmd, &why) < 0) {
		session_reply(s, 500, "5.5.2", "Syntax error: %s", why);
		return;
	}
	for (size_t i = 0; i < ARRAY_LEN(foreign_verbs); i++)
		if (strcmp(cmd.verb, foreign_verbs[i]) == 0) {
			log_info("session=%s event=foreign-protocol verb=%s", s->id,
				 cmd.verb);
			session_close_with(s, 421, "4.7.0", "This is an SMTP server");
			return;
		}
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const struct command_def *c = &commands[i];
		if (strcmp(cmd.verb, c->verb) != 0)
			continue;
		bool has = cmd.has_args && !blank(cmd.args, cmd.args_len);
		if (c->args == ARGS_NONE && has)
			session_reply(s, 501, "5.5.4", "%s takes no arguments",
				      c->verb);
		else if (c->args == ARGS_REQUIRED && !has)
			session_reply(s, 501, "5.5.4", "%s needs an argument",
				      c->verb);
		else if (!(c->states & s->state))
			session_reply(s, 503, "5.5.1", "%s",
				      sequence_hint(s, c->verb));
		else
			c->handler(s, &cmd);
		return;
	}
	session_reply(s, 500, "5.5.1", "Command unrecognized");
}

/* ------------------------------------------------------------ greeting */

/* What we accept as a HELO/EHLO name: a domain or an address literal,
 * loosely (RFC 5321 4.1.4 forbids refusing a name that merely does not
 * resolve), but nothing that could break a Received header or a log. */
static bool helo_valid(const char *s, size_t n)
{
	if (n == 0 || n > SMTP_HELO_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr(".-_:[]", c) != NULL))
			return false;
	}
	return true;
}

static bool take_helo(struct session *s, const struct smtp_command *cmd)
{
	size_t n = cmd->args_len;
	while (n > 0 && cmd->args[n - 1] == ' ')
		n--;
	if (!helo_valid(cmd->args, n)) {
		session_reply(s, 501, "5.5.4", "Invalid domain name");
		return false;
	}
	session_reset_transaction(s);
	memcpy(s->helo, cmd->args, n);
	s->helo[n] = '\0';
	s->state = S_READY;
	log_info("session=%s event=%s name=%s", s->id,
		 s->esmtp ? "ehlo" : "helo", s->helo);
	return true;
}

static bool starttls_offered(const struct session *s)
{
	return s->ls->cfg->tls == LISTENER_TLS_STARTTLS && !s->tls &&
	       s->sd->tls != NULL;
}

static void cmd_ehlo(struct session *s, const struct smtp_command *cmd)
{
	s->esmtp = true;
	if (!take_helo(s, cmd))
		return;
	const struct config *cfg = s->sd->cfg;
	/* RFC 2034: no enhanced code in the EHLO reply */
	session_reply_line(s, 250, true, "%s", cfg->hostname);
	session_reply_line(s, 250, true, "PIPELINING");
	session_reply_line(s, 250, true, "SIZE %" PRIu64, cfg->smtp_max_message_size);
	session_reply_line(s, 250, true, "8BITMIME");
	session_reply_line(s, 250, true, "SMTPUTF8");
	if (cfg->smtp_chunking)
		session_reply_line(s, 250, true, "CHUNKING");
	if (starttls_offered(s))
		session_reply_line(s, 250, true, "STARTTLS");
	char mechs[128];
	/* RFC 4954 4 / RFC 8314: credentials only over TLS */
	if (smtpd_auth_offered(s) && s->tls && !s->authenticated) {
		smtpd_auth_mechanisms(s, mechs, sizeof(mechs));
		if (mechs[0] != '\0')
			session_reply_line(s, 250, true, "AUTH %s", mechs);
	}
	session_reply_line(s, 250, false, "ENHANCEDSTATUSCODES");
}

static void cmd_helo(struct session *s, const struct smtp_command *cmd)
{
	s->esmtp = false;
	if (take_helo(s, cmd))
		session_reply(s, 250, NULL, "%s", s->sd->cfg->hostname);
}

static void cmd_starttls(struct session *s, const struct smtp_command *cmd)
{
	if (s->tls) {
		session_reply(s, 503, "5.5.1", "TLS is already in use");
		return;
	}
	if (!starttls_offered(s)) {
		session_reply(s, 502, "5.5.1", "STARTTLS is not available here");
		return;
	}
	session_reply(s, 220, "2.0.0", "Ready to start TLS");
	/* RFC 3207 4.2: forget everything learnt before the handshake; the
	 * conn discards every byte that arrived behind the command */
	session_reset_transaction(s);
	s->state = S_INIT;
	s->esmtp = false;
	s->helo[0] = '\0';
	s->phase = P_TLS;
	conn_start_tls(s->conn, tls_server_ctx(s->sd->tls),
		       s->sd->cfg->smtp_timeout_tls_ms,
			       s->ls->cfg->client_certs);
	log_info("session=%s event=starttls", s->id);
}

/* ------------------------------------------------------------ MAIL */

/* "FROM:" or "TO:" then the path; one space after the colon is tolerated,
 * as many clients send it. Returns the path's start, or NULL. */
static const char *after_keyword(const struct smtp_command *cmd,
				 const char *keyword, size_t *len)
{
	size_t k = strlen(keyword);
	if (cmd->args_len < k || strncasecmp(cmd->args, keyword, k) != 0)
		return NULL;
	const char *p = cmd->args + k;
	size_t n = cmd->args_len - k;
	if (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	*len = n;
	return p;
}

struct mail_params {
	uint64_t size;
	bool have_size, have_body, eight_bit, smtputf8;
};

/* RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8. */
static bool mail_params(struct session *s, const struct esmtp_param *p,
			int n, struct mail_params *mp)
{
	for (int i = 0; i < n; i++) {
		bool dup = false, bad = false;
		if (esmtp_param_is(&p[i], "SIZE")) {
			dup = mp->have_size;
			mp->have_size = true;
			bad = p[i].value == NULL ||
			      parse_u64(p[i].value, p[i].value_len, UINT64_MAX,
					&mp->size) < 0;
		} else if (esmtp_param_is(&p[i], "BODY")) {
			dup = mp->have_body;
			mp->have_body = true;
			bad = p[i].value == NULL;
			if (!bad && p[i].value_len == 8 &&
			    strncasecmp(p[i].value, "8BITMIME", 8) == 0)
				mp->eight_bit = true;
			else if (bad || p[i].value_len != 4 ||
				 strncasecmp(p[i].value, "7BIT", 4) != 0)
				bad = true;
		} else if (esmtp_param_is(&p[i], "SMTPUTF8")) {
			dup = mp->smtputf8;
			mp->smtputf8 = true;
			bad = p[i].value != NULL;
		} else {
			session_reply(s, 555, "5.5.4", "Unsupported parameter %.*s",
				      (int)p[i].keyword_len, p[i].keyword);
			return false;
		}
		if (dup || bad) {
			session_reply(s, 501, "5.5.4", "Invalid %.*s parameter",
				      (int)p[i].keyword_len, p[i].keyword);
			return false;
		}
	}
	return true;
}

static void reply_path_error(struct session *s, enum addr_result r,
			     const char *why, bool sender)
{
	if (r == ADDR_NEED_UTF8)
		session_reply(s, 553, "5.6.7", "%s", why);
	else
		session_reply(s, 501, sender ? "5.1.7" : "5.1.3",
			      "Bad %s address syntax: %s",
			      sender ? "sender" : "recipient", why);
}

/* Parse "FROM:<path> [params]" into mb and mp; replies and returns false
 * when it cannot be taken. */
static bool parse_mail(struct session *s, const struct smtp_command *cmd,
		       struct mailbox *mb, struct mail_params *mp)
{
	size_t len, used;
	const char *why, *p = after_keyword(cmd, "FROM:", &len);
	if (p == NULL) {
		session_reply(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return false;
	}
	enum addr_result r = address_parse_path(
		p, len, ADDR_F_EMPTY_OK | ADDR_F_UTF8, mb, &used, &why);
	if (r != ADDR_OK) {
		reply_path_error(s, r, why, true);
		return false;
	}
	struct esmtp_param params[ESMTP_PARAMS_MAX];
	int n = esmtp_parse_params(p + used, len - used, params, &why);
	if (n < 0) {
		session_reply(s, 501, "5.5.4", "Syntax error in parameters: %s", why);
		return false;
	}
	if (n > 0 && !s->esmtp) {
		session_reply(s, 555, "5.5.4", "Parameters need EHLO");
		return false;
	}
	if (!mail_params(s, params, n, mp))
		return false;
	if (mb->utf8 && !mp->smtputf8) {
		session_reply(s, 553, "5.6.7", "Non-ASCII address needs SMTPUTF8");
		return false;
	}
	return true;
}

static void cmd_mail(struct session *s, const struct smtp_command *cmd)
{
	const struct listener_config *lc = s->ls->cfg;
	if (lc->require_tls && !s->tls) {
		session_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return;
	}
	if (lc->role == ROLE_SUBMISSION && !s->authenticated) {
		session_reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	struct mailbox mb;
	struct mail_params mp = {0};
	char sender[ADDR_TEXT_MAX];
	if (!parse_mail(s, cmd, &mb, &mp))
		return;
	uint64_t max = s->sd->cfg->smtp_max_message_size;
	if (mp.size > max) {
		session_reply(s, 552, "5.3.4",
			      "Message size exceeds the limit of %" PRIu64 " bytes",
			      max);
		return;
	}
	mailbox_format(&mb, sender);
	if (s->authenticated && !smtpd_submission_mail(s, sender))
		return;
	session_reset_transaction(s);
	struct transaction *tx = &s->tx;
	memcpy(tx->sender, sender, sizeof(tx->sender));
	tx->smtputf8 = mp.smtputf8;
	tx->eight_bit_mime = mp.eight_bit;
	tx->declared_size = mp.size;
	spool_new_id(tx->queue_id);
	s->state = S_MAIL;
	char v[ADDR_TEXT_MAX + 8];
	log_info("session=%s queue=%s event=mail from=<%s> size=%" PRIu64,
		 s->id, tx->queue_id,
		 log_value(v, sizeof(v), tx->sender, strlen(tx->sender)),
		 mp.size);
	session_reply(s, 250, "2.1.0", "Ok");
}

/* ------------------------------------------------------------ RCPT */

/* Source routes are dropped by the parser (RFC 5321 C); what is left of
 * the old relay tricks lives in the local part: "user%other@us" (percent
 * hack), "other!user@us" (bang path), "\"user@other\"@us" (quoted). None of
 * our users has such a name, and we never route on it. */
static bool relay_trick(const struct mailbox *mb)
{
	return strpbrk(mb->local, "%!@") != NULL;
}

static enum dir_resolve_result resolve(struct session *s,
				       const struct mailbox *mb,
				       const char *addr, struct dir_targets *t)
{
	struct directory *dir = directory_thread();
	const char *delim = s->sd->cfg->delivery_recipient_delimiter;
	const char *pm = s->sd->cfg->postmaster;
	if (dir == NULL)
		return DIR_ERROR;
	enum dir_resolve_result r;
	if (mb->domain[0] == '\0') /* <postmaster> */
		r = DIR_UNKNOWN;
	else
		r = dir_resolve(dir, addr, delim, t);
	/* RFC 5321 4.5.1: postmaster of every domain must reach someone */
	if (r == DIR_UNKNOWN && strcasecmp(mb->local, "postmaster") == 0) {
		r = dir_resolve(dir, pm, delim, t);
		if (r == DIR_NOT_LOCAL)
			r = DIR_UNKNOWN;
	}
	return r;
}

/* RFC 1870 6: with SIZE known, a full mailbox is refused at RCPT (452). */
static bool over_quota(struct session *s, const char *mailbox)
{
	struct directory *dir = directory_thread();
	struct dir_user u;
	if (dir == NULL || dir_user_get(dir, mailbox, &u) != 1)
		return false;
	uint64_t quota = u.quota, bytes = 0, count = 0;
	dir_user_clear(&u);
	char root[MAILDIR_PATH_MAX];
	if (quota == 0 || maildir_root(s->sd->cfg->data_dir, mailbox, root) < 0 ||
	    quota_usage(root, quota, &bytes, &count) < 0)
		return false;
	return bytes + s->tx.declared_size > quota;
}

/* Whether the envelope has this mailbox, or this forward (a recipient
 * elsewhere: empty mailbox, the address as orig). */
static bool has_target(const struct envelope *env, const char *target,
		       bool outside)
{
	for (size_t j = 0; j < env->n_rcpts; j++)
		if (outside ? env->rcpts[j].mailbox[0] == '\0' &&
				      strcmp(env->rcpts[j].orig, target) == 0
			    : strcmp(env->rcpts[j].mailbox, target) == 0)
			return true;
	return false;
}

/* Each mailbox, and each forward as a recipient elsewhere; a forward
 * makes the message one to seal (ARC) with the alias's domain. */
static bool add_targets(struct session *s, const struct mailbox *mb,
			const char *addr, const struct dir_targets *t)
{
	struct envelope *env = &s->tx.env;
	for (size_t i = 0; i < t->n; i++) {
		if (has_target(env, t->mailbox[i], t->outside[i]))
			continue;
		if (envelope_add_rcpt(env, t->outside[i] ? t->mailbox[i] : addr,
				      t->outside[i] ? "" : t->mailbox[i]) < 0)
			return false;
		if (t->outside[i] && s->tx.forward_domain[0] == '\0')
			snprintf(s->tx.forward_domain,
				 sizeof(s->tx.forward_domain), "%s", mb->domain);
	}
	return true;
}

static void rcpt_reply(struct session *s, const char *addr, int code,
		       const char *status, const char *text)
{
	char v[ADDR_TEXT_MAX + 8];
	log_info("session=%s queue=%s event=rcpt to=<%s> result=%s code=%d",
		 s->id, s->tx.queue_id, log_value(v, sizeof(v), addr, strlen(addr)),
		 code < 300 ? "accepted" : "rejected", code);
	session_reply(s, code, status, "%s", text);
}

/* A recipient elsewhere, for an authenticated user: it waits in the queue
 * for outbound delivery (an empty mailbox marks it remote). */
static void accept_remote(struct session *s, const char *addr)
{
	struct envelope *env = &s->tx.env;
	for (size_t j = 0; j < env->n_rcpts; j++)
		if (env->rcpts[j].mailbox[0] == '\0' &&
		    strcmp(env->rcpts[j].orig, addr) == 0)
			goto accepted; /* the same recipient twice: one copy */
	if (envelope_add_rcpt(env, addr, "") < 0) {
		rcpt_reply(s, addr, 451, "4.3.0", "Out of memory");
		return;
	}
accepted:
	s->tx.n_rcpts++;
	s->state = S_RCPT;
	rcpt_reply(s, addr, 250, "2.1.5", "Ok");
}

/* Check and resolve one recipient; reply. */
static void accept_rcpt(struct session *s, const struct mailbox *mb)
{
	char addr[ADDR_TEXT_MAX];
	mailbox_format(mb, addr);
	bool relay_ok = s->authenticated;
	if (relay_ok && !smtpd_submission_rcpt(s))
		return;
	if (mb->literal || (relay_trick(mb) && !relay_ok)) {
		if (relay_ok)
			accept_remote(s, addr);
		else
			rcpt_reply(s, addr, 554, "5.7.1", "Relay access denied");
		return;
	}
	struct dir_targets t = {0};
	switch (resolve(s, mb, addr, &t)) {
	case DIR_NOT_LOCAL:
		/* a relay domain: ours to take, its next hop's to deliver */
		if (relay_ok || config_relay_route(s->sd->cfg, mb->domain) != NULL)
			accept_remote(s, addr);
		else
			rcpt_reply(s, addr, 554, "5.7.1", "Relay access denied");
		return;
	case DIR_UNKNOWN:
		rcpt_reply(s, addr, 550, "5.1.1", "User unknown");
		return;
	case DIR_NO_TARGET:
	case DIR_ERROR:
		rcpt_reply(s, addr, 451, "4.3.0", "Temporary lookup failure");
		return;
	case DIR_FOUND:
		break;
	}
	if (t.n == 1 && !t.outside[0] && over_quota(s, t.mailbox[0]))
		rcpt_reply(s, addr, 452, "4.2.2", "Mailbox full");
	else if (!add_targets(s, mb, addr, &t))
		rcpt_reply(s, addr, 451, "4.3.0", "Out of memory");
	else {
		s->tx.n_rcpts++;
		s->state = S_RCPT;
		rcpt_reply(s, addr, 250, "2.1.5", "Ok");
	}
	dir_targets_free(&t);
}

static void cmd_rcpt(struct session *s, const struct smtp_command *cmd)
{
	size_t len, used;
	const char *p = after_keyword(cmd, "TO:", &len);
	if (p == NULL) {
		session_reply(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	struct mailbox mb;
	const char *why;
	unsigned flags = ADDR_F_POSTMASTER_OK | (s->tx.smtputf8 ? ADDR_F_UTF8 : 0);
	enum addr_result r = address_parse_path(p, len, flags, &mb, &used, &why);
	if (r != ADDR_OK) {
		reply_path_error(s, r, why, false);
		return;
	}
	struct esmtp_param params[ESMTP_PARAMS_MAX];
	int n = esmtp_parse_params(p + used, len - used, params, &why);
	if (n != 0) {
		if (n < 0)
			session_reply(s, 501, "5.5.4", "Syntax error in parameters: %s",
				      why);
		else
			session_reply(s, 555, "5.5.4", "Unsupported parameter %.*s",
				      (int)params[0].keyword_len, params[0].keyword);
		return;
	}
	if (s->tx.n_rcpts >= s->sd->cfg->smtp_max_recipients) {
		session_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	accept_rcpt(s, &mb);
}

/* ------------------------------------------------------------ the rest */

static void cmd_rset(struct session *s, const struct smtp_command *cmd)
{
	session_reset_transaction(s);
	session_reply(s, 250, "2.0.0", "Ok");
}

static void cmd_noop(struct session *s, const struct smtp_command *cmd)
{
	session_reply(s, 250, "2.0.0", "Ok");
}

static void cmd_quit(struct session *s, const struct smtp_command *cmd)
{
	session_close_with(s, 221, "2.0.0", "Bye");
}

static void cmd_help(struct session *s, const struct smtp_command *cmd)
{
	session_reply(s, 214, "2.0.0",
		      "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT "
		      "HELP VRFY EXPN STARTTLS; see RFC 5321");
}

static void cmd_vrfy(struct session *s, const struct smtp_command *cmd)
{
	/* RFC 5321 3.5.3: 252 says neither yes nor no, so addresses cannot
	 * be harvested with VRFY */
	session_reply(s, 252, "2.5.0",
		      "Cannot VRFY user, but will accept a message and attempt "
		      "delivery");
}

static void cmd_expn(struct session *s, const struct smtp_command *cmd)
{
	session_reply(s, 502, "5.5.1", "EXPN is not available");
}
