/* auth: LOGIN (RFC 9051 6.2.3) and AUTHENTICATE (RFC 9051 6.2.2, RFC 4959
 * SASL-IR) with PLAIN (RFC 4616), SCRAM-SHA-256(-PLUS) (RFC 7677, RFC
 * 9266) and EXTERNAL (RFC 4422 appendix A: a trusted TLS client
 * certificate, when the listener asks for one), the mechanisms of
 * sasl/mech.c that submission uses too; this file is IMAP's framing of
 * them ("+ " challenges, tagged OK/NO/BAD). The same directory, hashes and
 * failed-login penalty as
 * submission (smtpd/auth.c; policy/penalty.h is shared, so guesses over
 * IMAP slow down guesses over SMTP and back).
 *
 * Nothing is looked at before TLS: LOGIN and AUTHENTICATE get NO
 * [PRIVACYREQUIRED] and the capability list names no mechanism. Password
 * checks (argon2id) run on the auth pool; an unknown user costs a dummy
 * hash check, like a wrong password. After a login the user's Maildir and
 * its special-use folders are made where missing (store_create_defaults),
 * on the same pool thread, before the OK. */
#include "imapd/imapd.h"

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mail/address.h"
#include "sasl/mech.h"
#include "store/folders.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SASL mechanisms of AUTHENTICATE: those of submission. LOGIN is also
 * a command of IMAP's own (RFC 9051 6.2.3); the mechanism of that name is
 * what some clients (Outlook among them) pick when the server offers it. */
static const unsigned IMAP_MECHS =
	SASL_MECH_BIT(SASL_PLAIN) | SASL_MECH_BIT(SASL_LOGIN) |
	SASL_MECH_BIT(SASL_SCRAM) | SASL_MECH_BIT(SASL_SCRAM_PLUS) |
	SASL_MECH_BIT(SASL_EXTERNAL);

struct imap_auth {
	/* for the LOGIN command: mech SASL_LOGIN (its name in the log), with
	 * x.user and x.password filled from the command */
	struct sasl_exchange x;
	bool login_cmd;
	bool have_response; /* AUTHENTICATE with an initial response */
	struct buf response;
};

/* A login check on the auth pool: the password (unless SCRAM proved it),
 * then the user's quota and Maildir. */
struct login_job {
	struct imap_session *s;
	char user[SASL_NAME_MAX + 1];
	char password[PASSWORD_MAX + 1];
	size_t password_len;
	bool check_password;
	const char *dummy_hash;
	const char *data_dir;
	bool ok;
	uint64_t quota;
	char root[MAILDIR_PATH_MAX];
	const char *error; /* the Maildir could not be made */
};

void imapd_auth_abort(struct imap_session *s)
{
	struct imap_auth *a = s->auth;
	if (a == NULL)
		return;
	buf_wipe(&a->response);
	sasl_exchange_wipe(&a->x);
	explicit_bzero(a, sizeof(*a));
	free(a);
	s->auth = NULL;
}

static void policy(const struct imap_session *s, struct sasl_policy *p)
{
	p->configured = s->d->cfg->auth_mechanisms;
	p->spoken = IMAP_MECHS;
	p->secret = s->d->secret;
}

static void conn_facts(const struct imap_session *s, struct sasl_conn *c)
{
	sasl_conn_read(s->conn != NULL ? conn_ssl(s->conn) : NULL, c);
}

void imapd_auth_capabilities(struct imap_session *s, struct buf *out)
{
	struct sasl_policy p;
	struct sasl_conn c;
	policy(s, &p);
	conn_facts(s, &c);
	sasl_mech_list(&p, &c, " AUTH=", out);
}

/* ------------------------------------------------------------ outcomes */

static void failure_delay_over(struct imap_session *s)
{
	if (s->phase == IP_CLOSING)
		return; /* the login deadline passed: BYE is on its way */
	conn_resume_read(s->conn);
	imapd_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
	if (s->auth_failures >= s->d->cfg->auth_max_failures) {
		imapd_close_with(s, "Too many failed logins");
		return;
	}
	imapd_resume(s);
	imapd_process_input(s);
}

static void on_failure_delay(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	imapd_session_hold(s);
	failure_delay_over(s);
	imapd_session_release(s);
}

