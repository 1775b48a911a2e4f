/* auth: USER/PASS (RFC 1939 7) and AUTH (RFC 5034) with PLAIN (RFC 4616),
 * SCRAM-SHA-256(-PLUS) (RFC 7677, RFC 9266) and EXTERNAL (RFC 4422
 * appendix A: a trusted TLS client certificate, when the listener asks for
 * one), the mechanisms of sasl/mech.c that submission and IMAP use too;
 * this file is POP3's framing of them ("+ " challenges, +OK/-ERR). The
 * same directory, hashes and failed-login penalty as submission and IMAP
 * (policy/penalty.h is shared: guesses over POP3 slow down guesses over
 * SMTP and IMAP, and back). The exchange follows imapd/auth.c.
 *
 * Nothing is looked at before TLS: USER, PASS and AUTH get -ERR and CAPA
 * lists neither USER nor SASL. Password checks (argon2id) run on the auth
 * pool; an unknown user costs a dummy hash check, like a wrong password.
 * A failure is answered "-ERR [AUTH]" (RFC 3206) only after its penalty;
 * auth.max_failures of them end the connection. */
#include "pop3d/pop3d.h"

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/util.h"
#include "sasl/mech.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SASL mechanisms of AUTH; USER/PASS is POP3's own login. */
static const unsigned POP3_MECHS =
	SASL_MECH_BIT(SASL_PLAIN) | SASL_MECH_BIT(SASL_LOGIN) |
	SASL_MECH_BIT(SASL_SCRAM) | SASL_MECH_BIT(SASL_SCRAM_PLUS) |
	SASL_MECH_BIT(SASL_EXTERNAL);

struct pop3_auth {
	/* for PASS: x.password from the command (the user is s->user) */
	struct sasl_exchange x;
	bool user_pass;
	bool have_response; /* AUTH with an initial response */
	struct buf response;
};

/* A login check on the auth pool. */
struct login_job {
	struct pop3_session *s;
	char user[SASL_NAME_MAX + 1];
	char password[PASSWORD_MAX + 1];
	size_t password_len;
	bool check_password; /* false: SCRAM proved it */
	const char *dummy_hash;
	bool ok;
	uint64_t quota;
};

void pop3d_auth_abort(struct pop3_session *s)
{
	struct pop3_auth *a = s->auth;
	if (a == NULL)
		return;
	buf_wipe(&a->response);
	sasl_exchange_wipe(&a->x);
	explicit_bzero(a, sizeof(*a));
	free(a);
	s->auth = NULL;
}

/* The mechanism's name for the log: USER for USER/PASS. */
static const char *mech_name(const struct pop3_auth *a)
{
	if (a == NULL)
		return "?";
	return a->user_pass ? "USER" : sasl_mech_name(a->x.mech);
}

static void policy(const struct pop3_session *s, struct sasl_policy *p)
{
	p->configured = s->d->cfg->auth_mechanisms;
	p->spoken = POP3_MECHS;
	p->secret = s->d->secret;
}

static void conn_facts(const struct pop3_session *s, struct sasl_conn *c)
{
	sasl_conn_read(s->conn != NULL ? conn_ssl(s->conn) : NULL, c);
}

void pop3d_auth_mechanisms(struct pop3_session *s, struct buf *out)
{
	struct sasl_policy p;
	struct sasl_conn c;
	policy(s, &p);
	conn_facts(s, &c);
	sasl_mech_list(&p, &c, " ", out);
}

/* ------------------------------------------------------------ outcomes */

static void on_failure_delay(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;
	conn_resume_read(s->conn);
	if (s->auth_failures >= s->d->cfg->auth_max_failures) {
		pop3d_close_with(s, "-ERR [AUTH] Authentication failed; too "
				    "many failures");
		return;
	}
	pop3d_printf(s, "-ERR [AUTH] Authentication failed");
	pop3d_resume(s);
	pop3d_process_input(s);
}

/* Hold the session (no reading) until cb runs after ms. */
static void arm_timer(struct pop3_session *s, uint64_t ms,
		      void (*cb)(evutil_socket_t, short, void *))
{
	if (s->timer == NULL)
		s->timer = evtimer_new(s->w->base, cb, s);
	else
		event_assign(s->timer, s->w->base, -1, 0, cb, s);
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	s->phase = PP_AUTH_WAIT;
	conn_pause_read(s->conn);
	evtimer_add(s->timer, &tv);
}

/* A failed login: answered only after the penalty it earns. The user name
 * is logged, the password never. */
static void fail(struct pop3_session *s, const char *mech, const char *user)
{
	char v[SASL_NAME_MAX * 4 + 8];
	s->auth_failures++;
	s->have_user = false;
	uint64_t delay = penalty_fail(s->d->penalty, (struct sockaddr *)&s->peer,
				      monotonic_ms());
	log_warn("session=%s event=auth result=fail protocol=pop3 mech=%s "
		 "user=%s ip=%s failures=%u delay_ms=%llu",
		 s->id, mech, log_value(v, sizeof(v), user, strlen(user)),
		 s->peer_ip, s->auth_failures, (unsigned long long)delay);
	pop3d_auth_abort(s);
	arm_timer(s, delay, on_failure_delay);
}

