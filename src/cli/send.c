/* send: postern send -- submit a message from a script, securely.
 *
 *   postern send --server HOST:PORT --tls starttls|implicit [--user USER]
 *                [--from ADDRESS] --to ADDRESS [--to ...] [--ca FILE]
 *                [--cert FILE --key FILE] [--insecure] < message
 *
 * The server's certificate and host name are verified (system CAs, or
 * --ca); a password is never sent over a connection that is not verified
 * unless --insecure says so. Problems are named as a person understands
 * them: an expired certificate, one for another name, an unknown issuer.
 * The password comes from $POSTERN_PASSWORD, --password-file, or the
 * terminal; with --cert and no --user, AUTH EXTERNAL is used. */
#include "cli/cli.h"

#include "lib/base64.h"
#include "lib/buf.h"
#include "sasl/password.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

enum { REPLY_LINE_MAX = 4096, REPLY_LINES_MAX = 100, RCPTS_MAX = 100 };

struct client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	const char *host;
	bool insecure, verified;
	struct buf in;
	char reply[REPLY_LINE_MAX]; /* the last reply's last line */
	char ehlo[8192];            /* the EHLO reply, for its keywords */
};

static int io_read(struct client *c, char *p, size_t n)
{
	if (c->ssl != NULL) {
		int r = SSL_read(c->ssl, p, (int)n);
		return r > 0 ? r : -1;
	}
	ssize_t r = read(c->fd, p, n);
	return r > 0 ? (int)r : -1;
}

