/* route: MX and address resolution for outbound delivery. */
#include "mta/route.h"

#include "lib/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lookup {
	struct route_result *r;
	struct route_query q;
	unsigned pending; /* queries not yet answered */
	unsigned sts_pending; /* MTA-STS queries, asked alongside */
	bool done;            /* the rest is answered: report when those are */
	route_done_fn *fn;
	void *arg;
	struct dns *dns;
};

struct addr_query {
	struct lookup *l;
	size_t host;
};

void route_free(struct route_result **rp)
{
	struct route_result *r = *rp;
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_hosts; i++)
		for (size_t k = 0; k < r->hosts[i].n_tlsa; k++)
			free(r->hosts[i].tlsa[k].data);
	free(r);
	*rp = NULL;
}

static void deliver(struct lookup *l)
{
	if (l->sts_pending > 0) {
		l->done = true; /* the last MTA-STS answer reports */
		return;
	}
	l->fn(l->arg, l->r);
	free(l);
}

/* Keep the hosts that have addresses; fail when none has. */
static void settle(struct lookup *l)
{
	struct route_result *r = l->r;
	if (r->status == ROUTE_OK) {
		/* keep the hosts that have addresses, in order */
		size_t k = 0;
		bool temp = false;
		for (size_t i = 0; i < r->n_hosts; i++) {
			temp = temp || r->hosts[i].tempfail;
			if (r->hosts[i].n_addrs > 0) {
				if (k != i)
					r->hosts[k] = r->hosts[i];
				k++;
			}
		}
		r->n_hosts = k;
		if (k == 0 && r->implicit && !temp) {
			r->status = ROUTE_PERM;
			snprintf(r->enhanced, sizeof(r->enhanced), "5.1.2");
			snprintf(r->why, sizeof(r->why),
				 "the domain has no mail server (no MX, A or "
				 "AAAA record)");
		} else if (k == 0) {
			r->status = ROUTE_TEMP;
			snprintf(r->enhanced, sizeof(r->enhanced), "4.4.3");
			snprintf(r->why, sizeof(r->why),
				 "no address found for the mail servers%s",
				 temp ? " (DNS lookup failed)" : "");
		}
	}
}

static void lookup_tlsa(struct lookup *l);

/* Every address question is answered. */
static void finish(struct lookup *l)
{
	settle(l);
	if (l->r->status == ROUTE_OK && l->q.tlsa)
		lookup_tlsa(l);
	else
		deliver(l);
}

static void add_addr(struct lookup *l, struct route_host *h, int family,
		     const unsigned char *rd, size_t len)
{
	if (h->n_addrs >= ROUTE_ADDRS_MAX)
		return;
	struct sockaddr_storage *ss = &h->addr[h->n_addrs];
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET && len == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)l->q.port);
		memcpy(&a->sin_addr, rd, 4);
		h->addr_len[h->n_addrs++] = sizeof(*a);
	} else if (family == AF_INET6 && len == 16) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)l->q.port);
		memcpy(&a->sin6_addr, rd, 16);
		h->addr_len[h->n_addrs++] = sizeof(*a);
	}
}

static void on_addr(void *arg, const struct dns_answer *a, int family)
{
	struct addr_query *q = arg;
	struct lookup *l = q->l;
	struct route_host *h = &l->r->hosts[q->host];
	bool answered = a->status == DNS_OK || a->status == DNS_NODATA ||
			a->status == DNS_NXDOMAIN;
	/* only an answer that validated as insecure makes the host insecure;
	 * a forged (bogus) one must not switch DANE off (RFC 7672 2.2) */
	if (answered && !a->secure)
		h->addr_insecure = true;
	if (a->status == DNS_BOGUS && l->q.tlsa)
		h->tlsa_state = TLSA_FAILED;
	if (a->status == DNS_OK)
		for (size_t i = 0; i < a->n; i++)
			add_addr(l, h, family, a->data[i], a->len[i]);
	else if (a->status == DNS_TEMPFAIL || a->status == DNS_BOGUS)
		h->tempfail = true;
	free(q);
	if (--l->pending == 0)
		finish(l);
}

