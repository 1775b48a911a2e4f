/* auth: USER/PASS (RFC 1939 7) and AUTH (RFC 5034) with PLAIN (RFC 4616)
 * and SCRAM-SHA-256(-PLUS) (RFC 7677, RFC 9266), against the same
 * directory, hashes and failed-login penalty as submission and IMAP
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
#include "lib/parse.h"
#include "lib/util.h"
#include "sasl/plain.h"
#include "sasl/scram.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mech { M_PLAIN, M_SCRAM, M_SCRAM_PLUS, M_USER, M_COUNT };

static const char *const mech_names[M_COUNT] = {
	"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "USER"};

struct pop3_auth {
	enum mech mech;
	int step;
	struct buf response;
	struct scram_server scram;
	bool scram_real;
	unsigned char cbind[TLS_EXPORTER_LEN];
	char password[PASSWORD_MAX + 1]; /* PASS, until its turn comes */
	size_t password_len;
	bool have_response; /* AUTH with an initial response */
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
	scram_server_free(&a->scram);
	explicit_bzero(a, sizeof(*a));
	free(a);
	s->auth = NULL;
}

static bool configured(const struct pop3_session *s, enum mech m)
{
	const char *cursor = s->d->cfg->auth_mechanisms, *word;
	size_t n;
	while (next_word(&cursor, &word, &n))
		if (strlen(mech_names[m]) == n &&
		    strncasecmp(word, mech_names[m], n) == 0)
			return true;
	return false;
}

static bool usable(struct pop3_session *s, enum mech m)
{
	SSL *ssl = s->conn != NULL ? conn_ssl(s->conn) : NULL;
	unsigned char cb[TLS_EXPORTER_LEN];
	if (ssl == NULL || m == M_USER || !configured(s, m))
		return false;
	if (m == M_SCRAM_PLUS)
		return tls_channel_binding(ssl, cb);
	return true;
}