static int io_write(struct client *c, const void *p, size_t n)
{
	if (c->ssl != NULL)
		return SSL_write(c->ssl, p, (int)n) == (int)n ? 0 : -1;
	const char *s = p;
	while (n > 0) {
		ssize_t w = write(c->fd, s, n);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line (without CRLF) into line; -1 at EOF or when too long. */
static int read_line(struct client *c, char line[REPLY_LINE_MAX])
{
	for (;;) {
		char *lf = memchr(buf_cstr(&c->in), '\n', c->in.len);
		if (lf != NULL) {
			size_t n = (size_t)(lf - c->in.data);
			size_t len = n > 0 && c->in.data[n - 1] == '\r' ? n - 1 : n;
			if (len >= REPLY_LINE_MAX)
				return -1;
			memcpy(line, c->in.data, len);
			line[len] = '\0';
			buf_consume(&c->in, n + 1);
			return 0;
		}
		char chunk[4096];
		int r = io_read(c, chunk, sizeof(chunk));
		if (r <= 0 || buf_append(&c->in, chunk, (size_t)r) < 0)
			return -1;
	}
}

/* The three digits that open a reply line, or -1. */
static int reply_code(const char *line)
{
	for (int i = 0; i < 3; i++)
		if (line[i] < '0' || line[i] > '9')
			return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* A whole reply (RFC 5321 4.2.1): returns its code, or -1. */
static int reply(struct client *c)
{
	char line[REPLY_LINE_MAX];
	int code = -1;
	c->ehlo[0] = '\0';
	for (int i = 0; i < REPLY_LINES_MAX; i++) {
		if (read_line(c, line) < 0 || strlen(line) < 3)
			return -1;
		int this = reply_code(line);
		if (this < 0 || (code >= 0 && this != code))
			return -1;
		code = this;
		size_t have = strlen(c->ehlo);
		snprintf(c->ehlo + have, sizeof(c->ehlo) - have, "%s\n",
			 line[3] != '\0' ? line + 4 : "");
		snprintf(c->reply, sizeof(c->reply), "%s", line);
		if (line[3] == ' ' || line[3] == '\0')
			return code;
		if (line[3] != '-')
			return -1;
	}
	return -1;
}

static int command(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int command(struct client *c, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	buf_init(&b, 0);
	va_start(ap, fmt);
	int rc = buf_vappendf(&b, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = buf_append_str(&b, "\r\n");
	rc = rc == 0 ? io_write(c, b.data, b.len) : -1;
	buf_wipe(&b); /* it may carry a password */
	return rc < 0 ? -1 : reply(c);
}

/* ------------------------------------------------------------ TLS */

/* Let the handshake finish whatever the certificate: the verdict is read
 * afterwards, so that it can be explained before anything is sent. */
static int continue_verify(int ok, X509_STORE_CTX *x)
{
	return 1;
}

static void print_time(FILE *out, const ASN1_TIME *t)
{
	BIO *b = BIO_new_fp(out, BIO_NOCLOSE);
	ASN1_TIME_print(b, t);
	BIO_free(b);
}

static void print_names(X509 *cert)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int shown = 0;
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (g->type == GEN_DNS)
			fprintf(stderr, "%s%.*s", shown++ ? ", " : "",
				ASN1_STRING_length(g->d.dNSName),
				(const char *)ASN1_STRING_get0_data(g->d.dNSName));
	}
	GENERAL_NAMES_free(names);
	if (shown == 0)
		fprintf(stderr, "(no host names)");
}

/* Say what is wrong with the server's certificate, in plain words. */
static void explain(struct client *c, long result)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	char issuer[256] = "?";
	if (cert != NULL)
		X509_NAME_oneline(X509_get_issuer_name(cert), issuer, sizeof(issuer));
	fprintf(stderr, "postern send: cannot trust %s: ", c->host);
	switch (result) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		fprintf(stderr, "its certificate expired on ");
		print_time(stderr, X509_get0_notAfter(cert));
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		fprintf(stderr, "its certificate is not valid before ");
		print_time(stderr, X509_get0_notBefore(cert));
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		fprintf(stderr, "its certificate is for another name (");
		print_names(cert);
		fprintf(stderr, "), not %s", c->host);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		fprintf(stderr, "its certificate comes from an issuer we do not "
				"trust (%s); use --ca FILE for a private CA", issuer);
		break;
	default:
		fprintf(stderr, "%s", X509_verify_cert_error_string(result));
	}
	fputc('\n', stderr);
	X509_free(cert);
}

static int start_tls(struct client *c, const char *ca, const char *cert,
		     const char *key)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if ((ca != NULL ? SSL_CTX_load_verify_locations(c->ctx, ca, NULL)
			: SSL_CTX_set_default_verify_paths(c->ctx)) != 1) {
		cli_error("cannot load the CA certificates%s%s", ca ? " from " : "",
			  ca ? ca : "");
		return -1;
	}
	if (cert != NULL &&
	    (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1 ||
	     SSL_CTX_use_PrivateKey_file(c->ctx, key != NULL ? key : cert,
					 SSL_FILETYPE_PEM) != 1)) {
		cli_error("cannot load the client certificate %s", cert);
		return -1;
	}
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	unsigned char ip[16];
	bool literal = inet_pton(AF_INET, c->host, ip) == 1 ||
		       inet_pton(AF_INET6, c->host, ip) == 1;
	if (literal) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host);
	} else {
		SSL_set_tlsext_host_name(c->ssl, c->host);
		SSL_set1_host(c->ssl, c->host); /* RFC 6125 name check */
	}
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, continue_verify);
	if (SSL_connect(c->ssl) != 1) {
		char why[160] = "connection closed";
		unsigned long e = ERR_get_error();
		if (e != 0)
			ERR_error_string_n(e, why, sizeof(why));
		cli_error("TLS with %s failed: %s", c->host, why);
		return -1;
	}
	long result = SSL_get_verify_result(c->ssl);
	c->verified = result == X509_V_OK;
	if (!c->verified) {
		if (!c->insecure) {
			explain(c, result);
			return -1;
		}
		fprintf(stderr, "postern send: warning: not verified (--insecure): ");
		explain(c, result);
	}
	buf_clear(&c->in); /* nothing from before the handshake counts */
	return 0;
}

/* ------------------------------------------------------------ session */

