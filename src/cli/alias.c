/* alias: postern alias add|del|list
 *
 * An alias maps ADDRESS (local@domain, or @domain for a catch-all) to a
 * local user, another alias, or an address elsewhere (a forward: mail to
 * it goes out again, sealed with ARC); several targets make a list. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static int print_alias(void *arg, const char *address, const char *target,
		       int64_t unused)
{
	printf("%s\t%s\n", address, target);
	return 0;
}

/* "@domain" (catch-all) or a valid address; lower-cased in place. */
static bool alias_address_valid(char *a)
{
	if (a[0] == '@')
		return directory_domain_valid(a + 1);
	return directory_address_valid(a);
}

static int check_local(struct directory *d, const char *address)
{
	const char *domain = strchr(address, '@') + 1;
	int local = dir_domain_exists(d, domain);
	if (local == 0)
		cli_error("%s is not a local domain (postern domain add %s)",
			  domain, domain);
	return local == 1 ? 0 : -1;
}

/* A forward: the local part as given (RFC 5321 2.4: only the final host
 * may treat its case as insignificant), the domain lower-cased. */
static void keep_case(char *target, const char *given)
{
	memcpy(target, given, (size_t)(strrchr(target, '@') - target));
}

static int alias_add(struct directory *d, const char *address,
		     char *target, const char *given)
{
	if (check_local(d, address) < 0)
		return -1;
	int local = dir_domain_exists(d, strrchr(target, '@') + 1);
	if (local < 0) {
		cli_error("%s", directory_error(d));
		return -1;
	}
	if (local == 1 && dir_address_exists(d, target) != 1) {
		cli_error("%s is not a local user or alias", target);
		return -1;
	}
	if (local == 0 && address[0] == '@') {
		cli_error("a catch-all cannot forward elsewhere (every address "
			  "tried on %s would be sent on)", address + 1);
		return -1;
	}
	if (local == 0)
		keep_case(target, given);
	int rc = dir_alias_add(d, address, target);
	if (rc < 0)
		cli_error("%s", directory_error(d));
	else if (rc == 1)
		cli_error("%s already points to %s", address, target);
	else if (rc == 0)
		printf("added %s -> %s%s\n", address, target,
		       local ? "" : " (forwarded elsewhere)");
	return rc;
}

int cli_alias(struct cli *cli)
{
	const char *sub = cli->argc > 0 ? cli->argv[0] : "";
	char address[320] = "", target[320] = "";
	bool ok = (strcmp(sub, "add") == 0 && cli->argc == 3) ||
		  (strcmp(sub, "del") == 0 && (cli->argc == 2 || cli->argc == 3)) ||
		  (strcmp(sub, "list") == 0 && cli->argc <= 2);
	if (!ok) {
		fputs("usage: postern alias add ADDRESS TARGET | del ADDRESS "
		      "[TARGET] | list [DOMAIN]\n", stderr);
		return 2;
	}
	if (strcmp(sub, "list") != 0) {
		snprintf(address, sizeof(address), "%s", cli->argv[1]);
		if (cli->argc == 3)
			snprintf(target, sizeof(target), "%s", cli->argv[2]);
		if (!alias_address_valid(address) ||
		    (target[0] != '\0' && !directory_address_valid(target))) {
			cli_error("invalid address");
			return 2;
		}
	}
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	int rc;
	if (strcmp(sub, "list") == 0) {
		rc = dir_alias_list(d, cli->argc == 2 ? cli->argv[1] : NULL,
				    print_alias, NULL);
	} else if (strcmp(sub, "add") == 0) {
		rc = alias_add(d, address, target, cli->argv[2]);
	} else {
		rc = dir_alias_del(d, address, target[0] ? target : NULL);
		if (rc == 1)
			cli_error("no such alias");
		else if (rc == 0)
			printf("deleted %s\n", address);
	}
	if (rc < 0 && strcmp(sub, "add") != 0)
		cli_error("%s", directory_error(d));
	directory_close(&d);
	return rc == 0 ? 0 : 1;
}