/* Hold the session (no reading) until cb runs after ms. */
static void arm_timer(struct imap_session *s, uint64_t ms,
		      void (*cb)(evutil_socket_t, short, void *))
{
	if (s->timer == NULL)
		s->timer = evtimer_new(s->w->base, cb, s);
	else
		event_assign(s->timer, s->w->base, -1, 0, cb, s);
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	if (s->conn == NULL)
		return;
	s->phase = IP_AUTH_WAIT;
	conn_pause_read(s->conn);
	evtimer_add(s->timer, &tv);
}

/* A failed login: answered only after the penalty it earns. The user name
 * is logged, the password never. */
static void fail(struct imap_session *s, const char *mech, const char *user)
{
	char v[SASL_NAME_MAX * 4 + 8];
	s->auth_failures++;
	uint64_t delay = penalty_fail(s->d->penalty, (struct sockaddr *)&s->peer,
				      monotonic_ms());
	log_warn("session=%s event=auth result=fail protocol=imap mech=%s "
		 "user=%s ip=%s failures=%u delay_ms=%llu",
		 s->id, mech, log_value(v, sizeof(v), user, strlen(user)),
		 s->peer_ip, s->auth_failures, (unsigned long long)delay);
	imapd_auth_abort(s);
	arm_timer(s, delay, on_failure_delay);
}

static void succeed(struct imap_session *s, const char *mech,
		    const struct login_job *j)
{
	imapd_auth_abort(s);
	imapd_logged_in(s, j->user, j->quota);
	snprintf(s->root, sizeof(s->root), "%s", j->root);
	log_info("session=%s event=auth result=ok protocol=imap mech=%s "
		 "user=%s ip=%s",
		 s->id, mech, s->user, s->peer_ip);
	struct buf caps;
	buf_init(&caps, 0);
	imapd_capabilities(s, &caps);
	imapd_tagged(s, "OK", "[CAPABILITY %s] Logged in", buf_cstr(&caps));
	buf_free(&caps);
	imapd_resume(s);
}

/* ------------------------------------------------------------ the check */

static void login_done(void *arg);

/* The user's quota and Maildir, made with its special-use folders where
 * missing: every later command can count on INBOX existing. */
static void prepare_user(struct login_job *j)
{
	struct directory *d = directory_thread();
	struct dir_user u;
	if (d != NULL && dir_user_get(d, j->user, &u) == 1)
		j->quota = u.quota;
	if (d != NULL)
		dir_user_clear(&u);
	if (maildir_root(j->data_dir, j->user, j->root) < 0)
		j->error = "mailbox path too long";
	else if (store_create_defaults(j->root, &j->error) < 0)
		log_error("imapd event=mailbox-unavailable user=%s error=\"%s\"",
			  j->user, j->error);
}

static void login_thread(void *arg)
{
	struct login_job *j = arg;
	ascii_lower(j->user, strlen(j->user));
	if (j->check_password) {
		j->ok = sasl_password_check(directory_thread(), j->user,
					    j->password, j->password_len,
					    j->dummy_hash);
		explicit_bzero(j->password, sizeof(j->password));
	}
	if (j->ok)
		prepare_user(j);
	if (inbox_post(j->s->w->inbox, login_done, j) < 0)
		abort();
}

static void login_done(void *arg)
{
	struct login_job *j = arg;
	struct imap_session *s = j->s;
	s->jobs--;
	imapd_session_hold(s);
	/* after the login deadline's BYE, no login: it would read commands
	 * again on a session that is closing */
	if (s->conn != NULL && s->phase != IP_CLOSING) {
		const char *mech = s->auth != NULL
					   ? sasl_mech_name(s->auth->x.mech)
					   : "?";
		conn_resume_read(s->conn);
		if (j->ok && j->error != NULL) {
			imapd_auth_abort(s);
			imapd_tagged(s, "NO", "[UNAVAILABLE] Mailbox unavailable");
			imapd_resume(s);
		} else if (j->ok) {
			succeed(s, mech, j);
		} else {
			fail(s, mech, j->user);
		}
		imapd_process_input(s);
	}
	imapd_session_release(s);
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* Check the exchange's user (and password, unless SCRAM or a certificate
 * proved who it is) off the loop. The exchange's copy of the password is
 * wiped at once. */
