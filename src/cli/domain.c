/* domain: postern domain add|del|list */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int print_domain(void *arg, const char *name, const char *unused,
			int64_t users)
{
	printf("%s\t%" PRId64 " user%s\n", name, users, users == 1 ? "" : "s");
	return 0;
}

static int count_row(void *arg, const char *a, const char *b, int64_t n)
{
	(*(int *)arg)++;
	return 0;
}

static int domain_del(struct directory *d, const char *name)
{
	int users = 0, aliases = 0;
	if (dir_user_list(d, name, count_row, &users) < 0 ||
	    dir_alias_list(d, name, count_row, &aliases) < 0)
		return -1;
	if (users > 0 || aliases > 0) {
		cli_error("%s still has %d user(s) and %d alias(es): delete them "
			  "first", name, users, aliases);
		return 1;
	}
	return dir_domain_del(d, name);
}

int cli_domain(struct cli *cli)
{
	const char *sub = cli->argc > 0 ? cli->argv[0] : "";
	bool list = strcmp(sub, "list") == 0;
	if (!list && (cli->argc != 2 || (strcmp(sub, "add") != 0 &&
					 strcmp(sub, "del") != 0))) {
		fputs("usage: postern domain add NAME | del NAME | list\n", stderr);
		return 2;
	}
	char name[256] = "";
	if (!list) {
		snprintf(name, sizeof(name), "%s", cli->argv[1]);
		if (!directory_domain_valid(name)) {
			cli_error("'%s' is not a valid domain name", cli->argv[1]);
			return 2;
		}
	}
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	int rc;
	if (list)
		rc = dir_domain_list(d, print_domain, NULL);
	else if (strcmp(sub, "add") == 0)
		rc = dir_domain_add(d, name);
	else
		rc = domain_del(d, name);
	if (rc < 0)
		cli_error("%s", directory_error(d));
	else if (rc == 1 && strcmp(sub, "add") == 0)
		cli_error("%s is already a local domain", name);
	else if (rc == 1 && strcmp(sub, "del") == 0)
		cli_error("%s is not a local domain", name);
	else if (!list)
		printf("%s %s\n", strcmp(sub, "add") == 0 ? "added" : "deleted", name);
	directory_close(&d);
	return rc == 0 ? 0 : 1;
}