static int connect_to(struct client *c, const char *server)
{
	static char host[256];
	const char *colon = strrchr(server, ':');
	const char *h = server, *port = colon != NULL ? colon + 1 : "587";
	size_t n = colon != NULL ? (size_t)(colon - server) : strlen(server);
	if (n > 1 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host)) {
		cli_error("--server needs HOST:PORT");
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	c->host = host;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		cli_error("cannot find %s: %s", host, gai_strerror(rc));
		return -1;
	}
	c->fd = -1;
	for (ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (c->fd >= 0 && connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(c->fd);
			c->fd = -1;
		}
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		cli_error("cannot connect to %s port %s: %s", host, port, strerror(errno));
	return c->fd < 0 ? -1 : 0;
}

static int expect(struct client *c, int code, int got, const char *what)
{
	if (got == code)
		return 0;
	if (got < 0)
		cli_error("%s: the server broke off (or sent a malformed reply)", what);
	else
		cli_error("%s: the server said: %s", what, c->reply);
	return -1;
}

static int get_password(const struct cli *cli, char *pw, size_t n)
{
	const char *env = getenv("POSTERN_PASSWORD");
	const char *file = cli_option(cli, 0, "--password-file");
	if (env != NULL && env[0] != '\0') {
		snprintf(pw, n, "%s", env);
		return 0;
	}
	FILE *f = file != NULL ? fopen(file, "r") : fopen("/dev/tty", "r+");
	if (f == NULL) {
		cli_error("no password: set POSTERN_PASSWORD or --password-file");
		return -1;
	}
	struct termios old, quiet;
	bool tty = file == NULL && tcgetattr(fileno(f), &old) == 0;
	if (tty) {
		fputs("Password: ", f);
		fflush(f);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(f), TCSAFLUSH, &quiet);
	}
	char *got = fgets(pw, (int)n, f);
	if (tty) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', f);
	}
	fclose(f);
	pw[got != NULL ? strcspn(pw, "\r\n") : 0] = '\0';
	return pw[0] != '\0' ? 0 : -1;
}

static int authenticate(struct client *c, const struct cli *cli,
			const char *user, bool external)
{
	if (!c->verified && !c->insecure) {
		cli_error("refusing to log in over a connection that is not verified");
		return -1;
	}
	struct buf b;
	char pw[PASSWORD_MAX + 2];
	int code;
	buf_init(&b, 0);
	if (external) {
		base64_encode(user != NULL ? user : "", user != NULL ? strlen(user) : 0, &b);
		code = command(c, "AUTH EXTERNAL %s", b.len ? b.data : "=");
	} else {
		if (get_password(cli, pw, sizeof(pw)) < 0)
			return -1;
		struct buf raw;
		buf_init(&raw, 0);
		buf_append_byte(&raw, '\0');
		buf_append_str(&raw, user);
		buf_append_byte(&raw, '\0');
		buf_append_str(&raw, pw);
		base64_encode(raw.data, raw.len, &b);
		buf_wipe(&raw);
		explicit_bzero(pw, sizeof(pw));
		code = command(c, "AUTH PLAIN %s", b.data);
	}
	buf_wipe(&b);
	return expect(c, 235, code, "login");
}

/* The message from standard input, with CRLF line ends and leading dots
 * doubled (RFC 5321 4.5.2), ready to follow DATA. */
static int read_message(struct buf *out)
{
	struct buf raw;
	char chunk[65536];
	size_t n;
	buf_init(&raw, 64 * 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(&raw, chunk, n) < 0) {
			buf_free(&raw);
			cli_error("the message is too large");
			return -1;
		}
	bool bol = true;
	for (size_t i = 0; i < raw.len; i++) {
		char ch = raw.data[i];
		if (bol && ch == '.')
			buf_append_byte(out, '.');
		if (ch == '\r' && i + 1 < raw.len && raw.data[i + 1] == '\n')
			continue; /* the CR of CRLF: written with the LF */
		if (ch == '\n')
			buf_append_byte(out, '\r');
		buf_append_byte(out, ch);
		bol = ch == '\n';
	}
	if (!bol)
		buf_append_str(out, "\r\n");
	buf_append_str(out, ".\r\n");
	buf_free(&raw);
	return 0;
}