static void on_a(void *arg, const struct dns_answer *a)
{
	on_addr(arg, a, AF_INET);
}

static void on_aaaa(void *arg, const struct dns_answer *a)
{
	on_addr(arg, a, AF_INET6);
}

static void ask(struct lookup *l, size_t host, int type, dns_done_fn *fn)
{
	struct addr_query *q = malloc(sizeof(*q));
	if (q == NULL) {
		l->r->hosts[host].tempfail = true;
		return;
	}
	q->l = l;
	q->host = host;
	l->pending++;
	if (dns_query(l->dns, l->r->hosts[host].name, type, fn, q) < 0) {
		l->pending--;
		l->r->hosts[host].tempfail = true;
		free(q);
	}
}

/* Ask for every host's addresses; finish when all are answered. */
static void lookup_addresses(struct lookup *l)
{
	l->pending = 1; /* held until every query is out */
	for (size_t i = 0; i < l->r->n_hosts; i++) {
		if (l->q.ipv6)
			ask(l, i, DNS_T_AAAA, on_aaaa);
		ask(l, i, DNS_T_A, on_a);
	}
	if (--l->pending == 0)
		finish(l);
}

/* ------------------------------------------------------------ TLSA */

int route_tlsa_decode(const unsigned char *rd, size_t len,
		      struct route_tlsa *t)
{
	memset(t, 0, sizeof(*t));
	if (len < 4 || len - 3 > ROUTE_TLSA_DATA_MAX)
		return -1;
	t->usage = rd[0];
	t->selector = rd[1];
	t->mtype = rd[2];
	t->len = len - 3;
	/* RFC 7672 3.1: PKIX-TA(0) and PKIX-EE(1) are not for SMTP; a digest
	 * of the wrong length could never match */
	bool usable = (t->usage == 2 || t->usage == 3) && t->selector <= 1 &&
		      (t->mtype == 0 || (t->mtype == 1 && t->len == 32) ||
		       (t->mtype == 2 && t->len == 64));
	if (!usable)
		return 0;
	t->data = malloc(t->len);
	if (t->data == NULL)
		return -1;
	memcpy(t->data, rd + 3, t->len);
	return 1;
}

static void on_tlsa(void *arg, const struct dns_answer *a)
{
	struct addr_query *q = arg;
	struct lookup *l = q->l;
	struct route_host *h = &l->r->hosts[q->host];
	bool answered = a->status == DNS_OK || a->status == DNS_NODATA ||
			a->status == DNS_NXDOMAIN;
	/* RFC 7672 2.2: an insecure answer means no DANE; a failed or bogus
	 * one means this host must not be used */
	if (!answered)
		h->tlsa_state = TLSA_FAILED;
	else if (!a->secure)
		h->tlsa_state = TLSA_NOT_ASKED;
	else if (a->status != DNS_OK)
		h->tlsa_state = TLSA_NONE;
	else
		h->tlsa_state = TLSA_UNUSABLE;
	for (size_t i = 0; answered && a->secure && i < a->n; i++) {
		struct route_tlsa t;
		int rc = route_tlsa_decode(a->data[i], a->len[i], &t);
		if (rc == 1 && h->n_tlsa < ROUTE_TLSA_MAX)
			h->tlsa[h->n_tlsa++] = t;
		else
			free(t.data);
	}
	if (h->tlsa_state == TLSA_UNUSABLE && h->n_tlsa > 0)
		h->tlsa_state = TLSA_USABLE;
	free(q);
	if (--l->pending == 0)
		deliver(l);
}

/* Ask for the TLSA records of every host whose addresses are secure. */
static void lookup_tlsa(struct lookup *l)
{
	l->pending = 1;
	for (size_t i = 0; i < l->r->n_hosts; i++) {
		struct route_host *h = &l->r->hosts[i];
		char name[DNS_NAME_MAX + 32];
		if (h->addr_insecure || h->tlsa_state == TLSA_FAILED)
			continue;
		snprintf(name, sizeof(name), "_%u._tcp.%s", l->q.port, h->name);
		struct addr_query *q = malloc(sizeof(*q));
		if (q == NULL || strlen(name) > DNS_NAME_MAX) {
			h->tlsa_state = TLSA_FAILED;
			free(q);
			continue;
		}
		q->l = l;
		q->host = i;
		l->pending++;
		if (dns_query(l->dns, name, DNS_T_TLSA, on_tlsa, q) < 0) {
			l->pending--;
			h->tlsa_state = TLSA_FAILED;
			free(q);
		}
	}
	if (--l->pending == 0)
		deliver(l);
}

