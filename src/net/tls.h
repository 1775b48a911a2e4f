/* tls: server TLS contexts (OpenSSL 3).
 *
 * One context for [tls] and one per [certificate NAME]; the SNI callback
 * switches a connection to the context whose name matches what the client
 * asked for (exactly, or by one-label wildcard), and keeps the default one
 * otherwise. Every context: TLS 1.2 or newer, no compression, no
 * renegotiation, AEAD ciphers with forward secrecy, session tickets only when
 * configured (RFC 8446 4.6.1 tickets break STARTTLS with some Microsoft
 * servers), and released buffers on idle connections. */
#ifndef POSTERN_NET_TLS_H
#define POSTERN_NET_TLS_H

#include "lib/buf.h"
#include "lib/config.h"

#include <openssl/ssl.h>

struct tls_server;

/* Load every certificate and key of cfg. NULL when one fails, with the
 * reasons (naming the file) appended to errors. */
struct tls_server *tls_server_new(const struct config *cfg, struct buf *errors);
void tls_server_free(struct tls_server **ts);
/* The context to start handshakes with. */
SSL_CTX *tls_server_ctx(struct tls_server *ts);

enum { TLS_FINGERPRINT_LEN = 64, TLS_EMAIL_MAX = 320, TLS_EXPORTER_LEN = 32 };

/* Before the handshake: ask for a client certificate (CLIENT_CERTS_REQUEST:
 * a client without one, or with an untrusted one, still gets in, just not
 * as a certificate user) or demand a trusted one (CLIENT_CERTS_REQUIRE).
 * Called for every mode, CLIENT_CERTS_NONE too: it also sets the session
 * id context, so that a session resumes only under the same mode. */
void tls_set_client_certs(SSL *ssl, int mode);
/* After the handshake: when the client presented a certificate that chains
 * to [tls] client_ca, its SHA-256 fingerprint (lower-case hex) and first
 * e-mail address (subjectAltName rfc822Name, "" when none). */
bool tls_client_identity(SSL *ssl, char fingerprint[TLS_FINGERPRINT_LEN + 1],
			 char email[TLS_EMAIL_MAX + 1]);
/* tls-exporter channel binding data (RFC 9266); false when the connection
 * cannot give it safely (TLS 1.2 without extended master secret). */
bool tls_channel_binding(SSL *ssl, unsigned char out[TLS_EXPORTER_LEN]);

/* "TLSv1.3", "TLS_AES_256_GCM_SHA384" and the cipher's bits, for logs and
 * Received headers. */
struct tls_info {
	const char *version;
	const char *cipher;
	int bits;
};
void tls_describe(SSL *ssl, struct tls_info *info);

#endif
