/* sending: postern user cert|sender|limits -- who may send as whom, with
 * which client certificate, and how much. */
#include "cli/cli.h"

#include "lib/parse.h"
#include "lib/util.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int print_pair(void *arg, const char *a, const char *b, int64_t n)
{
	printf("%s\t%s\n", a, b);
	return 0;
}

/* The SHA-256 fingerprint of a PEM certificate file, as lower-case hex. */
static int file_fingerprint(const char *path, char out[65])
{
	FILE *f = fopen(path, "r");
	X509 *cert = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int rc = -1;
	if (cert != NULL && X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == 32) {
		for (unsigned i = 0; i < n; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		rc = 0;
	}
	X509_free(cert);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* "AB:CD:..." or "abcd...": 32 bytes of hex, normalised. */
static int hex_fingerprint(const char *text, char out[65])
{
	size_t o = 0;
	for (const char *p = text; *p != '\0'; p++) {
		char c = *p;
		if (c == ':')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || o == 64)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o == 64 ? 0 : -1;
}

static int cert_cmd(struct cli *cli, struct directory *d)
{
	const char *sub = cli->argc > 1 ? cli->argv[1] : "";
	char fp[65], user[320];
	if (strcmp(sub, "list") == 0)
		return dir_cert_list(d, cli->argc > 2 ? cli->argv[2] : NULL,
				     print_pair, NULL);
	if (strcmp(sub, "del") == 0 && cli->argc == 3 &&
	    hex_fingerprint(cli->argv[2], fp) == 0) {
		int rc = dir_cert_del(d, fp);
		if (rc != 0)
			cli_error("%s", rc == 1 ? "no such certificate" : directory_error(d));
		return rc;
	}
	if (strcmp(sub, "add") != 0 || cli->argc != 4) {
		cli_error("usage: postern user cert add USER FILE.pem|FINGERPRINT | "
			  "del FINGERPRINT | list [USER]");
		return -1;
	}
	snprintf(user, sizeof(user), "%s", cli->argv[2]);
	if (!directory_address_valid(user) ||
	    (file_fingerprint(cli->argv[3], fp) < 0 &&
	     hex_fingerprint(cli->argv[3], fp) < 0)) {
		cli_error("expected a user and a PEM certificate file or a SHA-256 "
			  "fingerprint");
		return -1;
	}
	int rc = dir_cert_add(d, fp, user);
	if (rc == 0)
		printf("%s\t%s\n", fp, user);
	else
		cli_error("%s", rc == 1 ? "that certificate is mapped already"
					: directory_error(d));
	return rc;
}

static int sender_cmd(struct cli *cli, struct directory *d)
{
	const char *sub = cli->argc > 1 ? cli->argv[1] : "";
	char user[320], address[320];
	if (strcmp(sub, "list") == 0)
		return dir_sender_list(d, cli->argc > 2 ? cli->argv[2] : NULL,
				       print_pair, NULL);
	bool add = strcmp(sub, "add") == 0;
	if ((!add && strcmp(sub, "del") != 0) || cli->argc != 4) {
		cli_error("usage: postern user sender add|del USER ADDRESS|@DOMAIN | "
			  "list [USER]");
		return -1;
	}
	snprintf(user, sizeof(user), "%s", cli->argv[2]);
	snprintf(address, sizeof(address), "%s", cli->argv[3]);
	ascii_lower(address, strlen(address));
	if (!directory_address_valid(user) || strchr(address, '@') == NULL ||
	    strpbrk(address, " \t\"") != NULL) {
		cli_error("expected a user and an address or @domain");
		return -1;
	}
	int rc = add ? dir_sender_add(d, user, address)
		     : dir_sender_del(d, user, address);
	if (rc < 0)
		cli_error("%s", directory_error(d));
	else if (rc == 1)
		cli_error(add ? "already allowed (or no such user)" : "not allowed");
	else
		printf("%s may %ssend as %s\n", user, add ? "" : "no longer ", address);
	return rc;
}

static int show_limits(struct cli *cli, struct directory *d, const char *user)
{
	struct dir_user u;
	unsigned msgs = 0, rcpts = 0;
	int64_t oldest;
	if (dir_user_get(d, user, &u) != 1) {
		cli_error("no user %s", user);
		return -1;
	}
	uint64_t max_m = u.max_messages >= 0 ? (uint64_t)u.max_messages
					     : cli->cfg.submission_max_messages;
	uint64_t max_r = u.max_recipients >= 0 ? (uint64_t)u.max_recipients
					       : cli->cfg.submission_max_recipients;
	const char *dm = u.max_messages >= 0 ? "" : " (default)";
	const char *dr = u.max_recipients >= 0 ? "" : " (default)";
	dir_user_clear(&u);
	if (dir_sends_usage(d, user, (int64_t)time(NULL) - 3600, &msgs, &rcpts,
			    &oldest) < 0)
		return -1;
	printf("%s\nmessages in the last hour:   %u of %" PRIu64 "%s\n"
	       "recipients in the last hour: %u of %" PRIu64 "%s\n",
	       user, msgs, max_m, dm, rcpts, max_r, dr);
	return 0;
}

static int limits_cmd(struct cli *cli, struct directory *d)
{
	char user[320];
	if (cli->argc < 2) {
		cli_error("usage: postern user limits USER [--messages N] "
			  "[--recipients N] [--default]");
		return -1;
	}
	snprintf(user, sizeof(user), "%s", cli->argv[1]);
	if (!directory_address_valid(user)) {
		cli_error("'%s' is not a user address", cli->argv[1]);
		return -1;
	}
	const char *m = cli_option(cli, 2, "--messages");
	const char *r = cli_option(cli, 2, "--recipients");
	bool reset = cli_flag(cli, 2, "--default");
	if (m == NULL && r == NULL && !reset)
		return show_limits(cli, d, user);
	struct dir_user u;
	uint64_t v;
	if (dir_user_get(d, user, &u) != 1) {
		cli_error("no user %s", user);
		return -1;
	}
	int64_t nm = reset ? -1 : u.max_messages, nr = reset ? -1 : u.max_recipients;
	dir_user_clear(&u);
	if (m != NULL) {
		if (parse_u64(m, strlen(m), INT32_MAX, &v) < 0) {
			cli_error("invalid --messages '%s'", m);
			return -1;
		}
		nm = (int64_t)v;
	}
	if (r != NULL) {
		if (parse_u64(r, strlen(r), INT32_MAX, &v) < 0) {
			cli_error("invalid --recipients '%s'", r);
			return -1;
		}
		nr = (int64_t)v;
	}
	if (dir_user_set_limits(d, user, nm, nr) != 0) {
		cli_error("%s", directory_error(d));
		return -1;
	}
	return show_limits(cli, d, user);
}

int cli_user_sending(struct cli *cli)
{
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	const char *what = cli->argv[0];
	int rc = strcmp(what, "cert") == 0     ? cert_cmd(cli, d)
		 : strcmp(what, "sender") == 0 ? sender_cmd(cli, d)
					       : limits_cmd(cli, d);
	directory_close(&d);
	return rc == 0 ? 0 : 1;
}
