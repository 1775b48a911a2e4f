/* dns: postern dns DOMAIN -- the records a domain of ours must publish, in
 * zone-file form, ready to paste: MX, SPF, each published DKIM key, DMARC,
 * MTA-STS (its TXT record, and the policy file to serve over HTTPS) and
 * TLS-RPT. postern dns check DOMAIN asks DNS for each and says, line by
 * line, what is there, missing or different. */
#include "cli/cli.h"

#include "db/dkim.h"
#include "dkim/keys.h"
#include "net/dns.h"

#include <event2/event.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* The records a domain should publish, to print or to check. */
struct record {
	char owner[320];
	int type;    /* DNS_T_MX (text: the host) or DNS_T_TXT */
	char *text;
	char what[48];
};

struct records {
	struct record *r;
	size_t n, cap;
};

static int add(struct records *rs, const char *owner, int type,
	       const char *text, const char *what)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 16;
		struct record *r = realloc(rs->r, cap * sizeof(*r));
		if (r == NULL)
			return -1;
		rs->r = r;
		rs->cap = cap;
	}
	struct record *r = &rs->r[rs->n];
	snprintf(r->owner, sizeof(r->owner), "%s", owner);
	snprintf(r->what, sizeof(r->what), "%s", what);
	r->type = type;
	if ((r->text = strdup(text)) == NULL)
		return -1;
	rs->n++;
	return 0;
}

static void records_free(struct records *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i].text);
	free(rs->r);
}

/* Each key that is published: all but the retired ones. */
static int add_keys(struct directory *d, const char *domain,
		    struct records *rs)
{
	struct cli_keys ks;
	int rc = 0;
	if (cli_dkim_keys(d, domain, &ks) < 0)
		return -1;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < ks.n && rc == 0; i++) {
		const struct dir_dkim_key *k = &ks.k[i];
		enum dkim_key_state st = dkim_key_state(ks.k, ks.n, i, now);
		struct buf txt;
		char owner[512], what[48];
		const char *why;
		if (st == DKIM_KEY_RETIRED)
			continue;
		buf_init(&txt, 0);
		snprintf(owner, sizeof(owner), "%s._domainkey.%s", k->selector,
			 k->domain);
		snprintf(what, sizeof(what), "DKIM %s key, %s", k->algo,
			 dkim_key_state_name(st));
		rc = dkim_key_record(k, &txt, &why);
		if (rc < 0)
			cli_error("%s: %s", owner, why);
		else
			rc = add(rs, owner, DNS_T_TXT, buf_cstr(&txt), what);
		buf_free(&txt);
	}
	cli_dkim_keys_free(&ks);
	return rc;
}

/* The MTA-STS policy file (RFC 8461 3.2) for our MX, and its id: the
 * start of the file's SHA-256 in hex, so the id changes exactly when the
 * policy does (RFC 8461 3.1: senders refetch on a new id). */
static void mta_sts_policy(const struct config *cfg, char *text, size_t n,
			   char id[21])
{
	unsigned char md[32];
	unsigned len = 0;
	snprintf(text, n,
		 "version: STSv1\nmode: %s\nmx: %s\nmax_age: 604800\n",
		 cfg->dns_mta_sts_mode ? "enforce" : "testing", cfg->hostname);
	EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 10; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
}

static int collect(struct cli *cli, struct directory *d, const char *domain,
		   struct records *rs)
{
	char policy[1024], id[21];
	char owner[512], text[1024];
	if (add(rs, domain, DNS_T_MX, cli->cfg.hostname, "MX") < 0 ||
	    add(rs, domain, DNS_T_TXT, "v=spf1 mx -all", "SPF") < 0 ||
	    add_keys(d, domain, rs) < 0)
		return -1;
	snprintf(owner, sizeof(owner), "_dmarc.%s", domain);
	snprintf(text, sizeof(text),
		 "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s", domain);
	if (add(rs, owner, DNS_T_TXT, text, "DMARC") < 0)
		return -1;
	mta_sts_policy(&cli->cfg, policy, sizeof(policy), id);
	snprintf(owner, sizeof(owner), "_mta-sts.%s", domain);
	snprintf(text, sizeof(text), "v=STSv1; id=%s", id);
	if (add(rs, owner, DNS_T_TXT, text, "MTA-STS") < 0)
		return -1;
	snprintf(owner, sizeof(owner), "_smtp._tls.%s", domain);
	snprintf(text, sizeof(text), "v=TLSRPTv1; rua=mailto:postmaster@%s",
		 domain);
	return add(rs, owner, DNS_T_TXT, text, "TLS-RPT");
}

