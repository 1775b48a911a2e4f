/* config: postern config check | reference */
#include "cli/cli.h"

#include "net/tls.h"

#include <stdio.h>
#include <string.h>

static bool uses_tls(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].tls != LISTENER_TLS_NONE)
			return true;
	return false;
}

/* Everything serve would check before listening, short of binding. */
static int check(struct cli *cli)
{
	if (cli_load_config(cli) < 0)
		return 1;
	if (uses_tls(&cli->cfg)) {
		struct buf errors;
		buf_init(&errors, 0);
		struct tls_server *ts = tls_server_new(&cli->cfg, &errors);
		if (ts == NULL) {
			fputs(buf_cstr(&errors), stderr);
			buf_free(&errors);
			return 1;
		}
		tls_server_free(&ts);
		buf_free(&errors);
	}
	printf("%s: configuration OK (%zu listener%s)\n", cli->config_path,
	       cli->cfg.n_listeners, cli->cfg.n_listeners == 1 ? "" : "s");
	return 0;
}

int cli_config(struct cli *cli)
{
	const char *sub = cli->argc == 1 ? cli->argv[0] : "";
	if (strcmp(sub, "check") == 0)
		return check(cli);
	if (strcmp(sub, "reference") == 0) {
		struct buf out;
		buf_init(&out, 0);
		config_reference(&out);
		fputs(buf_cstr(&out), stdout);
		buf_free(&out);
		return 0;
	}
	fputs("usage: postern config check | reference\n", stderr);
	return 2;
}
