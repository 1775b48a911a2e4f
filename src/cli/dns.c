/* dns: postern dns DOMAIN -- the records a domain of ours must publish, in
 * zone-file form, ready to paste: MX, SPF, each published DKIM key, DMARC
 * and TLS-RPT. */
#include "cli/cli.h"

#include "db/dkim.h"
#include "dkim/keys.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum { TXT_STRING_MAX = 255 };

/* A TXT record's text as zone-file strings: RFC 1035 3.3.14 allows 255
 * bytes per string, a 2048-bit RSA key needs two. */
static void print_txt(const char *owner, const char *text)
{
	size_t n = strlen(text);
	if (n <= TXT_STRING_MAX) {
		printf("%s.\tIN TXT\t\"%s\"\n", owner, text);
		return;
	}
	printf("%s.\tIN TXT\t(", owner);
	for (size_t i = 0; i < n; i += TXT_STRING_MAX)
		printf(" \"%.*s\"", (int)(n - i < TXT_STRING_MAX ? n - i : TXT_STRING_MAX),
		       text + i);
	printf(" )\n");
}

/* Each key that is published: all but the retired ones. */
static int print_keys(struct directory *d, const char *domain)
{
	struct cli_keys ks;
	int rc = 0;
	if (cli_dkim_keys(d, domain, &ks) < 0)
		return -1;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < ks.n; i++) {
		const struct dir_dkim_key *k = &ks.k[i];
		enum dkim_key_state st = dkim_key_state(ks.k, ks.n, i, now);
		struct buf txt;
		char owner[512];
		const char *why;
		if (st == DKIM_KEY_RETIRED)
			continue;
		buf_init(&txt, 0);
		snprintf(owner, sizeof(owner), "%s._domainkey.%s", k->selector,
			 k->domain);
		if (dkim_key_record(k, &txt, &why) < 0) {
			cli_error("%s: %s", owner, why);
			rc = -1;
		} else {
			printf("; DKIM %s key, %s\n", k->algo, dkim_key_state_name(st));
			print_txt(owner, buf_cstr(&txt));
		}
		buf_free(&txt);
	}
	if (ks.n == 0)
		printf("; no DKIM key yet: postern dkim keygen %s\n", domain);
	cli_dkim_keys_free(&ks);
	return rc;
}

static int print_records(struct cli *cli, struct directory *d,
			 const char *domain)
{
	const struct config *cfg = &cli->cfg;
	char owner[512], text[1024];
	printf("; the DNS records of %s\n", domain);
	printf("%s.\tIN MX\t10 %s.\n", domain, cfg->hostname);
	snprintf(text, sizeof(text), "v=spf1 mx -all");
	print_txt(domain, text);
	int rc = print_keys(d, domain);
	snprintf(owner, sizeof(owner), "_dmarc.%s", domain);
	snprintf(text, sizeof(text),
		 "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s", domain);
	print_txt(owner, text);
	snprintf(owner, sizeof(owner), "_smtp._tls.%s", domain);
	snprintf(text, sizeof(text), "v=TLSRPTv1; rua=mailto:postmaster@%s",
		 domain);
	print_txt(owner, text);
	return rc;
}

int cli_dns(struct cli *cli)
{
	if (cli->argc != 1) {
		fputs("usage: postern dns DOMAIN\n", stderr);
		return 2;
	}
	char domain[DIR_ADDRESS_MAX + 1];
	snprintf(domain, sizeof(domain), "%s", cli->argv[0]);
	if (!directory_domain_valid(domain)) {
		cli_error("'%s' is not a domain", cli->argv[0]);
		return 2;
	}
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	int rc = dir_domain_exists(d, domain) == 1 ? 0 : -1;
	if (rc < 0)
		cli_error("%s is not one of our domains (postern domain add)", domain);
	else
		rc = print_records(cli, d, domain);
	directory_close(&d);
	return rc == 0 ? 0 : 1;
}