static void check_login(struct imap_session *s, bool check)
{
	struct sasl_exchange *x = &s->auth->x;
	struct login_job *j = calloc(1, sizeof(*j));
	size_t user_len = strlen(x->user);
	if (j == NULL || user_len > SASL_NAME_MAX) {
		free(j);
		explicit_bzero(x->password, sizeof(x->password));
		fail(s, sasl_mech_name(x->mech), x->user);
		return;
	}
	j->s = s;
	memcpy(j->user, x->user, user_len + 1); /* fits: checked above */
	if (check)
		memcpy(j->password, x->password, x->password_len);
	j->password_len = check ? x->password_len : 0;
	explicit_bzero(x->password, sizeof(x->password));
	j->check_password = check;
	j->ok = !check;
	j->dummy_hash = s->d->dummy_hash;
	j->data_dir = s->d->cfg->data_dir;
	if (s->conn == NULL) {
		explicit_bzero(j, sizeof(*j));
		free(j);
		return;
	}
	s->phase = IP_AUTH_WAIT;
	conn_pause_read(s->conn);
	s->jobs++;
	if (pool_submit(s->d->auth_pool, login_thread, j) < 0) {
		s->jobs--;
		explicit_bzero(j, sizeof(*j));
		free(j);
		imapd_auth_abort(s);
		imapd_tagged(s, "NO", "[UNAVAILABLE] Try again later");
		imapd_resume(s);
	}
}

/* ------------------------------------------------------------ SASL */

static void challenge(struct imap_session *s, const void *data, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	base64_encode(data, n, &b);
	imapd_printf(s, "+ %s", buf_cstr(&b));
	buf_free(&b);
	s->phase = IP_AUTH;
	if (s->conn != NULL)
		conn_flush(s->conn);
}

static void malformed(struct imap_session *s, const char *why)
{
	imapd_auth_abort(s);
	imapd_tagged(s, "BAD", "%s", why);
	imapd_resume(s);
}

/* One step of the exchange with the client's (decoded) data. */
static void step(struct imap_session *s, const char *data, size_t n)
{
	struct imap_auth *a = s->auth;
	struct buf out;
	const char *why = NULL;
	buf_init(&out, SCRAM_MSG_MAX);
	switch (sasl_step(&a->x, directory_thread(), data, n, &out, &why)) {
	case SASL_CHALLENGE:
		challenge(s, out.data != NULL ? out.data : "", out.len);
		break;
	case SASL_CHECK:
		check_login(s, true);
		break;
	case SASL_SUCCESS: /* the Maildir is still to be made, off the loop */
		check_login(s, false);
		break;
	case SASL_FAILURE:
		fail(s, sasl_mech_name(a->x.mech), a->x.user);
		break;
	case SASL_MALFORMED:
		malformed(s, why);
		break;
	}
	buf_free(&out);
}

void imapd_auth_line(struct imap_session *s, const char *line, size_t len)
{
	struct imap_auth *a = s->auth;
	if (a == NULL) {
		imapd_resume(s);
		return;
	}
	if (len == 1 && line[0] == '*') { /* RFC 9051 6.2.2: cancelled */
		imapd_auth_abort(s);
		imapd_tagged(s, "BAD", "Authentication cancelled");
		imapd_resume(s);
		return;
	}
	buf_clear(&a->response);
	if (base64_decode(line, len, &a->response) < 0) {
		malformed(s, "Malformed base64");
		return;
	}
	step(s, a->response.data != NULL ? a->response.data : "",
	     a->response.len);
}

/* Start the exchange, once any penalty wait is over. */
static void begin(struct imap_session *s)
{
	struct imap_auth *a = s->auth;
	if (a->login_cmd) {
		check_login(s, true);
	} else if (a->have_response) {
		step(s, a->response.data != NULL ? a->response.data : "",
		     a->response.len);
	} else { /* "+ " (go ahead), or LOGIN's "Username:" */
		struct buf out;
		buf_init(&out, 0);
		sasl_first_challenge(&a->x, &out);
		challenge(s, out.data != NULL ? out.data : "", out.len);
		buf_free(&out);
	}
}

static void on_penalty_over(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	imapd_session_hold(s);
	if (s->phase != IP_CLOSING) { /* else the deadline passed meanwhile */
		conn_resume_read(s->conn);
		begin(s);
		if (s->conn != NULL)
			conn_flush(s->conn);
	}
	imapd_session_release(s);
}

