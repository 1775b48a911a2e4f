/* authload: load for authenticated submission over implicit TLS (465):
 * each connection does the TLS handshake, EHLO, AUTH (PLAIN or
 * SCRAM-SHA-256, RFC 7677), one message, QUIT -- so that handshakes and
 * logins count, as the submission benchmark asks.
 *
 * usage: authload -m PLAIN|SCRAM-SHA-256 -u USER -p PASS [-s sessions]
 *                 [-n messages] [-l bytes] HOST:PORT
 * prints: mech sessions msgs ok fail secs msgs_per_s p50_ms p99_ms
 * build: cc -O2 -pthread -o authload authload.c -lssl -lcrypto */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *mech = "PLAIN", *user, *pass, *host;
static int port, sessions = 20, total = 1000, len = 2048;
static int next_msg, ok_count, fail_count;
static double *lat;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *ctx;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

struct conn {
	SSL *ssl;
	char buf[16384];
	int have;
};

/* Read one reply; returns its code (last line), -1 on error. The text of
 * the last line goes to text (if not NULL). */
static int reply(struct conn *c, char *text, size_t n)
{
	for (;;) {
		char *lf = memchr(c->buf, '\n', (size_t)c->have);
		if (lf == NULL) {
			int r = SSL_read(c->ssl, c->buf + c->have, (int)sizeof(c->buf) - c->have);
			if (r <= 0)
				return -1;
			c->have += r;
			continue;
		}
		size_t l = (size_t)(lf - c->buf) + 1;
		int code = atoi(c->buf);
		int more = l > 3 && c->buf[3] == '-';
		if (!more && text != NULL) {
			size_t t = l > 6 ? l - 6 : 0;
			if (t >= n)
				t = n - 1;
			memcpy(text, c->buf + 4, t);
			text[t] = '\0';
		}
		memmove(c->buf, c->buf + l, (size_t)c->have - l);
		c->have -= (int)l;
		if (!more)
			return code;
	}
}

static int cmd(struct conn *c, char *text, size_t n, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	memcpy(line + k, "\r\n", 2);
	if (SSL_write(c->ssl, line, k + 2) != k + 2)
		return -1;
	return reply(c, text, n);
}

static void b64(const void *in, int n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, n);
}

static int unb64(const char *in, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)strlen(in));
	size_t l = strlen(in);
	while (l > 0 && in[--l] == '=')
		n--;
	return n;
}

static int auth_plain(struct conn *c)
{
	char raw[512], enc[1024];
	int n = snprintf(raw, sizeof(raw), "%c%s%c%s", 0, user, 0, pass);
	b64(raw, n, enc);
	return cmd(c, NULL, 0, "AUTH PLAIN %s", enc) == 235 ? 0 : -1;
}

/* SCRAM-SHA-256 client (RFC 5802 3, RFC 7677) without channel binding. */
static int auth_scram(struct conn *c)
{
	unsigned char rnd[18], salt[64], salted[32], ckey[32], skey[32], stored[32],
		sig[32], proof[32];
	char cnonce[32], first[512], enc[1024], text[1024], sfirst[1024], final[1024],
		auth[2048];
	unsigned int hl = 32;
	RAND_bytes(rnd, sizeof(rnd));
	b64(rnd, sizeof(rnd), cnonce);
	snprintf(first, sizeof(first), "n=%s,r=%s", user, cnonce);
	char gs2[600];
	int n = snprintf(gs2, sizeof(gs2), "n,,%s", first);
	b64(gs2, n, enc);
	if (cmd(c, text, sizeof(text), "AUTH SCRAM-SHA-256 %s", enc) != 334)
		return -1;
	n = unb64(text, (unsigned char *)sfirst);
	sfirst[n] = '\0';
	char *r = strstr(sfirst, "r="), *s = strstr(sfirst, ",s="), *i = strstr(sfirst, ",i=");
	if (r == NULL || s == NULL || i == NULL)
		return -1;
	char nonce[256], salt64[128];
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(s - r - 2), r + 2);
	snprintf(salt64, sizeof(salt64), "%.*s", (int)(i - s - 3), s + 3);
	int iter = atoi(i + 3), saltn = unb64(salt64, salt);
	PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), salt, saltn, iter, EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ckey, &hl);
	SHA256(ckey, 32, stored);
	snprintf(final, sizeof(final), "c=biws,r=%s", nonce);
	n = snprintf(auth, sizeof(auth), "%s,%s,%s", first, sfirst, final);
	HMAC(EVP_sha256(), stored, 32, (unsigned char *)auth, (size_t)n, sig, &hl);
	for (int k = 0; k < 32; k++)
		proof[k] = ckey[k] ^ sig[k];
	char proof64[64], msg[1200];
	b64(proof, 32, proof64);
	n = snprintf(msg, sizeof(msg), "%s,p=%s", final, proof64);
	b64(msg, n, enc);
	if (cmd(c, text, sizeof(text), "%s", enc) != 334)
		return -1;
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10, skey, &hl);
	(void)skey; /* the server signature could be checked here */
	return cmd(c, NULL, 0, "%s", "") == 235 ? 0 : -1;
}

