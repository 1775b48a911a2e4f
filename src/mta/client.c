/* client: one outbound SMTP session over a blocking socket. */
#include "mta/client.h"

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "mail/reply.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

enum { IN_MAX = 2 * REPLY_LINE_MAX, OUT_CHUNK = 64 * 1024 };

/* ------------------------------------------------------------ contexts */

struct ca_ctx {
	char *ca_file; /* NULL: the default (system or [outbound] ca_file) */
	SSL_CTX *ctx;
};

enum { ACTIVE_MAX = 1024, IDLE_MAX = 64, IDLE_KEY_MAX = 1024 };

struct session;

/* A session kept open after a transaction, for the next message to the
 * same server under the same terms. */
struct idle {
	struct session *s;
	char key[IDLE_KEY_MAX];
	uint64_t since_ms;
};

struct mta_tls {
	struct ca_ctx *ctxs;
	size_t n;
	/* sockets of the sessions under way, for mta_abort_all */
	pthread_mutex_t mu;
	int active[ACTIVE_MAX];
	bool aborting;
	struct idle idle[IDLE_MAX]; /* under mu */
	size_t n_idle;
	uint64_t idle_ms; /* how long one may wait; 0: no reuse */
};

static SSL_CTX *new_ctx(const char *ca_file, struct buf *errors)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
					 SSL_OP_NO_RENEGOTIATION);
	/* verification always runs, so that logs can say verified=yes/no;
	 * whether a failure matters is the policy's call, after the
	 * handshake */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	int ok = ca_file != NULL && ca_file[0] != '\0'
			 ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
			 : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1 || SSL_CTX_dane_enable(ctx) <= 0) {
		buf_appendf(errors, "outbound TLS: cannot load CAs from %s\n",
			    ca_file != NULL && ca_file[0] ? ca_file : "the system");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int add_ctx(struct mta_tls *t, const char *ca_file, struct buf *errors)
{
	for (size_t i = 0; i < t->n; i++)
		if ((ca_file == NULL) == (t->ctxs[i].ca_file == NULL) &&
		    (ca_file == NULL || strcmp(ca_file, t->ctxs[i].ca_file) == 0))
			return 0;
	struct ca_ctx *a = reallocarray(t->ctxs, t->n + 1, sizeof(*a));
	if (a == NULL)
		return -1;
	t->ctxs = a;
	a = &t->ctxs[t->n];
	a->ca_file = ca_file != NULL ? strdup(ca_file) : NULL;
	a->ctx = new_ctx(ca_file, errors);
	if (a->ctx == NULL || (ca_file != NULL && a->ca_file == NULL)) {
		free(a->ca_file);
		if (a->ctx != NULL)
			SSL_CTX_free(a->ctx);
		return -1;
	}
	t->n++;
	return 0;
}

struct mta_tls *mta_tls_new(const struct config *cfg, struct buf *errors)
{
	struct mta_tls *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	for (size_t i = 0; i < ACTIVE_MAX; i++)
		t->active[i] = -1;
	t->idle_ms = cfg->outbound_reuse_ms;
	/* the default context first: [outbound] ca_file or the system */
	if (add_ctx(t, NULL, errors) < 0)
		goto fail;
	if (cfg->outbound_ca_file[0] != '\0') {
		SSL_CTX_free(t->ctxs[0].ctx);
		t->ctxs[0].ctx = new_ctx(cfg->outbound_ca_file, errors);
		if (t->ctxs[0].ctx == NULL) {
			t->n = 0;
			goto fail;
		}
	}
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].ca_file[0] != '\0' &&
		    add_ctx(t, cfg->routes[i].ca_file, errors) < 0)
			goto fail;
	return t;
fail:
	mta_tls_free(&t);
	return NULL;
}

static void idle_close_all(struct mta_tls *t);

void mta_tls_free(struct mta_tls **tp)
{
	struct mta_tls *t = *tp;
	if (t == NULL)
		return;
	idle_close_all(t);
	for (size_t i = 0; i < t->n; i++) {
		free(t->ctxs[i].ca_file);
		SSL_CTX_free(t->ctxs[i].ctx);
	}
	free(t->ctxs);
	pthread_mutex_destroy(&t->mu);
	free(t);
	*tp = NULL;
}

