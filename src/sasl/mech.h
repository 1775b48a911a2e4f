/* mech: the SASL mechanisms shared by SMTP AUTH (smtpd/auth.c), IMAP
 * AUTHENTICATE (imapd/auth.c) and POP3 AUTH (pop3d/auth.c): their names,
 * which of them a connection may use, and one step of an exchange.
 *
 *   PLAIN               RFC 4616; an authzid must be the authcid itself
 *   LOGIN               draft-murchison-sasl-login: "Username:", "Password:"
 *   SCRAM-SHA-256       RFC 5802, RFC 7677 (sasl/scram.h); an authzid
 *                       must be the user itself, as with PLAIN
 *   SCRAM-SHA-256-PLUS  the same bound to the TLS connection (RFC 9266
 *                       tls-exporter)
 *   EXTERNAL            RFC 4422 appendix A: a client certificate that
 *                       chains to [tls] client_ca names the user, by its
 *                       fingerprint (postern user cert add) or by its e-mail
 *                       address when that is a user; an authzid, if sent,
 *                       must be that user
 *
 * Contract: no socket, no event loop, no protocol framing. The caller reads
 * what its TLS connection proves (sasl_conn_read), decodes the client's
 * base64 and hands the bytes to sasl_step; it sends a challenge in its own
 * syntax (334, "+ "), runs a password check on its auth pool
 * (sasl_password_check), and answers, penalises and logs in its own words.
 * sasl_step reads the directory it is given (SCRAM keys, certificate
 * owners): small SQLite reads, done on the caller's thread.
 *
 * An unknown user costs what a known one does: a password is checked
 * against a dummy hash, SCRAM answers with made-up salts (scram.h). */
#ifndef POSTERN_SASL_MECH_H
#define POSTERN_SASL_MECH_H

#include "db/directory.h"
#include "lib/buf.h"
#include "net/tls.h"
#include "sasl/password.h"
#include "sasl/plain.h"
#include "sasl/scram.h"

#include <stdbool.h>
#include <stddef.h>

enum sasl_mech {
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_SCRAM,
	SASL_SCRAM_PLUS,
	SASL_EXTERNAL,
	SASL_MECH_COUNT
};

#define SASL_MECH_BIT(m) (1u << (m))

/* Every user name an exchange can carry fits: a SCRAM name is the
 * longest. */
enum { SASL_USER_MAX = SCRAM_USER_MAX };

/* What the connection proves, read once after the TLS handshake. */
struct sasl_conn {
	bool tls;
	bool cbind_ok; /* tls-exporter data that is safe to bind to */
	unsigned char cbind[TLS_EXPORTER_LEN];
	bool cert_ok; /* a client certificate that chains to [tls] client_ca */
	char cert_fp[TLS_FINGERPRINT_LEN + 1];
	char cert_email[TLS_EMAIL_MAX + 1]; /* "" when it names none */
};

/* Which mechanisms the server wants and the protocol speaks. */
struct sasl_policy {
	const char *configured;       /* [auth] mechanisms, space separated */
	unsigned spoken;              /* SASL_MECH_BIT()s of the protocol */
	const unsigned char *secret;  /* 32 bytes, for made-up SCRAM salts */
};

/* "PLAIN", "SCRAM-SHA-256-PLUS", ... */
const char *sasl_mech_name(enum sasl_mech m);
/* The mechanism called name (n bytes, any case), or SASL_MECH_COUNT. */
enum sasl_mech sasl_mech_find(const char *name, size_t n);

/* Fill c from a connection: all false without TLS (ssl NULL). */
void sasl_conn_read(SSL *ssl, struct sasl_conn *c);

/* May m be offered and used here: spoken by the protocol, configured, over
 * TLS, -PLUS only with channel-binding data, EXTERNAL only with a trusted
 * client certificate. */
bool sasl_mech_usable(const struct sasl_policy *p, const struct sasl_conn *c,
		      enum sasl_mech m);
/* Whether [auth] mechanisms (space separated) lets a password cross the
 * wire, as PLAIN or LOGIN: IMAP's LOGIN command and POP3's USER/PASS,
 * which carry one too, follow it (without: SCRAM or EXTERNAL only). */
bool sasl_password_logins(const char *mechanisms);
/* Append prefix and the name of each usable mechanism, in table order. */
void sasl_mech_list(const struct sasl_policy *p, const struct sasl_conn *c,
		    const char *prefix, struct buf *out);

enum sasl_status {
	SASL_CHALLENGE, /* send out, then step again with the client's answer */
	SASL_CHECK,     /* check x->password for x->user; that ends it */
	SASL_SUCCESS,   /* x->user is authenticated */
	SASL_FAILURE,   /* not authenticated; x->user says who, for the log */
	SASL_MALFORMED, /* not the mechanism's syntax; *why_r says so */
};

/* One exchange. user holds the name as the client gave it (after SUCCESS:
 * as the directory has it for EXTERNAL); password holds a PLAIN or LOGIN
 * password between SASL_CHECK and sasl_exchange_wipe. */
struct sasl_exchange {
	enum sasl_mech mech;
	int step;
	struct sasl_conn conn;
	const unsigned char *secret;
	bool plus_offered; /* -PLUS was usable: a "y" flag is a downgrade */
	char user[SASL_USER_MAX + 1];
	char password[PASSWORD_MAX + 1];
	size_t password_len;
	struct scram_server scram;
	bool scram_real; /* the user exists and has SCRAM keys */
};

/* Start an exchange of m, which the caller found usable. */
void sasl_exchange_init(struct sasl_exchange *x, enum sasl_mech m,
			const struct sasl_policy *p, const struct sasl_conn *c);
/* Free and wipe everything, the password included. */
void sasl_exchange_wipe(struct sasl_exchange *x);

/* The challenge to send when the client gave no initial response: LOGIN
 * asks "Username:", the others send nothing. Into out (cleared first). */
void sasl_first_challenge(const struct sasl_exchange *x, struct buf *out);

/* One step with the client's decoded data (n bytes). A challenge goes into
 * out (cleared first; give it room for SCRAM_MSG_MAX). d: the directory,
 * NULL when it cannot be opened (then nobody authenticates). */
enum sasl_status sasl_step(struct sasl_exchange *x, struct directory *d,
			   const char *data, size_t n, struct buf *out,
			   const char **why_r);

/* On an auth pool thread: is password right for user (lower-case)? The
 * same argon2 work whether or not the user exists. */
bool sasl_password_check(struct directory *d, const char *user,
			 const char *password, size_t n,
			 const char *dummy_hash);

#endif