/* ------------------------------------------------------------ the check */

static void login_done(void *arg);

static void login_thread(void *arg)
{
	struct login_job *j = arg;
	struct directory *d = directory_thread();
	struct dir_user u;
	ascii_lower(j->user, strlen(j->user));
	if (j->check_password) {
		j->ok = sasl_password_check(d, j->user, j->password,
					    j->password_len, j->dummy_hash);
		explicit_bzero(j->password, sizeof(j->password));
	}
	/* the user must exist, whatever proved who it is */
	int found = d != NULL ? dir_user_get(d, j->user, &u) : -1;
	if (found == 1)
		j->quota = u.quota;
	j->ok = j->ok && found == 1;
	if (d != NULL)
		dir_user_clear(&u);
	if (inbox_post(j->s->w->inbox, login_done, j) < 0)
		abort();
}

static void login_done(void *arg)
{
	struct login_job *j = arg;
	struct pop3_session *s = j->s;
	s->jobs--;
	if (!pop3d_session_free_if_gone(s) && s->conn != NULL) {
		const char *mech = mech_name(s->auth);
		conn_resume_read(s->conn);
		if (j->ok) {
			pop3d_auth_abort(s);
			pop3d_maildrop_open(s, j->user, j->quota, mech);
		} else {
			fail(s, mech, j->user);
		}
	}
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* Check user (and password, unless SCRAM or a certificate proved who it
 * is) off the loop. The exchange's copy of the password is wiped at once. */
static void check_login(struct pop3_session *s, const char *user, bool check)
{
	struct sasl_exchange *x = &s->auth->x;
	struct login_job *j = calloc(1, sizeof(*j));
	size_t user_len = strlen(user);
	if (j == NULL || user_len > SASL_NAME_MAX) {
		free(j);
		explicit_bzero(x->password, sizeof(x->password));
		fail(s, mech_name(s->auth), user);
		return;
	}
	j->s = s;
	memcpy(j->user, user, user_len + 1); /* fits: checked above */
	if (check)
		memcpy(j->password, x->password, x->password_len);
	j->password_len = check ? x->password_len : 0;
	explicit_bzero(x->password, sizeof(x->password));
	j->check_password = check;
	j->ok = !check;
	j->dummy_hash = s->d->dummy_hash;
	s->phase = PP_AUTH_WAIT;
	conn_pause_read(s->conn);
	s->jobs++;
	if (pool_submit(s->d->auth_pool, login_thread, j) < 0) {
		s->jobs--;
		explicit_bzero(j, sizeof(*j));
		free(j);
		pop3d_auth_abort(s);
		pop3d_printf(s, "-ERR [SYS/TEMP] Try again later");
		pop3d_resume(s);
	}
}

/* ------------------------------------------------------------ SASL */

static void challenge(struct pop3_session *s, const void *data, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	base64_encode(data, n, &b);
	pop3d_printf(s, "+ %s", buf_cstr(&b));
	buf_free(&b);
	s->phase = PP_SASL;
	if (s->conn != NULL)
		conn_flush(s->conn);
}

static void malformed(struct pop3_session *s, const char *why)
{
	pop3d_auth_abort(s);
	pop3d_error(s, "%s", why);
	pop3d_resume(s);
}

/* One step of the exchange with the client's (decoded) data. */
static void step(struct pop3_session *s, const char *data, size_t n)
{
	struct pop3_auth *a = s->auth;
	struct buf out;
	const char *why = NULL;
	buf_init(&out, SCRAM_MSG_MAX);
	switch (sasl_step(&a->x, directory_thread(), data, n, &out, &why)) {
	case SASL_CHALLENGE:
		challenge(s, out.data != NULL ? out.data : "", out.len);
		break;
	case SASL_CHECK:
		check_login(s, a->x.user, true);
		break;
	case SASL_SUCCESS: /* the user's quota is still to be read */
		check_login(s, a->x.user, false);
		break;
	case SASL_FAILURE:
		fail(s, mech_name(a), a->x.user);
		break;
	case SASL_MALFORMED:
		malformed(s, why);
		break;
	}
	buf_free(&out);
}

void pop3d_auth_line(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_auth *a = s->auth;
	if (a == NULL) {
		pop3d_resume(s);
		return;
	}
	if (len == 1 && line[0] == '*') { /* RFC 5034 4: cancelled */
		pop3d_auth_abort(s);
		pop3d_error(s, "Authentication cancelled");
		pop3d_resume(s);
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
static void begin(struct pop3_session *s)
{
	struct pop3_auth *a = s->auth;
	if (a->user_pass) {
		check_login(s, s->user, true);
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
	struct pop3_session *s = arg;
	if (s->conn == NULL)
		return;
	conn_resume_read(s->conn);
	begin(s);
	if (s->conn != NULL)
		conn_flush(s->conn);
}

/* Every attempt waits for its slot first (policy/penalty.h). */
static void start(struct pop3_session *s)
{
	uint64_t wait = penalty_wait(s->d->penalty, (struct sockaddr *)&s->peer,
				     monotonic_ms());
	if (wait > 0)
		arm_timer(s, wait, on_penalty_over);
	else
		begin(s);
}

static struct pop3_auth *new_auth(struct pop3_session *s, enum sasl_mech m,
				  const struct sasl_policy *p,
				  const struct sasl_conn *c)
{
	struct pop3_auth *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		pop3d_printf(s, "-ERR [SYS/TEMP] Out of memory");
		return NULL;
	}
	sasl_exchange_init(&a->x, m, p, c);
	buf_init(&a->response, POP3_SASL_LINE_MAX);
	s->auth = a;
	return a;
}

static bool refuse_plaintext(struct pop3_session *s)
{
	if (s->tls)
		return false;
	/* RFC 2595 4, RFC 8314: nothing sent is looked at */
	pop3d_error(s, "Use STLS first: no login without TLS");
	pop3d_await_command(s);
	return true;
}

/* USER/PASS carries a password: refused when [auth] mechanisms allows
 * neither PLAIN nor LOGIN (CAPA then lists no USER). */
static bool refuse_password(struct pop3_session *s)
{
	if (sasl_password_logins(s->d->cfg->auth_mechanisms))
		return false;
	pop3d_error(s, "Password logins are disabled: use AUTH");
	pop3d_await_command(s);
	return true;
}

void pop3d_cmd_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	const struct pop3_arg *u = &cmd->args[0];
	if (refuse_plaintext(s) || refuse_password(s))
		return;
	if (u->n > SASL_NAME_MAX) {
		pop3d_error(s, "User name too long");
	} else {
		memcpy(s->user, u->p, u->n);
		s->user[u->n] = '\0';
		s->have_user = true;
		pop3d_printf(s, "+OK Send PASS");
	}
	pop3d_await_command(s);
}

void pop3d_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd)
{
	const struct pop3_arg *p = &cmd->args[0];
	if (refuse_plaintext(s) || refuse_password(s))
		return;
	if (!s->have_user) {
		pop3d_error(s, "USER first");
		pop3d_await_command(s);
		return;
	}
	struct sasl_policy pol;
	struct sasl_conn c;
	policy(s, &pol);
	conn_facts(s, &c);
	struct pop3_auth *a = new_auth(s, SASL_PLAIN, &pol, &c);
	if (a == NULL)
		return;
	a->user_pass = true;
	_Static_assert((int)POP3_LINE_MAX <= (int)PASSWORD_MAX,
		       "a PASS argument fits");
	memcpy(a->x.password, p->p, p->n); /* p->n < POP3_LINE_MAX */
	a->x.password_len = p->n;
	start(s);
}

/* AUTH without an argument: the mechanisms, one a line (a form older
 * than RFC 5034 that some clients still send to probe). */
static void list_mechanisms(struct pop3_session *s)
{
	struct buf b;
	buf_init(&b, 1024);
	pop3d_auth_mechanisms(s, &b);
	pop3d_printf(s, "+OK Mechanisms follow");
	for (char *p = b.data, *sp; p != NULL && *p != '\0'; p = sp) {
		p++; /* the space before each */
		sp = strchr(p, ' ');
		pop3d_printf(s, "%.*s", (int)(sp ? (size_t)(sp - p) : strlen(p)),
			     p);
	}
	pop3d_printf(s, ".");
	buf_free(&b);
	pop3d_await_command(s);
}

void pop3d_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (refuse_plaintext(s))
		return;
	if (cmd->n_args == 0) {
		list_mechanisms(s);
		return;
	}
	struct sasl_policy p;
	struct sasl_conn c;
	policy(s, &p);
	conn_facts(s, &c);
	enum sasl_mech m = sasl_mech_find(cmd->args[0].p, cmd->args[0].n);
	if (!sasl_mech_usable(&p, &c, m)) {
		pop3d_error(s, "Unsupported authentication mechanism");
		pop3d_await_command(s);
		return;
	}
	struct pop3_auth *a = new_auth(s, m, &p, &c);
	if (a == NULL)
		return;
	const struct pop3_arg *ir = &cmd->args[1];
	/* RFC 5034 4: "=" is an empty initial response */
	a->have_response = cmd->n_args == 2;
	if (a->have_response && !(ir->n == 1 && ir->p[0] == '=') &&
	    base64_decode(ir->p, ir->n, &a->response) < 0) {
		malformed(s, "Malformed base64");
		return;
	}
	start(s);
}
