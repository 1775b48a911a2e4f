/* auth: SMTP AUTH (RFC 4954) with PLAIN (RFC 4616), LOGIN, SCRAM-SHA-256
 * and SCRAM-SHA-256-PLUS (RFC 7677, RFC 9266), and EXTERNAL (RFC 4422
 * appendix A) with a TLS client certificate.
 *
 * AUTH is offered only over TLS; without TLS the command is refused before
 * anything it carries is looked at. Password checks (argon2id) run on the
 * auth pool; an unknown user costs the same as a wrong password (a dummy
 * hash, or made-up SCRAM salts), and every failure makes the client's next
 * attempt wait (policy/penalty.h). */
#include "smtpd/smtpd.h"

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "sasl/plain.h"
#include "sasl/scram.h"

#include <event2/event.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum mech { M_PLAIN, M_LOGIN, M_SCRAM, M_SCRAM_PLUS, M_EXTERNAL, M_COUNT };

static const char *const mech_names[M_COUNT] = {
	"PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "EXTERNAL"};

/* Tokens are recognised by this prefix (see cli/token.c). */
static const char TOKEN_PREFIX[] = "pst_";

struct auth_exchange {
	enum mech mech;
	int step;
	bool have_response; /* an initial response came with AUTH */
	struct buf response; /* the decoded client data of this step */
	char login_user[SASL_NAME_MAX + 1];
	struct scram_server scram;
	bool scram_real;     /* the user exists and has SCRAM credentials */
	unsigned char cbind[TLS_EXPORTER_LEN];
};

struct auth_job {
	struct session *s;
	char user[SASL_NAME_MAX + 1];
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
	scram_server_free(&a->scram);
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

static bool configured(const struct session *s, enum mech m)
{
	const char *cursor = s->sd->cfg->auth_mechanisms, *word;
	size_t n;
	while (next_word(&cursor, &word, &n))
		if (strlen(mech_names[m]) == n &&
		    strncasecmp(word, mech_names[m], n) == 0)
			return true;
	return false;
}

/* Is mechanism m usable on this connection now? */
static bool usable(struct session *s, enum mech m)
{
	SSL *ssl = s->conn != NULL ? conn_ssl(s->conn) : NULL;
	unsigned char cb[TLS_EXPORTER_LEN];
	char fp[TLS_FINGERPRINT_LEN + 1], email[TLS_EMAIL_MAX + 1];
	if (ssl == NULL || !configured(s, m))
		return false;
	if (m == M_SCRAM_PLUS)
		return tls_channel_binding(ssl, cb);
	if (m == M_EXTERNAL)
		return tls_client_identity(ssl, fp, email);
	return true;
}

void smtpd_auth_mechanisms(struct session *s, char *out, size_t n)
{
	size_t o = 0;
	out[0] = '\0';
	for (enum mech m = 0; m < M_COUNT; m++) {
		if (!usable(s, m))
			continue;
		int w = snprintf(out + o, n - o, "%s%s", o ? " " : "", mech_names[m]);
		if (w < 0 || (size_t)w >= n - o)
			break;
		o += (size_t)w;
	}
}

/* ------------------------------------------------------------ outcomes */

static void back_to_commands(struct session *s)
{
	s->phase = P_COMMAND;
	session_await_command(s);
}

static void succeed(struct session *s, const char *user, int64_t token_id,
		    const char *token_senders)
{
	enum mech m = s->auth->mech;
	s->authenticated = true;
	snprintf(s->auth_user, sizeof(s->auth_user), "%s", user);
	ascii_lower(s->auth_user, strlen(s->auth_user));
	snprintf(s->auth_mech, sizeof(s->auth_mech), "%s", mech_names[m]);
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
		 s->id, mech_names[s->auth->mech],
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
		struct dir_user u;
		int found = dir_user_get(d, j->user, &u);
		/* the same argon2 work whether or not the user exists */
		int match = password_verify(found == 1 ? u.password : j->dummy_hash,
					    j->password, j->password_len);
		j->ok = found == 1 && match == 1;
		dir_user_clear(&u);
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

/* PLAIN and LOGIN end here: check user and password off the loop. */
static void check_password(struct session *s, const char *user,
			   const char *password, size_t n)
{
	struct auth_job *j = calloc(1, sizeof(*j));
	if (j == NULL || n > PASSWORD_MAX) {
		free(j);
		fail(s, user);
		return;
	}
	j->s = s;
	snprintf(j->user, sizeof(j->user), "%s", user);
	memcpy(j->password, password, n);
	j->password_len = n;
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

/* ------------------------------------------------------------ mechanisms */

static void plain_step(struct session *s, const char *data, size_t n)
{
	struct sasl_plain p;
	if (sasl_plain_parse(data, n, &p) < 0) {
		malformed(s, "Malformed PLAIN response");
		return;
	}
	/* no acting for someone else: an authzid must be oneself */
	if (p.authzid[0] != '\0' && strcasecmp(p.authzid, p.authcid) != 0)
		fail(s, p.authcid);
	else
		check_password(s, p.authcid, p.passwd, p.passwd_len);
	explicit_bzero(&p, sizeof(p));
}

static void login_step(struct session *s, const char *data, size_t n)
{
	struct auth_exchange *a = s->auth;
	if (a->step == 0) {
		if (n == 0 || n > SASL_NAME_MAX || memchr(data, '\0', n) != NULL ||
		    !utf8_valid(data, n)) {
			malformed(s, "Malformed user name");
			return;
		}
		memcpy(a->login_user, data, n);
		a->login_user[n] = '\0';
		a->step = 1;
		challenge(s, "Password:", 9);
		return;
	}
	if (n == 0 || memchr(data, '\0', n) != NULL) {
		malformed(s, "Malformed password");
		return;
	}
	check_password(s, a->login_user, data, n);
}

/* SCRAM: the user's stored keys, or made-up ones that no password opens. */
static void scram_lookup(struct session *s, struct scram_credentials *cred)
{
	struct auth_exchange *a = s->auth;
	char user[SCRAM_USER_MAX + 1];
	struct dir_user u;
	struct directory *d = directory_thread();
	snprintf(user, sizeof(user), "%s", a->scram.user);
	ascii_lower(user, strlen(user));
	a->scram_real = d != NULL && dir_user_get(d, user, &u) == 1 &&
			scram_credentials_decode(u.scram, cred) == 0;
	if (d != NULL)
		dir_user_clear(&u);
	if (!a->scram_real)
		scram_fake_credentials(s->sd->secret, user, cred);
}

static void scram_step(struct session *s, const char *data, size_t n)
{
	struct auth_exchange *a = s->auth;
	struct buf out;
	struct scram_credentials cred;
	enum scram_result r;
	buf_init(&out, SCRAM_MSG_MAX);
	if (a->step == 0) {
		r = scram_client_first(&a->scram, data, n, usable(s, M_SCRAM_PLUS));
		if (r == SCRAM_OK) {
			scram_lookup(s, &cred);
			scram_server_first(&a->scram, &cred, &out);
			explicit_bzero(&cred, sizeof(cred));
		}
	} else if (a->step == 1) {
		bool plus = a->mech == M_SCRAM_PLUS;
		if (plus && !tls_channel_binding(conn_ssl(s->conn), a->cbind))
			r = SCRAM_FAIL;
		else
			r = scram_client_final(&a->scram, data, n,
					       plus ? a->cbind : NULL,
					       plus ? sizeof(a->cbind) : 0, &out);
		if (r == SCRAM_OK && !a->scram_real)
			r = SCRAM_FAIL;
	} else {
		/* after our server-final the client answers with nothing */
		buf_free(&out);
		if (n != 0)
			malformed(s, "Unexpected SCRAM data");
		else
			succeed(s, a->scram.user, 0, NULL);
		return;
	}
	if (r == SCRAM_MALFORMED)
		malformed(s, "Malformed SCRAM message");
	else if (r == SCRAM_FAIL)
		fail(s, a->scram.user);
	else {
		a->step++;
		challenge(s, out.data, out.len);
	}
	buf_free(&out);
}

/* EXTERNAL: the trusted client certificate names the user, by fingerprint
 * (postern user cert add) or by its e-mail address when that is a user. */
static void external_step(struct session *s, const char *authzid, size_t n)
{
	char fp[TLS_FINGERPRINT_LEN + 1], email[TLS_EMAIL_MAX + 1];
	char user[DIR_ADDRESS_MAX + 1] = "";
	struct directory *d = directory_thread();
	struct dir_user u;
	if (d != NULL && tls_client_identity(conn_ssl(s->conn), fp, email)) {
		if (dir_cert_user(d, fp, user) != 1 && email[0] != '\0') {
			ascii_lower(email, strlen(email));
			size_t n_email = strlen(email);
			if (n_email < sizeof(user) && dir_user_get(d, email, &u) == 1)
				memcpy(user, email, n_email + 1);
			dir_user_clear(&u);
		}
	}
	bool ok = user[0] != '\0' &&
		  (n == 0 || (n == strlen(user) && strncasecmp(authzid, user, n) == 0));
	if (ok)
		succeed(s, user, 0, NULL);
	else
		fail(s, user[0] != '\0' ? user : "(certificate)");
}

/* One step of the exchange with the client's (decoded) data. */
static void step(struct session *s, const char *data, size_t n)
{
	switch (s->auth->mech) {
	case M_PLAIN:
		plain_step(s, data, n);
		break;
	case M_LOGIN:
		login_step(s, data, n);
		break;
	case M_SCRAM:
	case M_SCRAM_PLUS:
		scram_step(s, data, n);
		break;
	case M_EXTERNAL:
		external_step(s, data, n);
		break;
	case M_COUNT:
		break;
	}
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
	if (a->mech == M_LOGIN)
		challenge(s, "Username:", 9);
	else
		challenge(s, "", 0); /* "334 ": go ahead */
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

static enum mech find_mech(const char *name, size_t n)
{
	for (enum mech m = 0; m < M_COUNT; m++)
		if (strlen(mech_names[m]) == n && strncasecmp(name, mech_names[m], n) == 0)
			return m;
	return M_COUNT;
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
	enum mech m = find_mech(word, n);
	if (m == M_COUNT || !usable(s, m)) {
		session_reply(s, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	struct auth_exchange *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		session_reply(s, 454, "4.7.0", "Temporary authentication failure");
		return;
	}
	a->mech = m;
	buf_init(&a->response, SMTP_AUTH_LINE_MAX);
	scram_server_init(&a->scram, m == M_SCRAM_PLUS);
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