/* ------------------------------------------------------------ MTA-STS */

static void sts_answered(struct lookup *l)
{
	if (--l->sts_pending == 0 && l->done)
		deliver(l);
}

/* RFC 8461 3.1: exactly one STSv1 record, or there is no policy to find */
static void on_sts_txt(void *arg, const struct dns_answer *a)
{
	struct lookup *l = arg;
	struct route_sts *st = &l->r->sts;
	int found = 0, records = 0;
	char id[STS_ID_MAX + 1], text[512];
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++) {
		if (dns_txt_decode(a->data[i], a->len[i], text, sizeof(text)) < 0)
			continue;
		int rc = sts_txt_parse(text, id);
		records += rc != 0;
		if (rc == 1 && found++ == 0)
			memcpy(st->id, id, sizeof(id));
	}
	st->txt = a->status == DNS_TEMPFAIL || a->status == DNS_BOGUS ? -1
		: records == 1 && found == 1			  ? 1
								  : 0;
	sts_answered(l);
}

static void on_sts_addr(void *arg, const struct dns_answer *a, int family)
{
	struct lookup *l = arg;
	struct route_sts *st = &l->r->sts;
	size_t want = family == AF_INET ? 4 : 16;
	if (a->status == DNS_OK && a->n > 0 && a->len[0] == want &&
	    (st->addr_len == 0 || family == AF_INET6)) {
		struct route_host tmp = {.n_addrs = 0};
		add_addr(l, &tmp, family, a->data[0], a->len[0]);
		st->addr = tmp.addr[0];
		st->addr_len = tmp.addr_len[0];
		/* port 443 is RFC 8461 3.3's; the fetcher sets it */
	}
	sts_answered(l);
}

static void on_sts_a(void *arg, const struct dns_answer *a)
{
	on_sts_addr(arg, a, AF_INET);
}

static void on_sts_aaaa(void *arg, const struct dns_answer *a)
{
	on_sts_addr(arg, a, AF_INET6);
}

static void sts_ask(struct lookup *l, const char *name, int type,
		    dns_done_fn *fn)
{
	l->sts_pending++;
	if (dns_query(l->dns, name, type, fn, l) < 0) {
		l->sts_pending--;
		if (type == DNS_T_TXT)
			l->r->sts.txt = -1;
	}
}

/* Ask, next to the MX records, what MTA-STS needs. */
static void lookup_sts(struct lookup *l, const char *domain)
{
	char name[DNS_NAME_MAX + 16];
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	if (strlen(name) > DNS_NAME_MAX) {
		l->r->sts.txt = 0; /* no such name can exist */
		return;
	}
	sts_ask(l, name, DNS_T_TXT, on_sts_txt);
	snprintf(name, sizeof(name), "mta-sts.%s", domain);
	sts_ask(l, name, DNS_T_A, on_sts_a);
	if (l->q.ipv6)
		sts_ask(l, name, DNS_T_AAAA, on_sts_aaaa);
}

/* ------------------------------------------------------------ MX */

static int cmp_pref(const void *a, const void *b)
{
	const struct route_host *x = a, *y = b;
	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

/* Sort by preference; shuffle hosts of equal preference (RFC 5321 5.1). */
static void order_hosts(struct route_result *r)
{
	qsort(r->hosts, r->n_hosts, sizeof(r->hosts[0]), cmp_pref);
	for (size_t start = 0; start < r->n_hosts;) {
		size_t end = start + 1;
		while (end < r->n_hosts && r->hosts[end].pref == r->hosts[start].pref)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + random_below((uint32_t)(i - start + 1));
			struct route_host t = r->hosts[i];
			r->hosts[i] = r->hosts[j];
			r->hosts[j] = t;
		}
		start = end;
	}
}