static int transaction(struct client *c, const struct cli *cli,
		       const char *from)
{
	struct buf msg;
	int rcpts = 0;
	buf_init(&msg, 0);
	if (read_message(&msg) < 0 ||
	    expect(c, 250, command(c, "MAIL FROM:<%s>", from), "sender") < 0)
		goto fail;
	for (int i = 0; i + 1 < cli->argc; i++) {
		if (strcmp(cli->argv[i], "--to") != 0)
			continue;
		if (++rcpts > RCPTS_MAX ||
		    expect(c, 250, command(c, "RCPT TO:<%s>", cli->argv[i + 1]),
			   cli->argv[i + 1]) < 0)
			goto fail;
	}
	if (rcpts == 0) {
		cli_error("no --to");
		goto fail;
	}
	if (expect(c, 354, command(c, "DATA"), "data") < 0 ||
	    io_write(c, msg.data, msg.len) < 0 ||
	    expect(c, 250, reply(c), "message") < 0)
		goto fail;
	printf("sent: %s\n", c->reply + 4);
	buf_free(&msg);
	return 0;
fail:
	buf_free(&msg);
	return -1;
}

static void client_close(struct client *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->in);
}

static bool has_keyword(const struct client *c, const char *kw)
{
	size_t n = strlen(kw);
	for (const char *p = c->ehlo; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncasecmp(p, kw, n) == 0 && (p[n] == '\n' || p[n] == ' '))
			return true;
		if (strchr(p, '\n') == NULL)
			break;
	}
	return false;
}

static int session(struct client *c, const struct cli *cli, bool implicit)
{
	const char *user = cli_option(cli, 0, "--user");
	const char *from = cli_option(cli, 0, "--from");
	const char *cert = cli_option(cli, 0, "--cert");
	const char *ca = cli_option(cli, 0, "--ca");
	const char *key = cli_option(cli, 0, "--key");
	if (implicit && start_tls(c, ca, cert, key) < 0)
		return -1;
	if (expect(c, 220, reply(c), "greeting") < 0 ||
	    expect(c, 250, command(c, "EHLO localhost"), "EHLO") < 0)
		return -1;
	if (!implicit) {
		if (!has_keyword(c, "STARTTLS")) {
			cli_error("%s does not offer STARTTLS: nothing is sent in "
				  "the clear", c->host);
			return -1;
		}
		if (expect(c, 220, command(c, "STARTTLS"), "STARTTLS") < 0 ||
		    start_tls(c, ca, cert, key) < 0 ||
		    expect(c, 250, command(c, "EHLO localhost"), "EHLO") < 0)
			return -1;
	}
	if ((user != NULL || cert != NULL) &&
	    authenticate(c, cli, user, user == NULL || cli_flag(cli, 0, "--external")) < 0)
		return -1;
	if (from == NULL)
		from = user != NULL ? user : "";
	int rc = transaction(c, cli, from);
	command(c, "QUIT");
	return rc;
}

int cli_send(struct cli *cli)
{
	const char *server = cli_option(cli, 0, "--server");
	const char *mode = cli_option(cli, 0, "--tls");
	struct client c = {.fd = -1};
	if (server == NULL || mode == NULL ||
	    (strcmp(mode, "starttls") != 0 && strcmp(mode, "implicit") != 0)) {
		fputs("usage: postern send --server HOST:PORT --tls starttls|implicit\n"
		      "                    [--user USER] [--from ADDRESS] --to ADDRESS "
		      "[--to ...]\n"
		      "                    [--ca FILE] [--cert FILE --key FILE] "
		      "[--insecure] < message\n"
		      "The password comes from $POSTERN_PASSWORD, --password-file "
		      "FILE or the terminal.\n",
		      stderr);
		return 2;
	}
	buf_init(&c.in, 64 * 1024);
	c.insecure = cli_flag(cli, 0, "--insecure");
	int rc = connect_to(&c, server) == 0 ? session(&c, cli, strcmp(mode, "implicit") == 0)
					     : -1;
	client_close(&c);
	return rc == 0 ? 0 : 1;
}
