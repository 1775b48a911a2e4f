/* tls: server contexts with SNI. */
#include "net/tls.h"

#include "lib/util.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sni_ctx {
	char *name; /* lower case; "*.example.org" for a wildcard */
	SSL_CTX *ctx;
};

struct tls_server {
	SSL_CTX *def;
	struct sni_ctx *sni;
	size_t n_sni;
};

static void add_ssl_error(struct buf *errors, const char *what,
			  const char *file)
{
	char reason[160] = "unknown error";
	unsigned long e = ERR_peek_last_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	buf_appendf(errors, "%s: %s: %s\n", file, what, reason);
}

static SSL_CTX *make_ctx(const struct config *cfg, const char *cert,
			 const char *key, struct buf *errors)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		add_ssl_error(errors, "cannot create a TLS context", cert);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version == TLS_MIN_1_3
						   ? TLS1_3_VERSION
						   : TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
				      SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!cfg->tls_session_tickets) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	if (SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
		add_ssl_error(errors, "invalid [tls] ciphers", cfg->path);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		add_ssl_error(errors, "cannot load certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) ==
				X509_R_KEY_VALUES_MISMATCH;
		add_ssl_error(errors,
			      mismatch ? "key does not match the certificate"
				       : "cannot load private key",
			      key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		add_ssl_error(errors, "key does not match the certificate", key);
		goto fail;
	}
	if (cfg->tls_client_ca[0] != '\0') {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);
		if (names == NULL ||
		    SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			add_ssl_error(errors, "cannot load client CAs", cfg->tls_client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* "mail.example.org" matches "mail.example.org" and "*.example.org". */
static bool sni_matches(const char *pattern, const char *name)
{
	if (strcasecmp(pattern, name) == 0)
		return true;
	if (pattern[0] != '*' || pattern[1] != '.')
		return false;
	const char *dot = strchr(name, '.');
	return dot != NULL && dot != name && strcasecmp(dot, pattern + 1) == 0;
}

static int on_servername(SSL *ssl, int *alert, void *arg)
{
	struct tls_server *ts = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (size_t i = 0; i < ts->n_sni; i++)
		if (sni_matches(ts->sni[i].name, name)) {
			SSL_set_SSL_CTX(ssl, ts->sni[i].ctx);
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_OK; /* unknown name: the default certificate */
}

struct tls_server *tls_server_new(const struct config *cfg, struct buf *errors)
{
	struct tls_server *ts = calloc(1, sizeof(*ts));
	if (ts == NULL)
		return NULL;
	ts->def = make_ctx(cfg, cfg->tls_certificate, cfg->tls_key, errors);
	ts->sni = calloc(cfg->n_certs + 1, sizeof(*ts->sni));
	bool ok = ts->def != NULL && ts->sni != NULL;
	for (size_t i = 0; ok && i < cfg->n_certs; i++) {
		const struct cert_config *k = &cfg->certs[i];
		SSL_CTX *ctx = make_ctx(cfg, k->certificate, k->key, errors);
		if (ctx == NULL) {
			ok = false;
			break;
		}
		ts->sni[ts->n_sni].ctx = ctx;
		ts->sni[ts->n_sni++].name = strdup(k->name);
	}
	if (!ok) {
		tls_server_free(&ts);
		return NULL;
	}
	SSL_CTX_set_tlsext_servername_callback(ts->def, on_servername);
	SSL_CTX_set_tlsext_servername_arg(ts->def, ts);
	return ts;
}

void tls_server_free(struct tls_server **tsp)
{
	struct tls_server *ts = *tsp;
	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->n_sni; i++) {
		SSL_CTX_free(ts->sni[i].ctx);
		free(ts->sni[i].name);
	}
	free(ts->sni);
	SSL_CTX_free(ts->def);
	free(ts);
	*tsp = NULL;
}

SSL_CTX *tls_server_ctx(struct tls_server *ts)
{
	return ts->def;
}

void tls_describe(SSL *ssl, struct tls_info *info)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	info->version = SSL_get_version(ssl);
	info->cipher = cipher != NULL ? SSL_CIPHER_get_name(cipher) : "none";
	info->bits = cipher != NULL ? SSL_CIPHER_get_bits(cipher, NULL) : 0;
}

/* "request": the handshake goes on whatever the certificate; whether it is
 * trusted is read afterwards (SSL_get_verify_result). */
static int keep_going(int preverify_ok, X509_STORE_CTX *x)
{
	return 1;
}

void tls_set_client_certs(SSL *ssl, int mode)
{
	/* A session resumes only under the certificate rules it was made
	 * under: one made where a certificate was given would bring it to a
	 * listener that asks for none (and EXTERNAL with it), and OpenSSL
	 * refuses (a fatal alert) to resume with peer verification on and
	 * no session id context at all. Set on the SSL, not the shared
	 * SSL_CTX, so that it outlives an SNI switch of context. */
	static const unsigned char sid_ctx[][16] = {
		[CLIENT_CERTS_NONE] = "postern/none",
		[CLIENT_CERTS_REQUEST] = "postern/request",
		[CLIENT_CERTS_REQUIRE] = "postern/require",
	};
	if (mode >= CLIENT_CERTS_NONE && mode <= CLIENT_CERTS_REQUIRE)
		SSL_set_session_id_context(ssl, sid_ctx[mode],
					   strlen((const char *)sid_ctx[mode]));
	if (mode == CLIENT_CERTS_REQUEST)
		SSL_set_verify(ssl, SSL_VERIFY_PEER, keep_going);
	else if (mode == CLIENT_CERTS_REQUIRE)
		SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			       NULL);
}

static void first_email(X509 *cert, char email[TLS_EMAIL_MAX + 1])
{
	email[0] = '\0';
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (g->type != GEN_EMAIL)
			continue;
		const ASN1_IA5STRING *s = g->d.rfc822Name;
		int n = ASN1_STRING_length(s);
		const unsigned char *p = ASN1_STRING_get0_data(s);
		if (n > 0 && n <= TLS_EMAIL_MAX && memchr(p, '\0', (size_t)n) == NULL) {
			memcpy(email, p, (size_t)n);
			email[n] = '\0';
			break;
		}
	}
	GENERAL_NAMES_free(names);
}

bool tls_client_identity(SSL *ssl, char fingerprint[TLS_FINGERPRINT_LEN + 1],
			 char email[TLS_EMAIL_MAX + 1])
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL)
		return false;
	bool ok = SSL_get_verify_result(ssl) == X509_V_OK;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (ok && X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == 32) {
		for (unsigned i = 0; i < n; i++)
			snprintf(fingerprint + 2 * i, 3, "%02x", md[i]);
		first_email(cert, email);
	} else {
		ok = false;
	}
	X509_free(cert);
	return ok;
}

bool tls_channel_binding(SSL *ssl, unsigned char out[TLS_EXPORTER_LEN])
{
	/* RFC 9266 4.2: with TLS 1.2 only under the extended master secret */
	if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1)
		return false;
	static const char label[] = "EXPORTER-Channel-Binding";
	return SSL_export_keying_material(ssl, out, TLS_EXPORTER_LEN, label,
					  sizeof(label) - 1, NULL, 0, 0) == 1;
}
