/* postern: a secure all-in-one mail server. This file only dispatches to
 * the command groups in src/cli/. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef POSTERN_VERSION
#define POSTERN_VERSION "0.1.0"
#endif

static const char default_config[] = "/etc/postern/postern.conf";

static const struct {
	const char *name;
	int (*run)(struct cli *cli);
} groups[] = {
	{"serve", cli_serve},   {"config", cli_config}, {"domain", cli_domain},
	{"user", cli_user},     {"alias", cli_alias},   {"token", cli_token},
	{"send", cli_send},     {"queue", cli_queue},   {"dkim", cli_dkim},
	{"dns", cli_dns},       {"check", cli_check},
};

static void usage(FILE *out)
{
	fputs("usage: postern [-c FILE] COMMAND ...\n"
	      "\n"
	      "  serve                         run the server in the foreground\n"
	      "  config check | reference      check the configuration; print "
	      "its reference\n"
	      "  domain add|del|list           local domains\n"
	      "  user add|del|list|passwd|quota  users (mailboxes)\n"
	      "  alias add|del|list            aliases and catch-alls\n"
	      "  token add|del|list            send-only tokens for sites and "
	      "devices\n"
	      "  send --server H:P --tls ...   submit a message from standard "
	      "input\n"
	      "  queue list|show|flush|hold|release|delete  the mail queue\n"
	      "  dkim keygen|list|rotate|revoke|delete|sign  DKIM keys\n"
	      "  dns [check] DOMAIN            the DNS records to publish (or check)\n"
	      "  check [--dns ADDR] < message  DKIM results of a message\n"
	      "  version                       print the version\n"
	      "\n"
	      "-c FILE (anywhere on the line) names the configuration; the default\n"
	      "is $POSTERN_CONFIG, else /etc/postern/postern.conf.\n",
	      out);
}

/* Take "-c FILE" / "--config FILE" out of argv, wherever it stands. */
static const char *take_config(int *argc, char **argv)
{
	const char *path = getenv("POSTERN_CONFIG");
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "-c") != 0 && strcmp(argv[i], "--config") != 0)
			continue;
		if (i + 1 >= *argc) {
			fputs("postern: -c needs a file\n", stderr);
			exit(2);
		}
		path = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], sizeof(*argv) * (size_t)(*argc - i - 1));
		*argc -= 2;
		i--;
	}
	return path != NULL && path[0] != '\0' ? path : default_config;
}

int main(int argc, char **argv)
{
	struct cli cli = {.config_path = take_config(&argc, argv)};
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("postern %s\n", POSTERN_VERSION);
		return 0;
	}
	cli.argc = argc - 2;
	cli.argv = argv + 2;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(argv[1], groups[i].name) == 0) {
			int rc = groups[i].run(&cli);
			if (cli.cfg_loaded)
				config_free(&cli.cfg);
			return rc;
		}
	fprintf(stderr, "postern: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