void mta_abort_all(struct mta_tls *t)
{
	pthread_mutex_lock(&t->mu);
	t->aborting = true;
	for (size_t i = 0; i < ACTIVE_MAX; i++)
		if (t->active[i] >= 0)
			shutdown(t->active[i], SHUT_RDWR);
	pthread_mutex_unlock(&t->mu);
}

/* Note fd as under way (on) or done (off); false when shutting down. */
static bool track(struct mta_tls *t, int fd, bool on)
{
	bool ok = true;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < ACTIVE_MAX; i++) {
		if (on && t->active[i] < 0) {
			t->active[i] = fd;
			break;
		}
		if (!on && t->active[i] == fd) {
			t->active[i] = -1;
			break;
		}
	}
	if (on && t->aborting)
		ok = false;
	pthread_mutex_unlock(&t->mu);
	return ok;
}

static SSL_CTX *ctx_for(struct mta_tls *t, const char *ca_file)
{
	if (ca_file != NULL && ca_file[0] != '\0')
		for (size_t i = 1; i < t->n; i++)
			if (strcmp(t->ctxs[i].ca_file, ca_file) == 0)
				return t->ctxs[i].ctx;
	return t->ctxs[0].ctx;
}

/* ------------------------------------------------------------ I/O */

struct session {
	const struct config *cfg;
	struct mta_tls *tls;
	const struct mta_target *t;
	int fd;
	SSL *ssl;
	char in[IN_MAX];
	size_t in_len;
	struct reply_parser rp;
	struct reply r;     /* the last reply */
	struct reply ehlo;  /* the last EHLO reply */
	bool esmtp;
	char *why;
	struct mta_report rep; /* how it was set up, for a reuse's log */
	char idle_why[MTA_WHY_MAX]; /* why points here while it is idle */
};

static void fail(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, MTA_WHY_MAX, fmt, ap);
	va_end(ap);
}

