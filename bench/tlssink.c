/* tlssink: an SMTP server for the relay benchmark that accepts everything
 * and keeps nothing, like Postfix's smtp-sink, but also offers STARTTLS
 * (smtp-sink cannot). One thread per connection; it counts the messages
 * it accepted and writes the count to COUNTFILE every 100 ms.
 *
 *   tlssink [-t CERT KEY] [-c COUNTFILE] 127.0.0.1 PORT
 *
 * Not part of the server: a load generator's peer, kept simple. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static SSL_CTX *ctx;
static atomic_ulong accepted;

struct conn {
	int fd;
	SSL *ssl;
	char buf[65536];
	size_t len, pos;
};

static int put(struct conn *c, const char *s)
{
	size_t n = strlen(s);
	if (c->ssl != NULL)
		return SSL_write(c->ssl, s, (int)n) == (int)n ? 0 : -1;
	return write(c->fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* One line into out (without CRLF); -1 at end of stream. */
static int get_line(struct conn *c, char *out, size_t n)
{
	size_t k = 0;
	for (;;) {
		while (c->pos < c->len) {
			char ch = c->buf[c->pos++];
			if (ch == '\n') {
				if (k > 0 && out[k - 1] == '\r')
					k--;
				out[k] = '\0';
				return 0;
			}
			if (k + 1 < n)
				out[k++] = ch;
		}
		int r = c->ssl != NULL ? SSL_read(c->ssl, c->buf, sizeof(c->buf))
				       : (int)read(c->fd, c->buf, sizeof(c->buf));
		if (r <= 0)
			return -1;
		c->len = (size_t)r;
		c->pos = 0;
	}
}

static void serve(struct conn *c)
{
	char line[4096];
	if (put(c, "220 tlssink ESMTP\r\n") < 0)
		return;
	while (get_line(c, line, sizeof(line)) == 0) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			put(c, c->ssl == NULL && ctx != NULL
				       ? "250-tlssink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
					 "250-STARTTLS\r\n250 SIZE 100000000\r\n"
				       : "250-tlssink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
					 "250 SIZE 100000000\r\n");
		} else if (strncasecmp(line, "STARTTLS", 8) == 0 && ctx != NULL &&
			   c->ssl == NULL) {
			put(c, "220 go ahead\r\n");
			c->ssl = SSL_new(ctx);
			SSL_set_fd(c->ssl, c->fd);
			c->len = c->pos = 0;
			if (SSL_accept(c->ssl) != 1)
				return;
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			put(c, "354 go\r\n");
			while (get_line(c, line, sizeof(line)) == 0 &&
			       strcmp(line, ".") != 0)
				;
			atomic_fetch_add(&accepted, 1);
			put(c, "250 2.0.0 accepted\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			put(c, "221 bye\r\n");
			return;
		} else {
			put(c, "250 ok\r\n");
		}
	}
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	serve(c);
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c);
	return NULL;
}

static void *count_thread(void *arg)
{
	const char *path = arg;
	for (;;) {
		FILE *f = fopen(path, "w");
		if (f != NULL) {
			fprintf(f, "%lu\n", atomic_load(&accepted));
			fclose(f);
		}
		usleep(100000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *count_file = NULL;
	int i = 1;
	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 2 < argc) {
			ctx = SSL_CTX_new(TLS_server_method());
			if (SSL_CTX_use_certificate_chain_file(ctx, argv[i + 1]) != 1 ||
			    SSL_CTX_use_PrivateKey_file(ctx, argv[i + 2],
							SSL_FILETYPE_PEM) != 1) {
				ERR_print_errors_fp(stderr);
				return 1;
			}
			i += 2;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			count_file = argv[++i];
		}
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: tlssink [-t CERT KEY] [-c COUNTFILE] IP PORT\n");
		return 2;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(argv[i + 1]))};
	inet_pton(AF_INET, argv[i], &sa.sin_addr);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 512) < 0) {
		perror("tlssink");
		return 1;
	}
	pthread_t t;
	if (count_file != NULL)
		pthread_create(&t, NULL, count_thread, (void *)count_file);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		struct conn *c = calloc(1, sizeof(*c));
		c->fd = fd;
		if (pthread_create(&t, NULL, conn_thread, c) == 0)
			pthread_detach(t);
		else {
			close(fd);
			free(c);
		}
	}
}
