/* auth: SMTP AUTH (RFC 4954) with PLAIN (RFC 4616), LOGIN, SCRAM-SHA-256
 * and SCRAM-SHA-256-PLUS (RFC 7677, RFC 9266), and EXTERNAL (RFC 4422
 * appendix A) with a TLS client certificate.
 *
 * AUTH is offered only over TLS; without TLS the command is refused before
 * anything it carries is looked at. Password checks (argon2id) run on the
 * auth pool; an unknown user costs the same as a wrong password (a dummy
 * hash, or made-up SCRAM salts), and every failure makes the client's next
 * attempt wait (policy/penalty.h).
 *
 * The mechanisms themselves are sasl/mech.c, shared with IMAP and POP3;
 * this file is SMTP's framing of them (334 challenges, 235/535/501
 * replies), the penalty, and send-only tokens (pst_...) as PLAIN/LOGIN
 * passwords, which only submission takes. */
#include "smtpd/smtpd.h"

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "sasl/mech.h"

#include <event2/event.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* SMTP speaks every mechanism sasl/mech.h knows. */
static const unsigned SMTP_MECHS =
	SASL_MECH_BIT(SASL_PLAIN) | SASL_MECH_BIT(SASL_LOGIN) |
	SASL_MECH_BIT(SASL_SCRAM) | SASL_MECH_BIT(SASL_SCRAM_PLUS) |
	SASL_MECH_BIT(SASL_EXTERNAL);

/* Tokens are recognised by this prefix (see cli/token.c). */
static const char TOKEN_PREFIX[] = "pst_";

struct auth_exchange {
	struct sasl_exchange x;
	bool have_response; /* an initial response came with AUTH */
	struct buf response; /* the decoded client data of this step */
};

struct auth_job {
	struct session *s;
	char user[SASL_USER_MAX + 1];
	char password[PASSWORD_MAX + 1];
	size_t password_len;
	const char *dummy_hash;
	bool ok;
	int64_t token_id;
	char token_senders[1024];
};