static void fail_with(struct lookup *l, enum route_status st,
		      const char *enhanced, const char *why)
{
	l->r->status = st;
	snprintf(l->r->enhanced, sizeof(l->r->enhanced), "%s", enhanced);
	snprintf(l->r->why, sizeof(l->r->why), "%s", why);
	finish(l);
}

static void on_mx(void *arg, const struct dns_answer *a)
{
	struct lookup *l = arg;
	struct route_result *r = l->r;
	r->mx_secure = a->secure;
	if (a->status == DNS_NXDOMAIN) {
		fail_with(l, ROUTE_PERM, "5.1.2", "the domain does not exist");
		return;
	}
	if (a->status == DNS_TEMPFAIL || a->status == DNS_BOGUS) {
		char why[256];
		snprintf(why, sizeof(why), "MX lookup failed: %s", a->why);
		fail_with(l, ROUTE_TEMP, "4.4.3", why);
		return;
	}
	if (a->status == DNS_NODATA) { /* the implicit MX */
		r->implicit = true;
		r->n_hosts = 1;
		/* the name was put there by route_resolve_mx */
		lookup_addresses(l);
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		unsigned pref;
		char host[DNS_NAME_MAX + 1];
		if (dns_mx_decode(a->data[i], a->len[i], &pref, host) < 0)
			continue;
		if (host[0] == '\0') {
			/* RFC 7505: "0 ." says the domain takes no mail */
			fail_with(l, ROUTE_PERM, "5.1.10",
				  "the domain accepts no mail (null MX)");
			return;
		}
		if (r->n_hosts < ROUTE_HOSTS_MAX) {
			struct route_host *h = &r->hosts[r->n_hosts++];
			memset(h, 0, sizeof(*h));
			snprintf(h->name, sizeof(h->name), "%s", host);
			h->pref = pref;
		}
	}
	if (r->n_hosts == 0) {
		fail_with(l, ROUTE_TEMP, "4.4.3", "no usable MX record");
		return;
	}
	order_hosts(r);
	lookup_addresses(l);
}

static struct lookup *lookup_new(struct dns *dns, const char *name,
				 const struct route_query *q,
				 route_done_fn *fn, void *arg)
{
	struct lookup *l = calloc(1, sizeof(*l));
	struct route_result *r = calloc(1, sizeof(*r));
	if (l == NULL || r == NULL || strlen(name) > DNS_NAME_MAX) {
		free(l);
		free(r);
		return NULL;
	}
	l->r = r;
	l->dns = dns;
	l->q = *q;
	l->fn = fn;
	l->arg = arg;
	snprintf(r->hosts[0].name, sizeof(r->hosts[0].name), "%s", name);
	return l;
}

int route_resolve_mx(struct dns *dns, const char *domain,
		     const struct route_query *q, route_done_fn *fn, void *arg)
{
	struct lookup *l = lookup_new(dns, domain, q, fn, arg);
	if (l == NULL)
		return -1;
	if (dns_query(dns, domain, DNS_T_MX, on_mx, l) < 0) {
		free(l->r);
		free(l);
		return -1;
	}
	/* after the MX query is out: its answer cannot come before we return,
	 * since answers arrive on this same loop */
	if (q->sts)
		lookup_sts(l, domain);
	return 0;
}

int route_resolve_host(struct dns *dns, const char *host,
		       const struct route_query *q, route_done_fn *fn,
		       void *arg)
{
	struct lookup *l = lookup_new(dns, host, q, fn, arg);
	if (l == NULL)
		return -1;
	l->r->n_hosts = 1;
	unsigned char a[16];
	if (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1) {
		/* an address literal: no DNS at all */
		bool v4 = strchr(host, ':') == NULL;
		l->r->hosts[0].addr_insecure = true; /* no TLSA for a literal */
		add_addr(l, &l->r->hosts[0], v4 ? AF_INET : AF_INET6, a,
			 v4 ? 4 : 16);
		finish(l);
		return 0;
	}
	lookup_addresses(l);
	return 0;
}
