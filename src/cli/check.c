/* check: postern check [--dns ADDR] < message -- the authentication
 * results of a message file, as a receiving Postern would find them,
 * printed one method per line in Authentication-Results form (RFC 8601).
 * Exit 0 when a DKIM signature passes, 1 when none does, 2 on usage.
 *
 * Keys are looked up through the configured resolver, or --dns (an
 * address, IP@port possible; then no configuration file is needed). */
#include "cli/cli.h"

#include "dkim/lookup.h"
#include "mailauth/authres.h"
#include "mailauth/verify.h"
#include "net/dns.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { MESSAGE_MAX = 64 * 1024 * 1024 };

struct check {
	struct dkim_verify *v;
	size_t waiting; /* key lookups not answered yet */
	struct event_base *base;
};

struct key_query {
	struct check *c;
	size_t i;
};

static struct key_query queries[DKIM_VERIFY_MAX];

static void key_answer(void *arg, const struct dns_answer *a)
{
	struct key_query *q = arg;
	dkim_key_answer(q->c->v, q->i, a);
	if (--q->c->waiting == 0)
		event_base_loopbreak(q->c->base);
}

/* Ask for every key at once and wait for the answers. */
static int fetch_keys(struct check *c, const struct config *cfg)
{
	struct buf errors;
	buf_init(&errors, 0);
	c->base = event_base_new();
	struct dns *dns = c->base ? dns_new(c->base, cfg, &errors) : NULL;
	if (dns == NULL) {
		cli_error("no resolver: %s", buf_cstr(&errors));
		buf_free(&errors);
		if (c->base)
			event_base_free(c->base);
		return -1;
	}
	for (size_t i = 0; i < dkim_verify_count(c->v); i++) {
		const char *name = dkim_verify_key_name(c->v, i);
		queries[i] = (struct key_query){c, i};
		if (name != NULL && dns_query(dns, name, DNS_T_TXT, key_answer,
					      &queries[i]) == 0)
			c->waiting++;
	}
	if (c->waiting > 0)
		event_base_dispatch(c->base);
	dns_free(&dns);
	event_base_free(c->base);
	buf_free(&errors);
	return 0;
}

/* Each result as Authentication-Results would say it, a line each. */
static void print_dkim(const struct dkim_verify *v)
{
	struct buf b;
	buf_init(&b, 0);
	if (authres_add_dkim(&b, v) == 0) {
		const char *p = buf_cstr(&b), *sep;
		while ((sep = strstr(p, ";\n\t")) != NULL) {
			if (sep > p)
				printf("%.*s\n", (int)(sep - p), p);
			p = sep + 3;
		}
		printf("%s\n", p);
	}
	buf_free(&b);
}

static bool dkim_passed(const struct dkim_verify *v)
{
	for (size_t i = 0; i < dkim_verify_count(v); i++)
		if (dkim_verify_result(v, i)->result == DKIM_PASS)
			return true;
	return false;
}

/* The configuration to resolve with: --dns ADDR needs none. */
static int resolver_config(struct cli *cli, const char *dns)
{
	if (dns == NULL)
		return cli_load_config(cli);
	config_defaults(&cli->cfg);
	cli->cfg_loaded = true;
	free(cli->cfg.dns_resolver);
	free(cli->cfg.dns_trust_anchor);
	cli->cfg.dns_resolver = strdup(dns);
	cli->cfg.dns_trust_anchor = strdup("");
	return cli->cfg.dns_resolver && cli->cfg.dns_trust_anchor ? 0 : -1;
}

int cli_check(struct cli *cli)
{
	const char *dns = cli_option(cli, 0, "--dns");
	if (cli->argc != (dns != NULL ? 2 : 0)) {
		fputs("usage: postern check [--dns ADDRESS] < message\n", stderr);
		return 2;
	}
	if (resolver_config(cli, dns) < 0)
		return 1;
	struct buf msg;
	bool crlf;
	buf_init(&msg, MESSAGE_MAX);
	if (cli_read_message(&msg, &crlf) < 0 || msg.len == 0) {
		cli_error(msg.len == 0 ? "no message on standard input"
				       : "the message is too large");
		buf_free(&msg);
		return 1;
	}
	size_t hdr_len, body = cli_message_body(&msg, &hdr_len);
	struct check c = {.v = dkim_verify_new(msg.data, hdr_len,
					       (int64_t)time(NULL))};
	int rc = 1;
	if (c.v != NULL && fetch_keys(&c, &cli->cfg) == 0) {
		dkim_verify_body(c.v, msg.data + body, msg.len - body);
		dkim_verify_finish(c.v);
		print_dkim(c.v);
		rc = dkim_passed(c.v) ? 0 : 1;
	}
	dkim_verify_free(&c.v);
	buf_free(&msg);
	return rc;
}
