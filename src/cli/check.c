/* check: postern check [--dns ADDR] [--ip IP [--helo NAME]
 * [--mail-from ADDR]] < message -- the authentication results of a
 * message file, as a receiving Postern would find them, printed one method
 * per line in Authentication-Results form (RFC 8601): each DKIM signature,
 * with --ip SPF for the MAIL FROM and HELO identities, DMARC, and the ARC
 * chain (RFC 8617) when the message carries one. Exit 0 when a
 * DKIM signature or SPF for MAIL FROM passes, 1 when none does, 2 on usage.
 *
 * DNS goes to the configured resolver, or to --dns (an address, IP@port
 * possible; then no configuration file is needed). */
#include "cli/cli.h"

#include "authcheck/spfdns.h"
#include "dkim/lookup.h"
#include "mailauth/authres.h"
#include "mailauth/dmarc.h"
#include "mailauth/verify.h"
#include "net/dns.h"

#include <event2/event.h>
#include <libpsl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { MESSAGE_MAX = 64 * 1024 * 1024 };

struct check {
	struct dkim_verify *v;
	struct arc_verify *arc;
	size_t waiting; /* answers and checks not in yet */
	struct event_base *base;
	struct spf_run *spf[2]; /* MAIL FROM, HELO */
	const char *identity[2];
	struct dmarc *dmarc;
	struct dns *dns;
};

struct key_query {
	struct check *c;
	size_t i;
	bool arc;
};

static struct key_query queries[DKIM_VERIFY_MAX];
static struct key_query arc_queries[ARC_KEYS_MAX];

static void one_less(struct check *c)
{
	if (--c->waiting == 0)
		event_base_loopbreak(c->base);
}

static void key_answer(void *arg, const struct dns_answer *a)
{
	struct key_query *q = arg;
	if (q->arc)
		arc_key_answer(q->c->arc, q->i, a);
	else
		dkim_key_answer(q->c->v, q->i, a);
	one_less(q->c);
}

static void ask_dmarc(struct check *c);

static void dmarc_txt(void *arg, const struct dns_answer *a)
{
	struct check *c = arg;
	static char text[DNS_RECORDS_MAX][4096];
	const char *txt[DNS_RECORDS_MAX];
	size_t n = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++)
		if (dns_txt_decode(a->data[i], a->len[i], text[n], sizeof(text[n])) == 0)
			txt[n] = text[n], n++;
	dmarc_answer(c->dmarc, a->status == DNS_OK ? DMARC_DNS_OK
			       : a->status == DNS_NODATA || a->status == DNS_NXDOMAIN
				       ? DMARC_DNS_NONE
				       : DMARC_DNS_TEMPFAIL,
		     txt, n);
	ask_dmarc(c);
	one_less(c);
}

/* The From domain's DMARC record, then its organisational domain's. */
static void ask_dmarc(struct check *c)
{
	const char *name;
	if (dmarc_next(c->dmarc, &name) != 1)
		return;
	c->waiting++;
	if (dns_query(c->dns, name, DNS_T_TXT, dmarc_txt, c) < 0) {
		c->waiting--;
		dmarc_answer(c->dmarc, DMARC_DNS_TEMPFAIL, NULL, 0);
	}
}

static void spf_done(void *arg, struct spf_run *run)
{
	one_less(arg);
}

/* SPF for --mail-from (unless empty) and --helo, from --ip. */
static int start_spf(struct check *c, struct dns *dns, struct cli *cli)
{
	const char *ip = cli_option(cli, 0, "--ip");
	const char *helo = cli_option(cli, 0, "--helo");
	const char *from = cli_option(cli, 0, "--mail-from");
	struct spf_request req = {.helo = helo ? helo : "", .receiver = cli->cfg.hostname,
				  .now = (int64_t)time(NULL)};
	if (ip == NULL)
		return 0;
	if (spf_set_ip(&req, ip) < 0) {
		cli_error("--ip: '%s' is not an IP address", ip);
		return -1;
	}
	const char *at = from != NULL ? strrchr(from, '@') : NULL;
	for (int w = 0; w < 2; w++) {
		if ((w == 0 && at == NULL) || (w == 1 && helo == NULL))
			continue;
		req.sender = w == 0 ? from : "";
		req.domain = w == 0 ? at + 1 : helo;
		c->identity[w] = w == 0 ? from : helo;
		c->waiting++;
		if ((c->spf[w] = spf_run_start(dns, &req, spf_done, c)) == NULL)
			c->waiting--;
	}
	return 0;
}