static int one_message(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, host, &sin.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, rc = -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct conn c = {0};
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto out;
	c.ssl = SSL_new(ctx);
	SSL_set_fd(c.ssl, fd);
	if (SSL_connect(c.ssl) != 1 || reply(&c, NULL, 0) != 220 ||
	    cmd(&c, NULL, 0, "EHLO load.example") != 250)
		goto out;
	if ((strcmp(mech, "PLAIN") == 0 ? auth_plain(&c) : auth_scram(&c)) < 0)
		goto out;
	if (cmd(&c, NULL, 0, "MAIL FROM:<%s>", user) != 250 ||
	    cmd(&c, NULL, 0, "RCPT TO:<%s>", user) != 250 ||
	    cmd(&c, NULL, 0, "DATA") != 354)
		goto out;
	char *body = malloc((size_t)len + 256);
	int k = snprintf(body, 256, "From: %s\r\nSubject: load\r\n\r\n", user);
	while (k < len) {
		int w = len - k > 78 ? 78 : len - k;
		memset(body + k, 'x', (size_t)w);
		k += w;
		memcpy(body + k, "\r\n", 2);
		k += 2;
	}
	memcpy(body + k, ".\r\n", 3);
	int sent = SSL_write(c.ssl, body, k + 3) == k + 3;
	free(body);
	if (sent && reply(&c, NULL, 0) == 250)
		rc = 0;
	cmd(&c, NULL, 0, "QUIT");
out:
	if (c.ssl != NULL)
		SSL_free(c.ssl);
	close(fd);
	return rc;
}

static void *worker(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&mu);
		int i = next_msg < total ? next_msg++ : -1;
		pthread_mutex_unlock(&mu);
		if (i < 0)
			return NULL;
		double t0 = now();
		int rc = one_message();
		pthread_mutex_lock(&mu);
		if (rc == 0)
			lat[ok_count++] = now() - t0;
		else
			fail_count++;
		pthread_mutex_unlock(&mu);
	}
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int o;
	while ((o = getopt(argc, argv, "m:u:p:s:n:l:")) != -1) {
		if (o == 'm') mech = optarg;
		else if (o == 'u') user = optarg;
		else if (o == 'p') pass = optarg;
		else if (o == 's') sessions = atoi(optarg);
		else if (o == 'n') total = atoi(optarg);
		else if (o == 'l') len = atoi(optarg);
	}
	if (optind >= argc || user == NULL || pass == NULL) {
		fprintf(stderr, "usage: authload -m PLAIN|SCRAM-SHA-256 -u USER -p PASS "
				"[-s sessions] [-n messages] [-l bytes] HOST:PORT\n");
		return 2;
	}
	static char h[64];
	snprintf(h, sizeof(h), "%s", argv[optind]);
	char *colon = strrchr(h, ':');
	*colon = '\0';
	host = h;
	port = atoi(colon + 1);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	lat = calloc((size_t)total, sizeof(double));
	pthread_t t[256];
	double t0 = now();
	for (int i = 0; i < sessions && i < 256; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < sessions && i < 256; i++)
		pthread_join(t[i], NULL);
	double secs = now() - t0;
	qsort(lat, (size_t)ok_count, sizeof(double), by_value);
	printf("mech=%s sessions=%d msgs=%d ok=%d fail=%d secs=%.2f msgs_per_s=%.0f "
	       "p50_ms=%.1f p99_ms=%.1f\n",
	       mech, sessions, total, ok_count, fail_count, secs, ok_count / secs,
	       ok_count ? lat[ok_count / 2] * 1000 : 0,
	       ok_count ? lat[ok_count * 99 / 100] * 1000 : 0);
	return fail_count > 0;
}
