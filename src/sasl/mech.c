/* mech: SASL mechanism choice and steps, shared by SMTP, IMAP and POP3
 * (see mech.h for the contract). */
#include "sasl/mech.h"

#include "lib/parse.h"
#include "lib/util.h"
#include "mail/address.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const names[SASL_MECH_COUNT] = {
	[SASL_PLAIN] = "PLAIN",
	[SASL_LOGIN] = "LOGIN",
	[SASL_SCRAM] = "SCRAM-SHA-256",
	[SASL_SCRAM_PLUS] = "SCRAM-SHA-256-PLUS",
	[SASL_EXTERNAL] = "EXTERNAL",
};

const char *sasl_mech_name(enum sasl_mech m)
{
	return m < SASL_MECH_COUNT ? names[m] : "?";
}

enum sasl_mech sasl_mech_find(const char *name, size_t n)
{
	for (enum sasl_mech m = 0; m < SASL_MECH_COUNT; m++)
		if (strlen(names[m]) == n &&
		    strncasecmp(name, names[m], n) == 0)
			return m;
	return SASL_MECH_COUNT;
}

void sasl_conn_read(SSL *ssl, struct sasl_conn *c)
{
	memset(c, 0, sizeof(*c));
	if (ssl == NULL)
		return;
	c->tls = true;
	c->cbind_ok = tls_channel_binding(ssl, c->cbind);
	c->cert_ok = tls_client_identity(ssl, c->cert_fp, c->cert_email);
	if (!c->cert_ok) { /* nothing half-filled from an untrusted one */
		c->cert_fp[0] = '\0';
		c->cert_email[0] = '\0';
	}
}

static bool configured(const char *list, enum sasl_mech m)
{
	const char *cursor = list != NULL ? list : "", *word;
	size_t n;
	while (next_word(&cursor, &word, &n))
		if (sasl_mech_find(word, n) == m)
			return true;
	return false;
}

bool sasl_password_logins(const char *mechanisms)
{
	return configured(mechanisms, SASL_PLAIN) ||
	       configured(mechanisms, SASL_LOGIN);
}

bool sasl_mech_usable(const struct sasl_policy *p, const struct sasl_conn *c,
		      enum sasl_mech m)
{
	if (m >= SASL_MECH_COUNT || !c->tls ||
	    (p->spoken & SASL_MECH_BIT(m)) == 0 ||
	    !configured(p->configured, m))
		return false;
	if (m == SASL_SCRAM_PLUS)
		return c->cbind_ok;
	if (m == SASL_EXTERNAL)
		return c->cert_ok;
	return true;
}

void sasl_mech_list(const struct sasl_policy *p, const struct sasl_conn *c,
		    const char *prefix, struct buf *out)
{
	for (enum sasl_mech m = 0; m < SASL_MECH_COUNT; m++)
		if (sasl_mech_usable(p, c, m))
			buf_appendf(out, "%s%s", prefix, names[m]);
}

void sasl_exchange_init(struct sasl_exchange *x, enum sasl_mech m,
			const struct sasl_policy *p, const struct sasl_conn *c)
{
	memset(x, 0, sizeof(*x));
	x->mech = m;
	x->conn = *c;
	x->secret = p->secret;
	x->plus_offered = sasl_mech_usable(p, c, SASL_SCRAM_PLUS);
	scram_server_init(&x->scram, m == SASL_SCRAM_PLUS);
}

void sasl_exchange_wipe(struct sasl_exchange *x)
{
	scram_server_free(&x->scram);
	explicit_bzero(x, sizeof(*x));
}

void sasl_first_challenge(const struct sasl_exchange *x, struct buf *out)
{
	buf_clear(out);
	if (x->mech == SASL_LOGIN)
		buf_append_str(out, "Username:");
}

static void set_user(struct sasl_exchange *x, const char *user)
{
	snprintf(x->user, sizeof(x->user), "%s", user);
}

/* ------------------------------------------------------------ passwords */

static enum sasl_status plain_step(struct sasl_exchange *x, const char *data,
				   size_t n, const char **why_r)
{
	struct sasl_plain p;
	if (sasl_plain_parse(data, n, &p) < 0) {
		*why_r = "Malformed PLAIN response";
		return SASL_MALFORMED;
	}
	set_user(x, p.authcid);
	enum sasl_status st = SASL_FAILURE;
	/* no acting for someone else: an authzid must be oneself */
	if (p.authzid[0] == '\0' || strcasecmp(p.authzid, p.authcid) == 0) {
		memcpy(x->password, p.passwd, p.passwd_len);
		x->password_len = p.passwd_len;
		st = SASL_CHECK;
	}
	explicit_bzero(&p, sizeof(p));
	return st;
}

static enum sasl_status login_step(struct sasl_exchange *x, const char *data,
				   size_t n, struct buf *out,
				   const char **why_r)
{
	if (x->step == 0) {
		if (n == 0 || n > SASL_NAME_MAX ||
		    memchr(data, '\0', n) != NULL || !utf8_valid(data, n)) {
			*why_r = "Malformed user name";
			return SASL_MALFORMED;
		}
		memcpy(x->user, data, n);
		x->user[n] = '\0';
		x->step = 1;
		buf_append_str(out, "Password:");
		return SASL_CHALLENGE;
	}
	if (n == 0 || memchr(data, '\0', n) != NULL) {
		*why_r = "Malformed password";
		return SASL_MALFORMED;
	}
	if (n > PASSWORD_MAX) /* no hash could match: a failed login */
		return SASL_FAILURE;
	memcpy(x->password, data, n);
	x->password_len = n;
	return SASL_CHECK;
}