/* What the TXT record announces: a file to serve over HTTPS. */
static void print_policy(const char *domain, const char *policy)
{
	printf("; MTA-STS (RFC 8461): serve this file as "
	       "https://mta-sts.%s/.well-known/mta-sts.txt\n"
	       "; (mta-sts.%s needs an address and a certificate valid for "
	       "it), then publish the record below:\n",
	       domain, domain);
	for (const char *p = policy; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		printf(";   %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static void print_records(const char *domain, const char *policy,
			  const struct records *rs)
{
	bool dkim = false;
	printf("; the DNS records of %s\n", domain);
	for (size_t i = 0; i < rs->n; i++) {
		const struct record *r = &rs->r[i];
		if (r->type == DNS_T_MX) {
			printf("%s.\tIN MX\t10 %s.\n", r->owner, r->text);
			continue;
		}
		if (strncmp(r->what, "DKIM", 4) == 0) {
			printf("; %s\n", r->what);
			dkim = true;
		} else if (strcmp(r->what, "DMARC") == 0 && !dkim) {
			printf("; no DKIM key yet: postern dkim keygen %s\n", domain);
		} else if (strcmp(r->what, "MTA-STS") == 0) {
			print_policy(domain, policy);
		}
		print_txt(r->owner, r->text);
	}
}

static void print_with_policy(struct cli *cli, const char *domain,
			      const struct records *rs)
{
	char policy[1024], id[21];
	mta_sts_policy(&cli->cfg, policy, sizeof(policy), id);
	print_records(domain, policy, rs);
}

/* ------------------------------------------------------------ check */

enum verdict { V_OK, V_MISSING, V_DIFFERS, V_FAILED, V_DUPLICATE };

struct probe {
	const struct record *r;
	struct event_base *base;
	size_t *waiting;
	enum verdict v;
	char published[1024]; /* what is there instead */
};

/* s without blanks, for comparing records that differ only in spacing */
static void squeeze(const char *s, char *out, size_t n)
{
	size_t o = 0;
	for (; *s != '\0' && o + 1 < n; s++)
		if (*s != ' ' && *s != '\t')
			out[o++] = *s;
	out[o] = '\0';
}

/* s with each run of blanks made one space, none at the ends: spacing
 * around ";" is free, but "v=spf1mx-all" is not "v=spf1 mx -all". */
static void spaces(const char *s, char *out, size_t n)
{
	size_t o = 0;
	bool blank = false;
	for (; *s != '\0' && o + 2 < n; s++) {
		if (*s == ' ' || *s == '\t') {
			blank = o > 0;
			continue;
		}
		if (blank && *s != ';' && out[o - 1] != ';')
			out[o++] = ' ';
		blank = false;
		out[o++] = *s;
	}
	out[o] = '\0';
}

/* The p= of a key record, blanks out. */
static void key_of(const char *rec, char *out, size_t n)
{
	char sq[4096];
	squeeze(rec, sq, sizeof(sq));
	const char *p = strstr(sq, ";p=");
	snprintf(out, n, "%.*s", p ? (int)strcspn(p + 3, ";") : 0, p ? p + 3 : "");
}

/* Whether a published TXT record is the expected one: the same key for
 * DKIM (the other tags may be written differently), else the same text. */
static bool same_txt(const struct record *r, const char *got)
{
	char a[4096], b[4096];
	if (strncmp(r->what, "DKIM", 4) == 0) {
		key_of(r->text, a, sizeof(a));
		key_of(got, b, sizeof(b));
		return strcmp(a, b) == 0; /* base64: case counts */
	}
	spaces(r->text, a, sizeof(a));
	spaces(got, b, sizeof(b));
	return strcmp(a, b) == 0;
}

/* Whether got is a record of the kind r is: a DKIM key (v= is optional),
 * SPF ("v=spf1", any case, RFC 7208 4.5), else the same version tag,
 * exactly (DMARC1 and TLSRPTv1 are case-sensitive). */
static bool same_kind(const struct record *r, const char *got)
{
	if (strncmp(r->what, "DKIM", 4) == 0)
		return strstr(got, "p=") != NULL;
	if (strcmp(r->what, "SPF") == 0)
		return strncasecmp(got, "v=spf1", 6) == 0 &&
		       (got[6] == ' ' || got[6] == '\0');
	size_t kind = strcspn(r->text, ";");
	char a[64], b[64];
	snprintf(a, sizeof(a), "%.*s", (int)kind, r->text);
	snprintf(b, sizeof(b), "%.*s", (int)strcspn(got, ";"), got);
	squeeze(a, a, sizeof(a));
	squeeze(b, b, sizeof(b));
	return strcmp(a, b) == 0;
}

static void judge(struct probe *p, const struct dns_answer *a)
{
	size_t found = 0; /* records of the kind: more than one is wrong */
	p->v = V_MISSING;
	for (size_t i = 0; i < a->n; i++) {
		char text[4096];
		unsigned pref;
		if (p->r->type == DNS_T_MX) {
			if (dns_mx_decode(a->data[i], a->len[i], &pref, text) < 0)
				continue;
			if (strcasecmp(text, p->r->text) == 0)
				p->v = V_OK; /* one MX host of ours is enough */
			else if (p->v != V_OK)
				p->v = V_DIFFERS;
		} else {
			if (dns_txt_decode(a->data[i], a->len[i], text, sizeof(text)) < 0 ||
			    !same_kind(p->r, text))
				continue; /* another kind of record */
			if (++found > 1) { /* RFC 7208 4.5, RFC 7489 6.6.3 */
				p->v = V_DUPLICATE;
				return;
			}
			p->v = same_txt(p->r, text) ? V_OK : V_DIFFERS;
		}
		if (p->v == V_DIFFERS && p->published[0] == '\0') {
			size_t n = strnlen(text, sizeof(p->published) - 1);
			memcpy(p->published, text, n); /* enough to show */
			p->published[n] = '\0';
		}
	}
}

static void on_probe(void *arg, const struct dns_answer *a)
{
	struct probe *p = arg;
	if (a->status == DNS_OK)
		judge(p, a);
	else
		p->v = a->status == DNS_NODATA || a->status == DNS_NXDOMAIN
			       ? V_MISSING
			       : V_FAILED;
	if (--*p->waiting == 0)
		event_base_loopbreak(p->base);
}

static void report(const struct probe *p)
{
	static const char *const names[] = {"ok", "missing", "differs",
					    "no answer", "duplicate"};
	const struct record *r = p->r;
	printf("%-9s %s %s", names[p->v], r->owner,
	       r->type == DNS_T_MX ? "MX" : "TXT");
	if (strcmp(r->what, "MX") != 0)
		printf(" (%s)", r->what);
	if (p->v == V_DIFFERS)
		printf(": published \"%.200s\", expected \"%.200s\"", p->published,
		       r->text);
	else if (p->v == V_MISSING)
		printf(": publish \"%.200s%s\"", r->text,
		       strlen(r->text) > 200 ? "..." : "");
	putchar('\n');
}

/* postern dns check: ask for each record, say line by line what is
 * missing or differs. 0 when everything is there. */
static int dns_check(struct cli *cli, const char *server, struct records *rs)
{
	struct buf errors;
	buf_init(&errors, 0);
	if (server != NULL) {
		free(cli->cfg.dns_resolver);
		cli->cfg.dns_resolver = strdup(server);
	}
	struct event_base *base = event_base_new();
	struct dns *dns = base != NULL && cli->cfg.dns_resolver != NULL
				  ? dns_new(base, &cli->cfg, &errors)
				  : NULL;
	struct probe *p = calloc(rs->n ? rs->n : 1, sizeof(*p));
	size_t waiting = 1;
	int rc = -1;
	if (dns == NULL || p == NULL) {
		cli_error("no resolver: %s", buf_cstr(&errors));
		goto out;
	}
	for (size_t i = 0; i < rs->n; i++) {
		p[i] = (struct probe){&rs->r[i], base, &waiting, V_FAILED, ""};
		if (dns_query(dns, rs->r[i].owner, rs->r[i].type, on_probe, &p[i]) == 0)
			waiting++;
	}
	if (--waiting > 0)
		event_base_dispatch(base);
	rc = 0;
	for (size_t i = 0; i < rs->n; i++) {
		report(&p[i]);
		if (p[i].v != V_OK)
			rc = -1;
	}
out:
	free(p);
	dns_free(&dns);
	if (base != NULL)
		event_base_free(base);
	buf_free(&errors);
	return rc;
}

int cli_dns(struct cli *cli)
{
	bool checking = cli->argc >= 2 && strcmp(cli->argv[0], "check") == 0;
	const char *dns = cli_option(cli, 2, "--dns");
	if (cli->argc != (checking ? (dns ? 4 : 2) : 1)) {
		fputs("usage: postern dns DOMAIN\n"
		      "       postern dns check DOMAIN [--dns ADDRESS]\n",
		      stderr);
		return 2;
	}
	char domain[DIR_ADDRESS_MAX + 1];
	snprintf(domain, sizeof(domain), "%s", cli->argv[checking ? 1 : 0]);
	if (!directory_domain_valid(domain)) {
		cli_error("'%s' is not a domain", cli->argv[checking ? 1 : 0]);
		return 2;
	}
	struct directory *d = cli_open_directory(cli);
	if (d == NULL)
		return 1;
	struct records rs = {0};
	int rc = dir_domain_exists(d, domain) == 1 ? 0 : -1;
	if (rc < 0)
		cli_error("%s is not one of our domains (postern domain add)", domain);
	else
		rc = collect(cli, d, domain, &rs);
	directory_close(&d);
	if (rc == 0 && checking)
		rc = dns_check(cli, dns, &rs);
	else if (rc == 0)
		print_with_policy(cli, domain, &rs);
	records_free(&rs);
	return rc == 0 ? 0 : 1;
}