/* Ask for every key and run SPF, all at once, and wait for the answers. */
static int lookups(struct check *c, struct cli *cli)
{
	struct buf errors;
	buf_init(&errors, 0);
	c->base = event_base_new();
	struct dns *dns = c->base ? dns_new(c->base, &cli->cfg, &errors) : NULL;
	int rc = -1;
	if (dns == NULL) {
		cli_error("no resolver: %s", buf_cstr(&errors));
		goto out;
	}
	c->waiting = 1; /* held while asking */
	for (size_t i = 0; i < dkim_verify_count(c->v); i++) {
		const char *name = dkim_verify_key_name(c->v, i);
		queries[i] = (struct key_query){c, i, false};
		if (name != NULL && dns_query(dns, name, DNS_T_TXT, key_answer,
					      &queries[i]) == 0)
			c->waiting++;
	}
	for (size_t k = 0; k < arc_verify_lookups(c->arc); k++) {
		arc_queries[k] = (struct key_query){c, k, true};
		if (dns_query(dns, arc_verify_key_name(c->arc, k), DNS_T_TXT,
			      key_answer, &arc_queries[k]) == 0)
			c->waiting++;
	}
	rc = start_spf(c, dns, cli);
	c->dns = dns;
	ask_dmarc(c);
	if (--c->waiting > 0)
		event_base_dispatch(c->base);
out:
	dns_free(&dns);
	if (c->base)
		event_base_free(c->base);
	buf_free(&errors);
	return rc;
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

static void print_spf(const struct check *c)
{
	static const char *const property[] = {"smtp.mailfrom", "smtp.helo"};
	for (int w = 0; w < 2; w++) {
		if (c->spf[w] == NULL)
			continue;
		const struct spf *s = spf_run_check(c->spf[w]);
		printf("spf=%s", spf_result_name(spf_result(s)));
		if (spf_result(s) != SPF_PASS && spf_reason(s)[0] != '\0')
			printf(" (%s)", spf_reason(s));
		printf(" %s=%s\n", property[w], c->identity[w]);
		if (spf_explanation(s)[0] != '\0')
			printf("  explanation: %s\n", spf_explanation(s));
	}
}

/* The chain, when there is one. */
static void print_arc(const struct arc_verify *v)
{
	const struct arc_verified *a = arc_verify_result(v);
	if (a->result == ARC_PASS)
		printf("arc=pass (i=%u d=%s)\n", a->sets, a->d);
	else if (a->result == ARC_FAIL)
		printf("arc=fail (%s)\n", a->reason ? a->reason : "");
}

/* DMARC from the results: SPF of MAIL FROM, else of HELO. */
static void print_dmarc(struct check *c)
{
	int w = c->spf[0] != NULL ? 0 : 1;
	const char *id = c->identity[w] ? c->identity[w] : "";
	const char *at = strrchr(id, '@');
	struct dmarc_spf spf = {c->spf[w] ? spf_result(spf_run_check(c->spf[w]))
					   : SPF_NONE,
				at ? at + 1 : id};
	dmarc_evaluate(c->dmarc, c->v, &spf);
	enum dmarc_result r = dmarc_result(c->dmarc);
	printf("dmarc=%s", dmarc_result_name(r));
	if ((r == DMARC_PASS || r == DMARC_FAIL) && dmarc_domain(c->dmarc)[0])
		printf(" (p=%s)", dmarc_policy_name(dmarc_published(c->dmarc)));
	else if (dmarc_reason(c->dmarc)[0] != '\0')
		printf(" (%s)", dmarc_reason(c->dmarc));
	if (dmarc_domain(c->dmarc)[0] != '\0')
		printf(" header.from=%s", dmarc_domain(c->dmarc));
	putchar('\n');
}

/* DMARC decides when the domain publishes a policy; otherwise a DKIM
 * signature or SPF for MAIL FROM passing does. */
static bool passed(const struct check *c)
{
	enum dmarc_result r = dmarc_result(c->dmarc);
	if (r == DMARC_PASS || r == DMARC_FAIL)
		return r == DMARC_PASS;
	for (size_t i = 0; i < dkim_verify_count(c->v); i++)
		if (dkim_verify_result(c->v, i)->result == DKIM_PASS)
			return true;
	return c->spf[0] != NULL &&
	       spf_result(spf_run_check(c->spf[0])) == SPF_PASS;
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
	static const char *const options[] = {"--dns", "--ip", "--helo",
					      "--mail-from"};
	int given = 0;
	for (size_t i = 0; i < sizeof(options) / sizeof(*options); i++)
		given += cli_option(cli, 0, options[i]) != NULL;
	if (cli->argc != 2 * given) {
		fputs("usage: postern check [--dns ADDRESS] [--ip IP [--helo NAME] "
		      "[--mail-from ADDRESS]] < message\n",
		      stderr);
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
	psl_ctx_t *psl = psl_load_file(cli->cfg.dmarc_public_suffix_list);
	struct check c = {.v = dkim_verify_new(msg.data, hdr_len,
					       (int64_t)time(NULL)),
			  .arc = arc_verify_new(msg.data, hdr_len),
			  .dmarc = dmarc_new(psl ? psl : psl_builtin(), msg.data,
					     hdr_len)};
	int rc = 1;
	if (c.v != NULL && c.arc != NULL && c.dmarc != NULL &&
	    lookups(&c, cli) == 0) {
		dkim_verify_body(c.v, msg.data + body, msg.len - body);
		dkim_verify_finish(c.v);
		arc_verify_body(c.arc, msg.data + body, msg.len - body);
		arc_verify_finish(c.arc);
		print_dkim(c.v);
		print_spf(&c);
		print_dmarc(&c);
		print_arc(c.arc);
		rc = passed(&c) ? 0 : 1;
	}
	dkim_verify_free(&c.v);
	arc_verify_free(&c.arc);
	dmarc_free(&c.dmarc);
	psl_free(psl);
	dkim_key_cache_clear();
	for (int w = 0; w < 2; w++)
		spf_run_abandon(c.spf[w]);
	buf_free(&msg);
	return rc;
}
