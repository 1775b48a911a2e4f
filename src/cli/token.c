/* token: postern token add|list|del -- send-only tokens for websites and
 * devices. A token is printed once; only its SHA-256 is stored. It logs in
 * with PLAIN or LOGIN as its user (the token as the password), for sending
 * only, and can be limited to some From addresses. */
#include "cli/cli.h"

#include "lib/util.h"

#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { TOKEN_BYTES = 24 };

static int print_token(void *arg, const char *name, const char *senders,
		       int64_t created)
{
	char when[32];
	time_t t = (time_t)created;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	printf("%s\tcreated %s\tfrom: %s\n", name, when,
	       senders[0] != '\0' ? senders : "any of the user's addresses");
	return 0;
}

/* "pst_" and 48 hex digits: 192 random bits. */
static void new_token(char out[4 + 2 * TOKEN_BYTES + 1], char hash[65])
{
	unsigned char rnd[TOKEN_BYTES], md[SHA256_DIGEST_LENGTH];
	random_bytes(rnd, sizeof(rnd));
	memcpy(out, "pst_", 4);
	for (int i = 0; i < TOKEN_BYTES; i++)
		snprintf(out + 4 + 2 * i, 3, "%02x", rnd[i]);
	SHA256((const unsigned char *)out, strlen(out), md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hash + 2 * i, 3, "%02x", md[i]);
	explicit_bzero(rnd, sizeof(rnd));
}

/* The --from addresses, space-separated and lower-cased. */
static int collect_from(const struct cli *cli, char *out, size_t n)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 2; i + 1 < cli->argc; i++) {
		if (strcmp(cli->argv[i], "--from") != 0)
			continue;
		const char *a = cli->argv[++i];
		if (strchr(a, '@') == NULL || strpbrk(a, " \t") != NULL) {
			cli_error("--from needs an address: '%s'", a);
			return -1;
		}
		int w = snprintf(out + o, n - o, "%s%s", o ? " " : "", a);
		if (w < 0 || (size_t)w >= n - o) {
			cli_error("too many --from addresses");
			return -1;
		}
		o += (size_t)w;
	}
	ascii_lower(out, o);
	return 0;
}

static int token_add(struct cli *cli, struct directory *d, const char *user)
{
	const char *name = cli_option(cli, 2, "--name");
	char senders[1024], token[4 + 2 * TOKEN_BYTES + 1], hash[65];
	struct dir_user u;
	if (name == NULL || name[0] == '\0' || strlen(name) > 100) {
		cli_error("token add needs --name NAME (what it is for)");
		return -1;
	}
	if (collect_from(cli, senders, sizeof(senders)) < 0)
		return -1;
	if (dir_user_get(d, user, &u) != 1) {
		cli_error("no user %s", user);
		return -1;
	}
	dir_user_clear(&u);
	new_token(token, hash);
	int rc = dir_token_add(d, user, name, hash, senders);
	if (rc != 0) {
		cli_error("%s", rc == 1 ? "that user has a token of that name"
					: directory_error(d));
		return -1;
	}
	printf("token for %s (%s); it is shown only now:\n%s\n"
	       "Use it as the password of %s (AUTH PLAIN or LOGIN), for sending "
	       "only.\n",
	       user, name, token, user);
	explicit_bzero(token, sizeof(token));
	return 0;
}

int cli_token(struct cli *cli)
{
	const char *sub = cli->argc > 0 ? cli->argv[0] : "";
	char user[320] = "";
	if (cli->argc < 2 || (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 &&
			      strcmp(sub, "del") != 0)) {
		fputs("usage: postern token add USER --name NAME [--from ADDRESS ...]\n"
		      "       postern token list USER\n"
		      "       postern token del USER NAME\n",
		      stderr);
		return 2;
	}
	snprintf(user, sizeof(user), "%s", cli->argv[1]);
	if (!directory_address_valid(user)) {
		cli_error("'%s' is not a user address", cli->argv[1]);
		return 2;
	}
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	int rc;
	if (strcmp(sub, "add") == 0) {
		rc = token_add(cli, d, user);
	} else if (strcmp(sub, "list") == 0) {
		rc = dir_token_list(d, user, print_token, NULL);
	} else if (cli->argc != 3) {
		cli_error("usage: postern token del USER NAME");
		rc = -1;
	} else {
		rc = dir_token_del(d, user, cli->argv[2]);
		if (rc == 0)
			printf("revoked token %s of %s\n", cli->argv[2], user);
		else
			cli_error("%s", rc == 1 ? "no such token" : directory_error(d));
	}
	directory_close(&d);
	return rc == 0 ? 0 : 1;
}
