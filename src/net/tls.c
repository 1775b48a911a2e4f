/* tls: server contexts with SNI. */
#include "net/tls.h"

#include "lib/util.h"

#include <openssl/err.h>
#include <openssl/x509.h>
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