static void set_timeout(struct session *s, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static const char *io_error(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK ? "timed out"
	       : err == 0 ? "connection closed by the server"
			  : strerror(err);
}

static int send_all(struct session *s, const char *p, size_t n)
{
	while (n > 0) {
		int w;
		if (s->ssl != NULL) {
			w = SSL_write(s->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		} else {
			ssize_t x = send(s->fd, p, n, MSG_NOSIGNAL);
			w = x > 0 ? (int)x : -1;
		}
		if (w <= 0) {
			fail(s, "sending failed: %s", io_error(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int sendf(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int sendf(struct session *s, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		fail(s, "command too long");
		return -1;
	}
	return send_all(s, line, (size_t)n);
}

/* Read one whole reply into s->r. */
static int read_reply(struct session *s)
{
	for (;;) {
		size_t used;
		enum reply_status st =
			reply_parse(&s->rp, s->in, s->in_len, &used, &s->r);
		memmove(s->in, s->in + used, s->in_len - used);
		s->in_len -= used;
		if (st == REPLY_DONE)
			return 0;
		if (st == REPLY_BAD) {
			fail(s, "malformed reply from the server");
			return -1;
		}
		if (st == REPLY_TOO_LONG) {
			fail(s, "over-long reply from the server");
			return -1;
		}
		int r;
		errno = 0;
		if (s->ssl != NULL) {
			r = SSL_read(s->ssl, s->in + s->in_len,
				     (int)(sizeof(s->in) - s->in_len));
		} else {
			ssize_t x = recv(s->fd, s->in + s->in_len,
					 sizeof(s->in) - s->in_len, 0);
			r = x > 0 ? (int)x : -1;
		}
		if (r <= 0) {
			fail(s, "reading the reply failed: %s", io_error(errno));
			return -1;
		}
		s->in_len += (size_t)r;
	}
}

static void reply_text(const struct reply *r, char out[MTA_WHY_MAX])
{
	reply_summary(r, out, MTA_WHY_MAX);
}

/* ------------------------------------------------------------ connect */

static int connect_to(struct session *s)
{
	const struct mta_target *t = s->t;
	s->fd = socket(t->addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC |
						   SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		fail(s, "socket: %s", strerror(errno));
		return -1;
	}
	if (!track(s->tls, s->fd, true)) {
		fail(s, "shutting down");
		return -1;
	}
	if (connect(s->fd, t->addr, t->addr_len) < 0 && errno != EINPROGRESS) {
		fail(s, "connect: %s", strerror(errno));
		return -1;
	}
	struct pollfd p = {.fd = s->fd, .events = POLLOUT};
	int n = poll(&p, 1, (int)s->cfg->outbound_timeout_connect_ms);
	int err = 0;
	socklen_t el = sizeof(err);
	if (n == 0) {
		fail(s, "connect: timed out");
		return -1;
	}
	if (n < 0 || getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ||
	    err != 0) {
		fail(s, "connect: %s", strerror(err != 0 ? err : errno));
		return -1;
	}
	fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
}

static int ehlo(struct session *s)
{
	if (sendf(s, "EHLO %s\r\n", s->cfg->hostname) < 0 || read_reply(s) < 0)
		return -1;
	if (s->r.code / 100 == 2) {
		s->esmtp = true;
		s->ehlo = s->r;
		return 0;
	}
	/* RFC 5321 3.2: fall back to HELO */
	if (sendf(s, "HELO %s\r\n", s->cfg->hostname) < 0 || read_reply(s) < 0)
		return -1;
	if (s->r.code / 100 != 2) {
		char rt[MTA_WHY_MAX];
		reply_text(&s->r, rt);
		fail(s, "HELO refused: %s", rt);
		return -1;
	}
	s->esmtp = false;
	memset(&s->ehlo, 0, sizeof(s->ehlo));
	return 0;
}

static bool has(struct session *s, const char *kw, const char **params)
{
	return s->esmtp && reply_has_keyword(&s->ehlo, kw, params);
}

/* ------------------------------------------------------------ TLS */

static bool fingerprint_matches(X509 *cert, const char *want)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1)
		return false;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	size_t k = 0;
	for (const char *p = want; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		char c = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
		if (k >= 2 * mdlen || hex[k++] != c)
			return false;
	}
	return k == 2 * mdlen;
}

static int setup_ssl(struct session *s, struct mta_tls *tls)
{
	const struct mta_target *t = s->t;
	s->ssl = SSL_new(ctx_for(tls, t->ca_file));
	if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		fail(s, "TLS setup failed");
		return -1;
	}
	SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (t->tls == TLS_POLICY_DANE) {
		/* the TLSA base domain is the MX host (RFC 7672 2.2.3) */
		if (SSL_dane_enable(s->ssl, t->host) <= 0) {
			fail(s, "DANE setup failed");
			return -1;
		}
		/* RFC 7672 3.1.1: DANE-EE binds the key, names do not matter */
		SSL_dane_set_flags(s->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		for (size_t i = 0; i < t->n_tlsa; i++)
			SSL_dane_tlsa_add(s->ssl, t->tlsa[i].usage,
					  t->tlsa[i].selector, t->tlsa[i].mtype,
					  t->tlsa[i].data, t->tlsa[i].len);
		if (t->dane_domain != NULL &&
		    strcasecmp(t->host, t->dane_domain) != 0)
			SSL_add1_host(s->ssl, t->dane_domain);
	} else {
		SSL_set1_host(s->ssl, t->host);
	}
	if (t->host[0] != '\0' && strchr(t->host, ':') == NULL)
		SSL_set_tlsext_host_name(s->ssl, t->host);
	return 0;
}

/* Whether the peer is verified as the policy asks; fills the report. */
static bool check_peer(struct session *s, struct mta_report *rep)
{
	const struct mta_target *t = s->t;
	X509 *cert = SSL_get0_peer_certificate(s->ssl);
	long vr = SSL_get_verify_result(s->ssl);
	rep->verified_by = "none";
	if (t->fingerprint != NULL && t->fingerprint[0] != '\0') {
		rep->verified = cert != NULL &&
				fingerprint_matches(cert, t->fingerprint);
		if (rep->verified)
			rep->verified_by = "fingerprint";
		else {
			rep->tls_failure = "validation-failure";
			fail(s, "TLS: the certificate of %s does not have the "
				"pinned fingerprint", t->host);
		}
		return rep->verified;
	}
	if (t->tls == TLS_POLICY_DANE) {
		rep->verified = cert != NULL && vr == X509_V_OK &&
				SSL_get0_dane_authority(s->ssl, NULL, NULL) >= 0;
		if (rep->verified)
			rep->verified_by = "dane";
		else {
			rep->tls_failure = "validation-failure";
			fail(s, "TLS: the certificate of %s matches no TLSA "
				"record (%s)", t->host,
			     X509_verify_cert_error_string(vr));
		}
		return rep->verified;
	}
	rep->verified = cert != NULL && vr == X509_V_OK;
	if (rep->verified)
		rep->verified_by = t->sts ? "mta-sts" : "pkix";
	if (!rep->verified && t->tls == TLS_POLICY_VERIFY) {
		rep->tls_failure = vr == X509_V_ERR_HOSTNAME_MISMATCH
					   ? "certificate-host-mismatch"
				   : vr == X509_V_ERR_CERT_HAS_EXPIRED
					   ? "certificate-expired"
					   : "certificate-not-trusted";
		fail(s, "TLS: the certificate of %s is not trusted%s: %s", t->host,
		     t->sts ? " (MTA-STS policy enforce)" : "",
		     cert == NULL ? "none sent"
				  : X509_verify_cert_error_string(vr));
		return false;
	}
	return true; /* may, encrypt: encryption without authentication */
}

static int starttls(struct session *s, struct mta_tls *tls,
		    struct mta_report *rep)
{
	if (sendf(s, "STARTTLS\r\n") < 0 || read_reply(s) < 0)
		return -1;
	if (s->r.code != 220) {
		char rt[MTA_WHY_MAX];
		reply_text(&s->r, rt);
		fail(s, "STARTTLS refused: %s", rt);
		return -1;
	}
	/* bytes after the 220 came before the handshake: they cannot be
	 * trusted, so they are dropped (response injection) */
	if (s->in_len > 0)
		log_warn("event=starttls-injection host=%s bytes=%zu "
			 "note=\"dropped what the server sent before the TLS "
			 "handshake\"", s->t->host, s->in_len);
	s->in_len = 0;
	reply_parser_init(&s->rp);
	if (setup_ssl(s, tls) < 0)
		return -1;
	ERR_clear_error();
	if (SSL_connect(s->ssl) != 1) {
		unsigned long e = ERR_get_error();
		rep->tls_failure = "validation-failure";
		fail(s, "TLS handshake with %s failed: %s", s->t->host,
		     e != 0 ? ERR_reason_error_string(e) : io_error(errno));
		SSL_free(s->ssl);
		s->ssl = NULL;
		return -1;
	}
	snprintf(rep->tls_version, sizeof(rep->tls_version), "%s",
		 SSL_get_version(s->ssl));
	snprintf(rep->cipher, sizeof(rep->cipher), "%s",
		 SSL_get_cipher_name(s->ssl));
	if (!check_peer(s, rep))
		return -1;
	return ehlo(s); /* RFC 3207 4.2: forget what was learnt before */
}

static bool tls_required(const struct mta_target *t)
{
	return t->tls >= TLS_POLICY_ENCRYPT ||
	       (t->fingerprint != NULL && t->fingerprint[0] != '\0');
}

/* ------------------------------------------------------------ AUTH */

/* Whether the EHLO AUTH line (mechs: what follows the keyword, up to the
 * end of that line) lists mech. */
static bool offers_mech(const char *mechs, const char *mech)
{
	char line[512];
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(mechs, "\r\n"), mechs);
	const char *p = line, *word;
	size_t len;
	while (next_word(&p, &word, &len))
		if (len == strlen(mech) && strncasecmp(word, mech, len) == 0)
			return true;
	return false;
}

/* Send base64(data) as a line (the password inside is wiped after). */
static int send_b64(struct session *s, const char *prefix, const char *data,
		    size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_append_str(&b, prefix) == 0 &&
			 base64_encode(data, n, &b) == 0 &&
			 buf_append_str(&b, "\r\n") == 0
		 ? send_all(s, b.data, b.len)
		 : -1;
	buf_wipe(&b);
	return rc;
}

/* RFC 4954 at a next hop: PLAIN, else LOGIN; only ever inside TLS. */
static int smtp_login(struct session *s)
{
	const struct mta_target *t = s->t;
	const char *mechs = "";
	if (s->ssl == NULL) {
		fail(s, "will not send the password for %s without TLS", t->host);
		return -1;
	}
	if (!has(s, "AUTH", &mechs)) {
		fail(s, "%s does not offer AUTH", t->host);
		return -1;
	}
	size_t ul = strlen(t->auth_user), pl = strlen(t->auth_password);
	int rc;
	if (offers_mech(mechs, "PLAIN")) {
		char cred[2 * 1024 + 2];
		if (ul + pl + 2 > sizeof(cred)) {
			fail(s, "AUTH credentials too long");
			return -1;
		}
		cred[0] = '\0';
		memcpy(cred + 1, t->auth_user, ul);
		cred[1 + ul] = '\0';
		memcpy(cred + 2 + ul, t->auth_password, pl);
		rc = send_b64(s, "AUTH PLAIN ", cred, ul + pl + 2);
		explicit_bzero(cred, sizeof(cred));
	} else if (offers_mech(mechs, "LOGIN")) {
		rc = send_b64(s, "AUTH LOGIN ", t->auth_user, ul) < 0 ||
				     read_reply(s) < 0 || s->r.code != 334
			     ? -1
			     : send_b64(s, "", t->auth_password, pl);
	} else {
		fail(s, "%s offers neither AUTH PLAIN nor LOGIN", t->host);
		return -1;
	}
	if (rc < 0 || read_reply(s) < 0)
		return -1;
	if (s->r.code != 235) {
		char rt[MTA_WHY_MAX];
		reply_text(&s->r, rt);
		fail(s, "AUTH as %s failed: %s", t->auth_user, rt);
		return -1;
	}
	return 0;
}

/* Greeting, EHLO and, as the policy says, STARTTLS. */
static int open_session(struct session *s, struct mta_tls *tls,
			struct mta_report *rep, bool try_tls)
{
	if (connect_to(s) < 0)
		return -1;
	rep->connected = true;
	set_timeout(s, s->cfg->outbound_timeout_command_ms);
	if (read_reply(s) < 0)
		return -1;
	if (s->r.code != 220) {
		char rt[MTA_WHY_MAX];
		reply_text(&s->r, rt);
		fail(s, "greeting: %s", rt);
		return -1;
	}
	if (ehlo(s) < 0)
		return -1;
	bool offered = has(s, "STARTTLS", NULL);
	if (tls_required(s->t) && !offered) {
		rep->tls_failure = "starttls-not-supported";
		fail(s, "TLS is required for %s, but it does not offer "
			"STARTTLS", s->t->host);
		return -1;
	}
	if (offered && try_tls && s->t->tls != TLS_POLICY_NONE &&
	    starttls(s, tls, rep) < 0)
		return -1;
	if (s->t->auth_user != NULL && s->t->auth_user[0] != '\0')
		return smtp_login(s);
	return 0;
}

/* ------------------------------------------------------------ message */

/* Send the message: LF and lone CR become CRLF, lines starting with a dot
 * get another (RFC 5321 4.5.2), and exactly one end-of-data follows. */
static int send_message(struct session *s, const struct queued *q)
{
	char *out = malloc(OUT_CHUNK + 8);
	if (out == NULL) {
		fail(s, "out of memory");
		return -1;
	}
	size_t o = 0;
	bool bol = true;
	const char *parts[2] = {q->env.prepend != NULL ? q->env.prepend : "",
				q->data + q->msg_off};
	size_t lens[2] = {q->env.prepend != NULL ? q->env.prepend_len : 0,
			  q->msg_len};
	int rc = 0;
	for (int part = 0; part < 2 && rc == 0; part++) {
		const char *p = parts[part];
		for (size_t i = 0; i < lens[part] && rc == 0; i++) {
			char c = p[i];
			if (bol && c == '.')
				out[o++] = '.';
			bol = false;
			if (c == '\n' || c == '\r') {
				if (c == '\r' && i + 1 < lens[part] && p[i + 1] == '\n')
					continue; /* the LF makes the CRLF */
				out[o++] = '\r';
				out[o++] = '\n';
				bol = true;
			} else {
				out[o++] = c;
			}
			if (o >= OUT_CHUNK) {
				rc = send_all(s, out, o);
				o = 0;
			}
		}
	}
	if (rc == 0) {
		if (!bol) {
			out[o++] = '\r';
			out[o++] = '\n';
		}
		memcpy(out + o, ".\r\n", 3);
		rc = send_all(s, out, o + 3);
	}
	free(out);
	return rc;
}

static void set_all(struct mta_rcpt_result *res, size_t n, const bool *only,
		    const struct reply *r, const char *text)
{
	for (size_t i = 0; i < n; i++) {
		if (only != NULL && !only[i])
			continue;
		res[i].status = r == NULL || r->code / 100 == 5 ? MTA_PERM
			      : r->code / 100 == 4		? MTA_TEMP
								: MTA_OK;
		if (r != NULL)
			reply_text(r, res[i].reply);
		else
			snprintf(res[i].reply, MTA_WHY_MAX, "%s", text);
	}
}

static int mail_from(struct session *s, const struct queued *q, char *cmd,
		     size_t n)
{
	size_t size = q->msg_len + q->env.prepend_len;
	int w = snprintf(cmd, n, "MAIL FROM:<%s>", q->env.sender);
	if (has(s, "SIZE", NULL))
		w += snprintf(cmd + w, n - (size_t)w, " SIZE=%zu", size);
	if (q->env.eight_bit_mime && has(s, "8BITMIME", NULL))
		w += snprintf(cmd + w, n - (size_t)w, " BODY=8BITMIME");
	if (q->env.smtputf8)
		w += snprintf(cmd + w, n - (size_t)w, " SMTPUTF8");
	w += snprintf(cmd + w, n - (size_t)w, "\r\n");
	return (size_t)w < n ? 0 : -1;
}

/* Checks before MAIL that fail every recipient at once (permanently). */
static bool refuse_early(struct session *s, const struct queued *q, size_t n,
			 struct mta_rcpt_result *res)
{
	const char *p;
	if (q->env.smtputf8 && !has(s, "SMTPUTF8", NULL)) {
		set_all(res, n, NULL, NULL,
			"5.6.7 the message needs SMTPUTF8 (internationalised "
			"addresses) and the receiving server does not support "
			"it");
		return true;
	}
	unsigned long long limit;
	if (has(s, "SIZE", &p) && (limit = strtoull(p, NULL, 10)) > 0 &&
	    q->msg_len + q->env.prepend_len > limit) {
		char t[160];
		snprintf(t, sizeof(t), "5.3.4 the message is larger than the "
				       "receiving server accepts (%llu bytes)",
			 limit);
		set_all(res, n, NULL, NULL, t);
		return true;
	}
	return false;
}

/* ------------------------------------------------------------ transaction */

/* MAIL, RCPT..., DATA: with PIPELINING all in one write (RFC 2920 3.1),
 * otherwise one by one. Per-recipient results go to res; *accepted says
 * which were taken. Returns 1 when the server is ready for the message,
 * 0 when the transaction ended (results are set), -1 on a broken
 * connection. */
static int envelope(struct session *s, const struct queued *q,
		    const size_t *rcpts, size_t n, struct mta_rcpt_result *res,
		    bool *accepted)
{
	bool pipe = has(s, "PIPELINING", NULL);
	char cmd[2048];
	if (mail_from(s, q, cmd, sizeof(cmd)) < 0) {
		fail(s, "sender address too long");
		return -1;
	}
	struct buf out;
	buf_init(&out, 0);
	buf_append_str(&out, cmd);
	for (size_t i = 0; i < n && pipe; i++)
		buf_appendf(&out, "RCPT TO:<%s>\r\n", q->env.rcpts[rcpts[i]].orig);
	if (pipe)
		buf_append_str(&out, "DATA\r\n");
	int rc = send_all(s, out.data, out.len);
	buf_free(&out);
	if (rc < 0 || read_reply(s) < 0)
		return -1;
	struct reply mail = s->r;
	size_t n_ok = 0;
	for (size_t i = 0; i < n; i++) {
		if (!pipe && mail.code / 100 != 2)
			break;
		if (!pipe && sendf(s, "RCPT TO:<%s>\r\n",
				   q->env.rcpts[rcpts[i]].orig) < 0)
			return -1;
		if (read_reply(s) < 0)
			return -1;
		accepted[i] = mail.code / 100 == 2 && s->r.code / 100 == 2;
		n_ok += accepted[i];
		if (mail.code / 100 == 2)
			set_all(res + i, 1, NULL, &s->r, NULL);
	}
	if (mail.code / 100 != 2) {
		set_all(res, n, NULL, &mail, NULL);
		if (pipe && read_reply(s) < 0) /* DATA's reply */
			return -1;
		return 0;
	}
	if (!pipe && n_ok == 0)
		return 0;
	if (!pipe && sendf(s, "DATA\r\n") < 0)
		return -1;
	if (read_reply(s) < 0)
		return -1;
	if (s->r.code != 354) {
		set_all(res, n, accepted, &s->r, NULL);
		return 0;
	}
	if (n_ok == 0) {
		/* a pipelining server said 354 with no recipient: end the
		 * empty message at once, it reaches no one */
		if (send_all(s, ".\r\n", 3) < 0 || read_reply(s) < 0)
			return -1;
		return 0;
	}
	return 1;
}

static int transaction(struct session *s, const struct queued *q,
		       const size_t *rcpts, size_t n,
		       struct mta_rcpt_result *res)
{
	bool *accepted = calloc(n, sizeof(*accepted));
	if (accepted == NULL) {
		fail(s, "out of memory");
		return -1;
	}
	int rc = envelope(s, q, rcpts, n, res, accepted);
	if (rc == 1) {
		set_timeout(s, s->cfg->outbound_timeout_data_ms);
		rc = send_message(s, q) < 0 || read_reply(s) < 0 ? -1 : 0;
		if (rc == 0)
			set_all(res, n, accepted, &s->r, NULL);
	}
	free(accepted);
	return rc;
}

static void close_session(struct session *s, bool polite);

/* ------------------------------------------------------------ reuse */

/* Everything a reused session must share with the new delivery: the
 * address, the name it was verified for and the whole TLS policy. */
static void idle_key(const struct mta_target *t, char out[IDLE_KEY_MAX])
{
	char addr[NETADDR_TEXT_MAX];
	netaddr_ip_port(t->addr, addr);
	snprintf(out, IDLE_KEY_MAX, "%s|%s|%d|%s|%s|%s|%zu|%s|%d", addr, t->host,
		 t->tls, t->ca_file ? t->ca_file : "",
		 t->fingerprint ? t->fingerprint : "",
		 t->auth_user ? t->auth_user : "", t->n_tlsa,
		 t->dane_domain ? t->dane_domain : "", t->sts);
}

static void free_session(struct session *s, bool polite)
{
	close_session(s, polite);
	free(s);
}

/* Take out the sessions idle longer than allowed (or all); the caller
 * closes them, outside the lock. */
static size_t idle_expired(struct mta_tls *t, bool all, struct session **out)
{
	size_t n = 0, k = 0;
	uint64_t now = monotonic_ms();
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n_idle; i++) {
		if (all || now - t->idle[i].since_ms >= t->idle_ms)
			out[n++] = t->idle[i].s;
		else
			t->idle[k++] = t->idle[i];
	}
	t->n_idle = k;
	pthread_mutex_unlock(&t->mu);
	return n;
}

void mta_reap_idle(struct mta_tls *t)
{
	struct session *gone[IDLE_MAX];
	size_t n = idle_expired(t, false, gone);
	for (size_t i = 0; i < n; i++)
		free_session(gone[i], true);
}

static void idle_close_all(struct mta_tls *t)
{
	struct session *gone[IDLE_MAX];
	size_t n = idle_expired(t, true, gone);
	for (size_t i = 0; i < n; i++)
		free_session(gone[i], false);
}

static struct session *idle_take(struct mta_tls *t, const char *key)
{
	struct session *s = NULL;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n_idle && s == NULL; i++)
		if (strcmp(t->idle[i].key, key) == 0) {
			s = t->idle[i].s;
			t->idle[i] = t->idle[--t->n_idle];
		}
	pthread_mutex_unlock(&t->mu);
	return s;
}

/* Keep s for the next message; false when there is no room. */
static bool idle_put(struct mta_tls *t, const char *key, struct session *s)
{
	bool kept = false;
	pthread_mutex_lock(&t->mu);
	if (!t->aborting && t->idle_ms > 0 && t->n_idle < IDLE_MAX) {
		/* the delivery's target and message buffer are going away */
		s->t = NULL;
		s->why = s->idle_why;
		struct idle *i = &t->idle[t->n_idle++];
		i->s = s;
		snprintf(i->key, sizeof(i->key), "%s", key);
		i->since_ms = monotonic_ms();
		kept = true;
	}
	pthread_mutex_unlock(&t->mu);
	return kept;
}

static void close_session(struct session *s, bool polite)
{
	if (polite) {
		set_timeout(s, 5000);
		if (sendf(s, "QUIT\r\n") == 0)
			(void)read_reply(s);
	}
	if (s->ssl != NULL) {
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	if (s->fd >= 0) {
		track(s->tls, s->fd, false);
		close(s->fd);
	}
	s->ssl = NULL;
	s->fd = -1;
}

/* An idle session kept for key, alive (RSET answered), now serving t;
 * NULL when there is none. */
static struct session *reuse(struct mta_tls *tls, const char *key,
			     const struct mta_target *t, char *why,
			     struct mta_report *report)
{
	struct session *s = idle_take(tls, key);
	if (s == NULL)
		return NULL;
	s->t = t;
	s->why = why;
	set_timeout(s, s->cfg->outbound_timeout_command_ms);
	if (sendf(s, "RSET\r\n") < 0 || read_reply(s) < 0 || s->r.code != 250) {
		free_session(s, false); /* it went away while idle */
		why[0] = '\0';
		return NULL;
	}
	*report = s->rep;
	report->reused = true;
	return s;
}

/* The transaction on an open session (rc: how opening it went); then the
 * session is kept for the next message or closed. */
static enum mta_status deliver_on(struct session *s, const char *key,
				  const struct queued *q, const size_t *rcpts,
				  size_t n, struct mta_rcpt_result *results,
				  struct mta_report *report, int rc)
{
	enum mta_status st = MTA_TEMP;
	if (rc == 0) {
		if (refuse_early(s, q, n, results))
			rc = 0;
		else
			rc = transaction(s, q, rcpts, n, results);
		st = rc == 0 ? MTA_OK : MTA_TEMP;
	} else if (s->r.code / 100 == 5 &&
		   strncmp(s->why, "greeting", 8) == 0) {
		st = MTA_TEMP; /* a 554 greeting: try the next MX (5321 3.1) */
	}
	if (rc == 0 && s->in_len == 0) {
		s->rep = *report;
		s->rep.reused = false;
		if (idle_put(s->tls, key, s))
			return st;
	}
	free_session(s, rc == 0 || report->connected);
	return st;
}

enum mta_status mta_deliver(const struct config *cfg, struct mta_tls *tls,
			    const struct mta_target *t, const struct queued *q,
			    const size_t *rcpts, size_t n,
			    struct mta_rcpt_result *results,
			    struct mta_report *report, char why[MTA_WHY_MAX])
{
	memset(report, 0, sizeof(*report));
	report->verified_by = "none";
	why[0] = '\0';
	char key[IDLE_KEY_MAX];
	idle_key(t, key);
	struct session *s = reuse(tls, key, t, why, report);
	if (s != NULL)
		return deliver_on(s, key, q, rcpts, n, results, report, 0);
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(why, MTA_WHY_MAX, "out of memory");
		return MTA_TEMP;
	}
	s->cfg = cfg;
	s->tls = tls;
	s->t = t;
	s->fd = -1;
	s->why = why;
	reply_parser_init(&s->rp);
	int rc = open_session(s, tls, report, true);
	if (rc < 0 && report->connected && s->ssl == NULL &&
	    t->tls == TLS_POLICY_MAY && report->tls_version[0] == '\0' &&
	    strncmp(why, "TLS handshake", 13) == 0) {
		/* opportunistic TLS that fails the handshake: plaintext is
		 * what the policy allows (RFC 7435), on a new connection */
		log_info("event=tls-fallback host=%s reason=\"%s\"", t->host, why);
		close_session(s, false);
		const char *failure = report->tls_failure; /* for TLS-RPT */
		memset(report, 0, sizeof(*report));
		report->tls_failure = failure;
		report->verified_by = "none";
		reply_parser_init(&s->rp);
		s->in_len = 0;
		rc = open_session(s, tls, report, false);
	}
	return deliver_on(s, key, q, rcpts, n, results, report, rc);
}
