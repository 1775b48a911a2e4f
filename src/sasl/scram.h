/* scram: SCRAM-SHA-256 and SCRAM-SHA-256-PLUS, server side (RFC 5802,
 * RFC 7677), with tls-exporter channel binding (RFC 9266). Pure code: the
 * caller looks up the user's stored credentials and supplies the channel
 * binding data of its TLS connection.
 *
 *   C: n,,n=user,r=cnonce                      client-first
 *   S: r=cnonce+snonce,s=salt,i=4096           server-first
 *   C: c=biws,r=cnonce+snonce,p=proof          client-final
 *   S: v=signature                             server-final
 *
 * Only the salted keys are stored (StoredKey, ServerKey), so the password
 * never crosses the wire and a stolen database does not reveal it. */
#ifndef POSTERN_SASL_SCRAM_H
#define POSTERN_SASL_SCRAM_H

#include "lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

enum {
	SCRAM_KEY_LEN = 32, /* SHA-256 */
	SCRAM_SALT_LEN = 16,
	SCRAM_ITERATIONS = 4096, /* RFC 7677 4: at least 4096 */
	SCRAM_ITERATIONS_MAX = 1000000,
	SCRAM_NONCE_LEN = 24,    /* our half, base64 of 18 random bytes */
	SCRAM_MSG_MAX = 4096,
	SCRAM_USER_MAX = 320,
	SCRAM_CRED_MAX = 200,    /* the stored text form */
};

struct scram_credentials {
	unsigned iterations;
	unsigned char salt[SCRAM_SALT_LEN];
	unsigned char stored_key[SCRAM_KEY_LEN];
	unsigned char server_key[SCRAM_KEY_LEN];
};

/* Derive credentials from a password with a fresh salt. 0 or -1. */
int scram_derive(const char *password, size_t len, unsigned iterations,
		 struct scram_credentials *out);
/* The same with a given salt (for tests and known vectors). */
int scram_derive_with_salt(const char *password, size_t len,
			   const unsigned char salt[SCRAM_SALT_LEN],
			   unsigned iterations, struct scram_credentials *out);
/* Text form for the database: "4096:salt:storedkey:serverkey" (base64). */
int scram_credentials_encode(const struct scram_credentials *c,
			     char out[SCRAM_CRED_MAX]);
int scram_credentials_decode(const char *text, struct scram_credentials *out);
/* Credentials for a user that does not exist: derived from a server secret
 * and the name, so that the salt a client sees is stable and says nothing
 * about whether the user exists. */
void scram_fake_credentials(const unsigned char secret[32], const char *user,
			    struct scram_credentials *out);

enum scram_result {
	SCRAM_MALFORMED = -1, /* not SCRAM: 501 */
	SCRAM_FAIL = 0,       /* wrong proof, binding or nonce: 535 */
	SCRAM_OK = 1,
};

struct scram_server {
	int step;
	bool plus;                 /* SCRAM-SHA-256-PLUS */
	char gs2_header[64];       /* as sent, for the c= check */
	size_t gs2_len;
	char user[SCRAM_USER_MAX + 1];
	char authzid[SCRAM_USER_MAX + 1];
	struct buf client_first_bare;
	struct buf server_first;
	char nonce[128];           /* cnonce + snonce */
	struct scram_credentials cred;
};

void scram_server_init(struct scram_server *s, bool plus);
void scram_server_free(struct scram_server *s);
/* Parse the client-first message; on SCRAM_OK, s->user (and s->authzid)
 * are set. A client that asks for channel binding on the plain mechanism,
 * or says it could bind while we offer -PLUS ("y" with PLUS offered: a
 * downgrade), fails. plus_offered: whether -PLUS was advertised. */
enum scram_result scram_client_first(struct scram_server *s, const char *msg,
				     size_t n, bool plus_offered);
/* With the user's credentials (real or fake), write the server-first
 * message into out. */
int scram_server_first(struct scram_server *s,
		       const struct scram_credentials *cred, struct buf *out);
/* The same with our half of the nonce given (for known test vectors). */
int scram_server_first_nonce(struct scram_server *s,
			     const struct scram_credentials *cred,
			     const char *snonce, struct buf *out);
/* Check the client-final message. cbind is the tls-exporter data for -PLUS
 * (NULL otherwise). On SCRAM_OK, the server-final message is in out. */
enum scram_result scram_client_final(struct scram_server *s, const char *msg,
				     size_t n, const unsigned char *cbind,
				     size_t cbind_len, struct buf *out);

#endif
