/* domain: postern domain add|del|list|set
 *
 *   postern domain set NAME dmarc reject|quarantine|none|default
 *   postern domain set NAME dmarc-forwarders "192.0.2.0/24 2001:db8::/32"
 *
 * set changes what the domain does with mail that fails DMARC (see
 * db/directory.h); a running server sees it with the next message. */
#include "cli/cli.h"

#include "lib/netaddr.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int print_domain(void *arg, const char *name, const char *settings,
			int64_t users)
{
	printf("%s\t%" PRId64 " user%s%s%s\n", name, users, users == 1 ? "" : "s",
	       settings[0] ? "\t" : "", settings);
	return 0;
}

/* The value of a setting, checked: NULL (an error said) when invalid. */
static const char *setting_value(const char *key, const char *value)
{
	static const char *const actions[] = {"reject", "quarantine", "none",
					      "default"};
	const char *bad = NULL;
	if (strcmp(key, "dmarc") == 0) {
		for (size_t i = 0; i < sizeof(actions) / sizeof(*actions); i++)
			if (strcmp(value, actions[i]) == 0)
				return i == 3 ? "" : value;
		cli_error("dmarc is reject, quarantine, none or default");
	} else if (strcmp(key, "dmarc-forwarders") == 0) {
		if (strlen(value) >= DIR_FORWARDERS_MAX)
			cli_error("dmarc-forwarders: too long");
		else if (netaddr_in_networks("", value, &bad) < 0)
			cli_error("dmarc-forwarders: '%.*s' is not an address "
				  "or network", (int)strcspn(bad, " \t,"), bad);
		else
			return value;
	} else {
		cli_error("unknown setting %s (dmarc, dmarc-forwarders)", key);
	}
	return NULL;
}

static int domain_set(struct cli *cli, const char *name)
{
	const char *key = cli->argv[2];
	const char *value = setting_value(key, cli->argv[3]);
	if (value == NULL)
		return 2;
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	bool action = strcmp(key, "dmarc") == 0;
	int rc = dir_domain_dmarc_set(d, name, action ? value : NULL,
				      action ? NULL : value);
	if (rc < 0)
		cli_error("%s", directory_error(d));
	else if (rc == 1)
		cli_error("%s is not a local domain", name);
	else
		printf("%s: %s = %s\n", name, key, value[0] ? value : "default");
	directory_close(&d);
	return rc == 0 ? 0 : 1;
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
	bool set = strcmp(sub, "set") == 0 && cli->argc == 4;
	if (!list && !set &&
	    (cli->argc != 2 ||
	     (strcmp(sub, "add") != 0 && strcmp(sub, "del") != 0))) {
		fputs("usage: postern domain add NAME | del NAME | list | set NAME "
		      "dmarc|dmarc-forwarders VALUE\n",
		      stderr);
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
	if (set)
		return domain_set(cli, name);
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