void pop3d_auth_mechanisms(struct pop3_session *s, struct buf *out)
{
	for (enum mech m = 0; m < M_USER; m++)
		if (usable(s, m))
			buf_appendf(out, " %s", mech_names[m]);
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
	int found = d != NULL ? dir_user_get(d, j->user, &u) : -1;
	if (j->check_password) {
		/* the same argon2 work whether or not the user exists */
		int match = password_verify(found == 1 ? u.password
						       : j->dummy_hash,
					    j->password, j->password_len);
		j->ok = found == 1 && match == 1;
		explicit_bzero(j->password, sizeof(j->password));
	}
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
		const char *mech = s->auth != NULL ? mech_names[s->auth->mech]
						   : "?";
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

/* Check user (and password, unless SCRAM proved it) off the loop. */
static void check_login(struct pop3_session *s, const char *user,
			const char *password, size_t n, bool check)
{
	struct login_job *j = calloc(1, sizeof(*j));
	if (j == NULL || n > PASSWORD_MAX || strlen(user) > SASL_NAME_MAX) {
		free(j);
		fail(s, mech_names[s->auth->mech], user);
		return;
	}
	j->s = s;
	snprintf(j->user, sizeof(j->user), "%s", user);
	if (check)
		memcpy(j->password, password, n);
	j->password_len = n;
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

static void plain_step(struct pop3_session *s, const char *data, size_t n)
{
	struct sasl_plain p;
	if (sasl_plain_parse(data, n, &p) < 0) {
		malformed(s, "Malformed PLAIN response");
		return;
	}
	/* no acting for someone else: an authzid must be oneself */
	if (p.authzid[0] != '\0' && strcasecmp(p.authzid, p.authcid) != 0)
		fail(s, "PLAIN", p.authcid);
	else
		check_login(s, p.authcid, p.passwd, p.passwd_len, true);
	explicit_bzero(&p, sizeof(p));
}

/* SCRAM: the user's stored keys, or made-up ones no password opens. A
 * small SQLite read on the loop, as imapd/auth.c does. */
static void scram_lookup(struct pop3_session *s, struct scram_credentials *c)
{
	struct pop3_auth *a = s->auth;
	char user[SCRAM_USER_MAX + 1];
	struct dir_user u;
	struct directory *d = directory_thread();
	snprintf(user, sizeof(user), "%s", a->scram.user);
	ascii_lower(user, strlen(user));
	a->scram_real = d != NULL && dir_user_get(d, user, &u) == 1 &&
			scram_credentials_decode(u.scram, c) == 0;
	if (d != NULL)
		dir_user_clear(&u);
	if (!a->scram_real)
		scram_fake_credentials(s->d->secret, user, c);
}

static enum scram_result scram_final(struct pop3_session *s, const char *data,
				     size_t n, struct buf *out)
{
	struct pop3_auth *a = s->auth;
	bool plus = a->mech == M_SCRAM_PLUS;
	if (plus && !tls_channel_binding(conn_ssl(s->conn), a->cbind))
		return SCRAM_FAIL;
	enum scram_result r = scram_client_final(
		&a->scram, data, n, plus ? a->cbind : NULL,
		plus ? sizeof(a->cbind) : 0, out);
	return r == SCRAM_OK && !a->scram_real ? SCRAM_FAIL : r;
}

static void scram_step(struct pop3_session *s, const char *data, size_t n)
{
	struct pop3_auth *a = s->auth;
	struct buf out;
	struct scram_credentials cred;
	enum scram_result r;
	if (a->step == 2) { /* the client's empty answer to server-final */
		if (n != 0)
			malformed(s, "Unexpected SCRAM data");
		else
			check_login(s, a->scram.user, "", 0, false);
		return;
	}
	buf_init(&out, SCRAM_MSG_MAX);
	if (a->step == 0) {
		r = scram_client_first(&a->scram, data, n,
				       usable(s, M_SCRAM_PLUS));
		if (r == SCRAM_OK) {
			scram_lookup(s, &cred);
			scram_server_first(&a->scram, &cred, &out);
			explicit_bzero(&cred, sizeof(cred));
		}
	} else {
		r = scram_final(s, data, n, &out);
	}
	if (r == SCRAM_MALFORMED)
		malformed(s, "Malformed SCRAM message");
	else if (r == SCRAM_FAIL)
		fail(s, mech_names[a->mech], a->scram.user);
	else {
		a->step++;
		challenge(s, out.data, out.len);
	}
	buf_free(&out);
}

static void step(struct pop3_session *s, const char *data, size_t n)
{
	if (s->auth->mech == M_PLAIN)
		plain_step(s, data, n);
	else
		scram_step(s, data, n);
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
	if (a->mech == M_USER) {
		check_login(s, s->user, a->password, a->password_len, true);
		explicit_bzero(a->password, sizeof(a->password));
	} else if (a->have_response) {
		step(s, a->response.data != NULL ? a->response.data : "",
		     a->response.len);
	} else {
		challenge(s, "", 0); /* "+ ": go ahead */
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

static struct pop3_auth *new_auth(struct pop3_session *s, enum mech m)
{
	struct pop3_auth *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		pop3d_printf(s, "-ERR [SYS/TEMP] Out of memory");
		return NULL;
	}
	a->mech = m;
	buf_init(&a->response, POP3_SASL_LINE_MAX);
	scram_server_init(&a->scram, m == M_SCRAM_PLUS);
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

void pop3d_cmd_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	const struct pop3_arg *u = &cmd->args[0];
	if (refuse_plaintext(s))
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
	if (refuse_plaintext(s))
		return;
	if (!s->have_user) {
		pop3d_error(s, "USER first");
		pop3d_await_command(s);
		return;
	}
	struct pop3_auth *a = new_auth(s, M_USER);
	if (a == NULL)
		return;
	memcpy(a->password, p->p, p->n); /* p->n < POP3_LINE_MAX */
	a->password_len = p->n;
	start(s);
}

static enum mech find_mech(const char *name, size_t n)
{
	for (enum mech m = 0; m < M_USER; m++)
		if (strlen(mech_names[m]) == n &&
		    strncasecmp(name, mech_names[m], n) == 0)
			return m;
	return M_COUNT;
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
	enum mech m = find_mech(cmd->args[0].p, cmd->args[0].n);
	if (m == M_COUNT || !usable(s, m)) {
		pop3d_error(s, "Unsupported authentication mechanism");
		pop3d_await_command(s);
		return;
	}
	struct pop3_auth *a = new_auth(s, m);
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