/* Every attempt waits for its slot first (policy/penalty.h). */
static void start(struct imap_session *s)
{
	uint64_t wait = penalty_wait(s->d->penalty, (struct sockaddr *)&s->peer,
				     monotonic_ms());
	if (wait > 0)
		arm_timer(s, wait, on_penalty_over);
	else
		begin(s);
}

static struct imap_auth *new_auth(struct imap_session *s, enum sasl_mech m,
				  const struct sasl_policy *p,
				  const struct sasl_conn *c)
{
	struct imap_auth *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		imapd_tagged(s, "NO", "[UNAVAILABLE] Out of memory");
		return NULL;
	}
	sasl_exchange_init(&a->x, m, p, c);
	buf_init(&a->response, IMAP_SASL_LINE_MAX);
	s->auth = a;
	return a;
}

static bool refuse_plaintext(struct imap_session *s)
{
	if (s->tls)
		return false;
	/* RFC 9051 6.2.3: LOGINDISABLED; nothing sent is looked at */
	imapd_tagged(s, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
	return true;
}

/* LOGIN carries a password: refused (LOGINDISABLED) when [auth]
 * mechanisms allows neither PLAIN nor LOGIN. */
static bool refuse_password(struct imap_session *s)
{
	if (sasl_password_logins(s->d->cfg->auth_mechanisms))
		return false;
	imapd_tagged(s, "NO", "[CANNOT] Password logins are disabled; "
			      "use AUTHENTICATE");
	return true;
}

void imapd_cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	const char *user, *pass;
	size_t ulen, plen;
	if (refuse_plaintext(s) || refuse_password(s))
		return;
	if (cmd->n_top != 2 || !imap_arg_astring(&cmd->args[0], &user, &ulen) ||
	    !imap_arg_astring(&cmd->args[cmd->args[0].next], &pass, &plen)) {
		imapd_tagged(s, "BAD", "Syntax: LOGIN user password");
		return;
	}
	if (ulen == 0 || ulen > SASL_NAME_MAX || memchr(user, '\0', ulen) ||
	    !utf8_valid(user, ulen) || plen > PASSWORD_MAX) {
		imapd_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication "
				      "failed");
		return;
	}
	struct sasl_policy p;
	struct sasl_conn c;
	policy(s, &p);
	conn_facts(s, &c);
	struct imap_auth *a = new_auth(s, SASL_LOGIN, &p, &c);
	if (a == NULL)
		return;
	a->login_cmd = true;
	memcpy(a->x.user, user, ulen);
	memcpy(a->x.password, pass, plen);
	a->x.password_len = plen;
	start(s);
}

void imapd_cmd_authenticate(struct imap_session *s,
			    const struct imap_command *cmd)
{
	const char *name, *ir = NULL;
	size_t n, irn = 0;
	if (refuse_plaintext(s))
		return;
	if (cmd->n_top < 1 || cmd->n_top > 2 ||
	    cmd->args[0].type != IMAP_ARG_ATOM ||
	    !imap_arg_astring(&cmd->args[0], &name, &n) ||
	    (cmd->n_top == 2 &&
	     (cmd->args[1].type != IMAP_ARG_ATOM ||
	      !imap_arg_astring(&cmd->args[1], &ir, &irn)))) {
		imapd_tagged(s, "BAD", "Syntax: AUTHENTICATE mechanism "
				       "[initial-response]");
		return;
	}
	struct sasl_policy p;
	struct sasl_conn c;
	policy(s, &p);
	conn_facts(s, &c);
	enum sasl_mech m = sasl_mech_find(name, n);
	if (!sasl_mech_usable(&p, &c, m)) {
		imapd_tagged(s, "NO", "Unsupported authentication mechanism");
		return;
	}
	struct imap_auth *a = new_auth(s, m, &p, &c);
	if (a == NULL)
		return;
	/* RFC 4959: "=" is an empty initial response */
	a->have_response = ir != NULL;
	if (ir != NULL && !(irn == 1 && ir[0] == '=') &&
	    base64_decode(ir, irn, &a->response) < 0) {
		malformed(s, "Malformed base64");
		return;
	}
	start(s);
}