bool sasl_password_check(struct directory *d, const char *user,
			 const char *password, size_t n,
			 const char *dummy_hash)
{
	struct dir_user u;
	int found = d != NULL ? dir_user_get(d, user, &u) : -1;
	/* the same argon2 work whether or not the user exists */
	int match = password_verify(found == 1 ? u.password : dummy_hash,
				    password, n);
	if (d != NULL)
		dir_user_clear(&u);
	return found == 1 && match == 1;
}

/* ------------------------------------------------------------ SCRAM */

/* The user's stored keys, or made-up ones that no password opens. */
static void scram_lookup(struct sasl_exchange *x, struct directory *d,
			 struct scram_credentials *cred)
{
	char user[SCRAM_USER_MAX + 1];
	struct dir_user u;
	snprintf(user, sizeof(user), "%s", x->scram.user);
	ascii_lower(user, strlen(user));
	x->scram_real = d != NULL && dir_user_get(d, user, &u) == 1 &&
			scram_credentials_decode(u.scram, cred) == 0;
	if (d != NULL)
		dir_user_clear(&u);
	if (!x->scram_real)
		scram_fake_credentials(x->secret, user, cred);
}

static enum scram_result scram_first(struct sasl_exchange *x,
				     struct directory *d, const char *data,
				     size_t n, struct buf *out)
{
	struct scram_credentials cred;
	enum scram_result r =
		scram_client_first(&x->scram, data, n, x->plus_offered);
	set_user(x, x->scram.user);
	if (r != SCRAM_OK)
		return r;
	/* as with PLAIN: an authzid must be oneself, never honoured for
	 * someone else nor silently dropped (RFC 4422 3.4.1) */
	if (x->scram.authzid[0] != '\0' &&
	    strcasecmp(x->scram.authzid, x->scram.user) != 0)
		return SCRAM_FAIL;
	scram_lookup(x, d, &cred);
	if (scram_server_first(&x->scram, &cred, out) < 0)
		r = SCRAM_FAIL;
	explicit_bzero(&cred, sizeof(cred));
	return r;
}

static enum scram_result scram_final(struct sasl_exchange *x,
				     const char *data, size_t n,
				     struct buf *out)
{
	bool plus = x->mech == SASL_SCRAM_PLUS;
	if (plus && !x->conn.cbind_ok)
		return SCRAM_FAIL;
	enum scram_result r = scram_client_final(
		&x->scram, data, n, plus ? x->conn.cbind : NULL,
		plus ? sizeof(x->conn.cbind) : 0, out);
	/* a made-up user's proof can never be right; say so all the same */
	return r == SCRAM_OK && !x->scram_real ? SCRAM_FAIL : r;
}

static enum sasl_status scram_step(struct sasl_exchange *x,
				   struct directory *d, const char *data,
				   size_t n, struct buf *out,
				   const char **why_r)
{
	enum scram_result r;
	/* after our server-final the client sends nothing */
	if (x->step == 2) {
		if (n == 0)
			return SASL_SUCCESS;
		*why_r = "Unexpected SCRAM data";
		return SASL_MALFORMED;
	}
	r = x->step == 0 ? scram_first(x, d, data, n, out)
			 : scram_final(x, data, n, out);
	if (r == SCRAM_MALFORMED) {
		*why_r = "Malformed SCRAM message";
		return SASL_MALFORMED;
	}
	if (r == SCRAM_FAIL)
		return SASL_FAILURE;
	x->step++;
	return SASL_CHALLENGE;
}

/* ------------------------------------------------------------ EXTERNAL */

/* The user the certificate names: its fingerprint's owner, else its
 * e-mail address when that is a user. "" when none. */
static void external_user(struct sasl_exchange *x, struct directory *d)
{
	char user[DIR_ADDRESS_MAX + 1] = "";
	char email[TLS_EMAIL_MAX + 1];
	struct dir_user u;
	x->user[0] = '\0';
	if (d == NULL || !x->conn.cert_ok)
		return;
	if (dir_cert_user(d, x->conn.cert_fp, user) == 1) {
		set_user(x, user);
		return;
	}
	snprintf(email, sizeof(email), "%s", x->conn.cert_email);
	ascii_lower(email, strlen(email));
	if (email[0] == '\0' || strlen(email) > DIR_ADDRESS_MAX)
		return;
	if (dir_user_get(d, email, &u) == 1)
		set_user(x, email);
	dir_user_clear(&u);
}

/* The client's data is an authzid, or nothing: "be who my certificate
 * says". Another name is refused, never honoured (no proxy logins). */
static enum sasl_status external_step(struct sasl_exchange *x,
				      struct directory *d, const char *authzid,
				      size_t n)
{
	external_user(x, d);
	if (x->user[0] == '\0') {
		set_user(x, "(certificate)");
		return SASL_FAILURE;
	}
	if (n == 0 ||
	    (n == strlen(x->user) && strncasecmp(authzid, x->user, n) == 0))
		return SASL_SUCCESS;
	return SASL_FAILURE;
}

enum sasl_status sasl_step(struct sasl_exchange *x, struct directory *d,
			   const char *data, size_t n, struct buf *out,
			   const char **why_r)
{
	buf_clear(out);
	*why_r = NULL;
	switch (x->mech) {
	case SASL_PLAIN:
		return plain_step(x, data, n, why_r);
	case SASL_LOGIN:
		return login_step(x, data, n, out, why_r);
	case SASL_SCRAM:
	case SASL_SCRAM_PLUS:
		return scram_step(x, d, data, n, out, why_r);
	case SASL_EXTERNAL:
		return external_step(x, d, data, n);
	case SASL_MECH_COUNT:
		break;
	}
	*why_r = "Unknown mechanism";
	return SASL_MALFORMED;
}
