/* user: postern user add|del|list|passwd|quota */
#include "cli/cli.h"

#include "lib/parse.h"
#include "sasl/password.h"
#include "sasl/scram.h"
#include "store/maildir.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum { GENERATED_LEN = 20 };

static int print_user(void *arg, const char *address, const char *domain,
		      int64_t quota)
{
	if (quota > 0)
		printf("%s\tquota=%" PRId64 "\n", address, quota);
	else
		printf("%s\n", address);
	return 0;
}

/* The password from --generate (printed once) or from the user. */
static int get_password(const struct cli *cli, char *pw, size_t n)
{
	if (cli_flag(cli, 2, "--generate")) {
		password_generate(pw, GENERATED_LEN);
		printf("password: %s\n", pw);
		return 0;
	}
	return cli_read_password(pw, n);
}

/* What is stored of a password: its argon2id hash (PLAIN, LOGIN) and its
 * SCRAM-SHA-256 keys (which the server needs in this form). The password
 * itself is forgotten. */
struct credentials {
	char hash[PASSWORD_HASH_MAX];
	char scram[SCRAM_CRED_MAX];
};

static int make_credentials(const struct cli *cli, struct credentials *c)
{
	char pw[PASSWORD_MAX + 2];
	struct scram_credentials sc;
	int rc = get_password(cli, pw, sizeof(pw));
	if (rc == 0 && (password_hash(pw, strlen(pw), c->hash) < 0 ||
			scram_derive(pw, strlen(pw), SCRAM_ITERATIONS, &sc) < 0 ||
			scram_credentials_encode(&sc, c->scram) < 0)) {
		cli_error("cannot hash the password");
		rc = -1;
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(&sc, sizeof(sc));
	return rc;
}

static int user_add(struct cli *cli, struct directory *d, const char *address)
{
	uint64_t quota = cli->cfg.delivery_default_quota;
	const char *q = cli_option(cli, 2, "--quota");
	if (q != NULL && parse_size(q, &quota) < 0) {
		cli_error("invalid --quota '%s' (a size such as 500M)", q);
		return -1;
	}
	const char *domain = strchr(address, '@') + 1;
	if (dir_domain_exists(d, domain) != 1) {
		cli_error("%s is not a local domain (postern domain add %s)",
			  domain, domain);
		return -1;
	}
	struct dir_user u;
	if (dir_user_get(d, address, &u) == 1) {
		dir_user_clear(&u);
		cli_error("%s exists already", address);
		return -1;
	}
	struct credentials c;
	char root[MAILDIR_PATH_MAX];
	if (make_credentials(cli, &c) < 0)
		return -1;
	int rc = dir_user_add(d, address, c.hash, c.scram, quota);
	explicit_bzero(&c, sizeof(c));
	if (rc != 0) {
		cli_error("%s", rc < 0 ? directory_error(d) : "cannot add the user");
		return -1;
	}
	if (maildir_root(cli->cfg.data_dir, address, root) < 0 ||
	    maildir_create(root) < 0) {
		cli_error("user added, but cannot create the mailbox %s", root);
		return -1;
	}
	printf("added %s, mailbox %s\n", address, root);
	return 0;
}

static int user_passwd(struct cli *cli, struct directory *d,
		       const char *address)
{
	struct credentials c;
	struct dir_user u;
	if (dir_user_get(d, address, &u) != 1) {
		cli_error("no user %s", address);
		return -1;
	}
	dir_user_clear(&u);
	if (make_credentials(cli, &c) < 0)
		return -1;
	int rc = dir_user_set_password(d, address, c.hash, c.scram);
	explicit_bzero(&c, sizeof(c));
	if (rc != 0) {
		cli_error("%s", directory_error(d));
		return -1;
	}
	printf("password changed for %s\n", address);
	return 0;
}

static int user_quota(struct cli *cli, struct directory *d,
		      const char *address)
{
	uint64_t quota;
	if (cli->argc != 3 || parse_size(cli->argv[2], &quota) < 0) {
		cli_error("usage: postern user quota ADDRESS SIZE (0: no limit)");
		return -1;
	}
	int rc = dir_user_set_quota(d, address, quota);
	if (rc != 0) {
		cli_error("%s", rc < 0 ? directory_error(d) : "no such user");
		return -1;
	}
	printf("quota of %s: %" PRIu64 " bytes\n", address, quota);
	return 0;
}

static int user_del(struct cli *cli, struct directory *d, const char *address)
{
	int rc = dir_user_del(d, address);
	if (rc != 0) {
		cli_error("%s", rc < 0 ? directory_error(d) : "no such user");
		return -1;
	}
	char root[MAILDIR_PATH_MAX] = "";
	maildir_root(cli->cfg.data_dir, address, root);
	printf("deleted %s (its mailbox %s is kept)\n", address, root);
	return 0;
}

int cli_user(struct cli *cli)
{
	const char *sub = cli->argc > 0 ? cli->argv[0] : "";
	bool list = strcmp(sub, "list") == 0;
	if (strcmp(sub, "cert") == 0 || strcmp(sub, "sender") == 0 ||
	    strcmp(sub, "limits") == 0)
		return cli_user_sending(cli);
	if (!list && (cli->argc < 2 ||
		      (strcmp(sub, "add") != 0 && strcmp(sub, "del") != 0 &&
		       strcmp(sub, "passwd") != 0 && strcmp(sub, "quota") != 0))) {
		fputs("usage: postern user add ADDRESS [--quota SIZE] [--generate]\n"
		      "       postern user passwd ADDRESS [--generate]\n"
		      "       postern user quota ADDRESS SIZE\n"
		      "       postern user del ADDRESS\n"
		      "       postern user list [DOMAIN]\n"
		      "       postern user limits USER [--messages N] "
		      "[--recipients N] [--default]\n"
		      "       postern user sender add|del USER ADDRESS|@DOMAIN | "
		      "list [USER]\n"
		      "       postern user cert add USER FILE.pem|FINGERPRINT | "
		      "del FINGERPRINT | list [USER]\n"
		      "The password is asked for on a terminal, or read as one "
		      "line from standard input.\n",
		      stderr);
		return 2;
	}
	char address[320] = "";
	if (!list) {
		snprintf(address, sizeof(address), "%s", cli->argv[1]);
		if (!directory_address_valid(address)) {
			cli_error("'%s' is not a valid address for a user (letters, "
				  "digits, . - _ before the @)", cli->argv[1]);
			return 2;
		}
	}
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	int rc;
	if (list)
		rc = dir_user_list(d, cli->argc > 1 ? cli->argv[1] : NULL,
				   print_user, NULL);
	else if (strcmp(sub, "add") == 0)
		rc = user_add(cli, d, address);
	else if (strcmp(sub, "passwd") == 0)
		rc = user_passwd(cli, d, address);
	else if (strcmp(sub, "quota") == 0)
		rc = user_quota(cli, d, address);
	else
		rc = user_del(cli, d, address);
	directory_close(&d);
	return rc == 0 ? 0 : 1;
}