static void exchange_free(struct auth_exchange *a)
{
	buf_wipe(&a->response);
	sasl_exchange_wipe(&a->x);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

void smtpd_auth_abort(struct session *s)
{
	if (s->auth != NULL) {
		exchange_free(s->auth);
		s->auth = NULL;
	}
}

bool smtpd_auth_offered(const struct session *s)
{
	return s->ls->cfg->role == ROLE_SUBMISSION || s->ls->cfg->auth;
}

static void policy(const struct session *s, struct sasl_policy *p)
{
	p->configured = s->sd->cfg->auth_mechanisms;
	p->spoken = SMTP_MECHS;
	p->secret = s->sd->secret;
}

static void conn_facts(const struct session *s, struct sasl_conn *c)
{
	sasl_conn_read(s->conn != NULL ? conn_ssl(s->conn) : NULL, c);
}

void smtpd_auth_mechanisms(struct session *s, char *out, size_t n)
{
	struct sasl_policy p;
	struct sasl_conn c;
	struct buf b;
	policy(s, &p);
	conn_facts(s, &c);
	buf_init(&b, 0);
	sasl_mech_list(&p, &c, " ", &b);
	/* the EHLO keyword line: names after "AUTH", without the first space */
	snprintf(out, n, "%s", b.len > 0 ? buf_cstr(&b) + 1 : "");
	buf_free(&b);
}

/* ------------------------------------------------------------ outcomes */

static void back_to_commands(struct session *s)
{
	s->phase = P_COMMAND;
	session_await_command(s);
	/* a stop that came while the password check ran found nothing to
	 * wind down (server.c): without this the session would go on, and
	 * the drain would wait for it until the stop timed out */
	if (service_stopping(s->sd->svc))
		session_close_with(s, 421, "4.3.2", "Shutting down");
}

static void succeed(struct session *s, const char *user, int64_t token_id,
		    const char *token_senders)
{
	enum sasl_mech m = s->auth->x.mech;
	s->authenticated = true;
	snprintf(s->auth_user, sizeof(s->auth_user), "%s", user);
	ascii_lower(s->auth_user, strlen(s->auth_user));
	snprintf(s->auth_mech, sizeof(s->auth_mech), "%s", sasl_mech_name(m));
	s->token_id = token_id;
	snprintf(s->token_senders, sizeof(s->token_senders), "%s",
		 token_senders != NULL ? token_senders : "");
	smtpd_auth_abort(s);
	log_info("session=%s event=auth result=ok mech=%s user=%s ip=%s%s",
		 s->id, s->auth_mech, s->auth_user, s->peer_ip,
		 token_id > 0 ? " token=yes" : "");
	session_reply(s, 235, "2.7.0", "Authentication successful");
	back_to_commands(s);
}

static void on_failure_delay(evutil_socket_t fd, short what, void *arg);

/* Hold the session (no reading, no commands) until cb runs after ms. */
static void arm_timer(struct session *s, uint64_t ms,
		      void (*cb)(evutil_socket_t, short, void *))
{
	if (s->auth_timer == NULL)
		s->auth_timer = evtimer_new(s->w->base, cb, s);
	else
		event_assign(s->auth_timer, s->w->base, -1, 0, cb, s);
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	s->phase = P_AUTH_WAIT;
	conn_pause_read(s->conn);
	evtimer_add(s->auth_timer, &tv);
}

/* A failed login: answered only after the penalty it earns, and the
 * connection ends after max_failures. The user name is logged (to spot an
 * attack on one account), the password never. */
static void fail(struct session *s, const char *user)
{
	char v[SASL_NAME_MAX * 4 + 8];
	s->auth_failures++;
	uint64_t delay = penalty_fail(s->sd->penalty, (struct sockaddr *)&s->peer,
				      monotonic_ms());
	log_warn("session=%s event=auth result=fail mech=%s user=%s ip=%s "
		 "failures=%u delay_ms=%llu",
		 s->id, sasl_mech_name(s->auth->x.mech),
		 log_value(v, sizeof(v), user, strlen(user)), s->peer_ip,
		 s->auth_failures, (unsigned long long)delay);
	smtpd_auth_abort(s);
	arm_timer(s, delay, on_failure_delay);
}

static void on_failure_delay(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	session_reply(s, 535, "5.7.8", "Authentication credentials invalid");
	conn_resume_read(s->conn);
	if (s->auth_failures >= s->sd->cfg->auth_max_failures) {
		session_close_with(s, 421, "4.7.0", "Too many failed logins");
		return;
	}
	back_to_commands(s);
	session_process_input(s);
}

static void malformed(struct session *s, const char *why)
{
	smtpd_auth_abort(s);
	session_reply(s, 501, "5.5.2", "%s", why);
	back_to_commands(s);
}

/* A challenge: 334 and the data in base64 (RFC 4954 4). */
static void challenge(struct session *s, const void *data, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	base64_encode(data, n, &b);
	session_reply_line(s, 334, false, "%s", buf_cstr(&b));
	buf_free(&b);
	s->phase = P_AUTH;
	session_await_command(s);
}

/* ------------------------------------------------------------ password */

static void check_done(void *arg);

static void token_hash(const char *token, size_t n, char hex[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)token, n, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* On an auth pool thread: is the password (or token) right for user? */
static void check_job(void *arg)
{
	struct auth_job *j = arg;
	struct directory *d = directory_thread();
	ascii_lower(j->user, strlen(j->user));
	if (d != NULL && strncmp(j->password, TOKEN_PREFIX, 4) == 0) {
		char hex[65];
		struct dir_token t;
		token_hash(j->password, j->password_len, hex);
		if (dir_token_find(d, hex, &t) == 1 && strcmp(t.user, j->user) == 0) {
			j->ok = true;
			j->token_id = t.id;
			snprintf(j->token_senders, sizeof(j->token_senders), "%s",
				 t.senders);
			dir_token_used(d, t.id, (int64_t)time(NULL));
		}
	} else if (d != NULL) {
		j->ok = sasl_password_check(d, j->user, j->password,
					    j->password_len, j->dummy_hash);
	}
	explicit_bzero(j->password, sizeof(j->password));
	if (inbox_post(j->s->w->inbox, check_done, j) < 0)
		abort();
}

static void check_done(void *arg)
{
	struct auth_job *j = arg;
	struct session *s = j->s;
	s->jobs--;
	if (!session_free_if_gone(s) && s->auth != NULL) {
		conn_resume_read(s->conn);
		if (j->ok)
			succeed(s, j->user, j->token_id, j->token_senders);
		else
			fail(s, j->user);
		session_process_input(s);
	}
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* PLAIN and LOGIN end here: check user and password off the loop. The
 * exchange's copy of the password is wiped at once. */
static void check_password(struct session *s)
{
	struct sasl_exchange *x = &s->auth->x;
	struct auth_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		explicit_bzero(x->password, sizeof(x->password));
		fail(s, x->user);
		return;
	}
	j->s = s;
	snprintf(j->user, sizeof(j->user), "%s", x->user);
	memcpy(j->password, x->password, x->password_len);
	j->password_len = x->password_len;
	explicit_bzero(x->password, sizeof(x->password));
	j->dummy_hash = s->sd->dummy_hash;
	s->phase = P_AUTH_WAIT;
	conn_pause_read(s->conn);
	s->jobs++;
	if (pool_submit(s->sd->auth_pool, check_job, j) < 0) {
		s->jobs--;
		explicit_bzero(j, sizeof(*j));
		free(j);
		conn_resume_read(s->conn);
		smtpd_auth_abort(s);
		session_reply(s, 454, "4.7.0", "Temporary authentication failure");
		back_to_commands(s);
	}
}

/* ------------------------------------------------------------ the exchange */

/* One step of the exchange with the client's (decoded) data. */
static void step(struct session *s, const char *data, size_t n)
{
	struct auth_exchange *a = s->auth;
	struct buf out;
	const char *why = NULL;
	buf_init(&out, SCRAM_MSG_MAX);
	switch (sasl_step(&a->x, directory_thread(), data, n, &out, &why)) {
	case SASL_CHALLENGE:
		challenge(s, out.data != NULL ? out.data : "", out.len);
		break;
	case SASL_CHECK:
		check_password(s);
		break;
	case SASL_SUCCESS:
		succeed(s, a->x.user, 0, NULL);
		break;
	case SASL_FAILURE:
		fail(s, a->x.user);
		break;
	case SASL_MALFORMED:
		malformed(s, why);
		break;
	}
	buf_free(&out);
}

/* Start the exchange, once any penalty wait is over. */
static void begin(struct session *s)
{
	struct auth_exchange *a = s->auth;
	if (a->have_response) {
		step(s, a->response.data != NULL ? a->response.data : "",
		     a->response.len);
		return;
	}
	struct buf out; /* "334 " (go ahead), or LOGIN's "Username:" */
	buf_init(&out, 0);
	sasl_first_challenge(&a->x, &out);
	challenge(s, out.data != NULL ? out.data : "", out.len);
	buf_free(&out);
}

static void on_penalty_over(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	conn_resume_read(s->conn);
	begin(s);
	conn_flush(s->conn);
}

void smtpd_auth_line(struct session *s, const char *line, size_t len)
{
	struct auth_exchange *a = s->auth;
	if (len == 1 && line[0] == '*') {
		/* RFC 4954 4: the client gave up */
		smtpd_auth_abort(s);
		session_reply(s, 501, "5.0.0", "Authentication cancelled");
		back_to_commands(s);
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

void smtpd_cmd_auth(struct session *s, const struct smtp_command *cmd)
{
	if (!smtpd_auth_offered(s)) {
		session_reply(s, 502, "5.5.1", "AUTH is not available here");
		return;
	}
	if (!s->tls) { /* RFC 4954 4: refused before anything is looked at */
		session_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return;
	}
	if (s->authenticated) {
		session_reply(s, 503, "5.5.1", "Already authenticated");
		return;
	}
	const char *cursor = cmd->args, *word, *ir;
	size_t n, irn;
	next_word(&cursor, &word, &n);
	bool have_ir = next_word(&cursor, &ir, &irn);
	const char *extra;
	size_t extra_n;
	if (next_word(&cursor, &extra, &extra_n)) {
		session_reply(s, 501, "5.5.4", "Syntax: AUTH mechanism [response]");
		return;
	}
	struct sasl_policy p;
	struct sasl_conn c;
	policy(s, &p);
	conn_facts(s, &c);
	enum sasl_mech m = sasl_mech_find(word, n);
	if (!sasl_mech_usable(&p, &c, m)) {
		session_reply(s, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	struct auth_exchange *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		session_reply(s, 454, "4.7.0", "Temporary authentication failure");
		return;
	}
	sasl_exchange_init(&a->x, m, &p, &c);
	buf_init(&a->response, SMTP_AUTH_LINE_MAX);
	s->auth = a;
	a->have_response = have_ir;
	/* "=" is an empty initial response (RFC 4954 4) */
	if (have_ir && !(irn == 1 && ir[0] == '=') &&
	    base64_decode(ir, irn, &a->response) < 0) {
		malformed(s, "Malformed base64");
		return;
	}
	uint64_t wait = penalty_wait(s->sd->penalty, (struct sockaddr *)&s->peer,
				     monotonic_ms());
	if (wait > 0)
		arm_timer(s, wait, on_penalty_over);
	else
		begin(s);
}
