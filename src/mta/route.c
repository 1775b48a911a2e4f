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
	unsigned port;
	bool ipv6;
	unsigned pending; /* address queries not yet answered */
	route_done_fn *fn;
	void *arg;
	struct dns *dns;
};

struct addr_query {
	struct lookup *l;
	size_t host;
};

static void finish(struct lookup *l)
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
	l->fn(l->arg, r);
	free(l);
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
		a->sin_port = htons((uint16_t)l->port);
		memcpy(&a->sin_addr, rd, 4);
		h->addr_len[h->n_addrs++] = sizeof(*a);
	} else if (family == AF_INET6 && len == 16) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)l->port);
		memcpy(&a->sin6_addr, rd, 16);
		h->addr_len[h->n_addrs++] = sizeof(*a);
	}
}

static void on_addr(void *arg, const struct dns_answer *a, int family)
{
	struct addr_query *q = arg;
	struct lookup *l = q->l;
	struct route_host *h = &l->r->hosts[q->host];
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
		if (l->ipv6)
			ask(l, i, DNS_T_AAAA, on_aaaa);
		ask(l, i, DNS_T_A, on_a);
	}
	if (--l->pending == 0)
		finish(l);
}

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
				 unsigned port, bool ipv6, route_done_fn *fn,
				 void *arg)
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
	l->port = port;
	l->ipv6 = ipv6;
	l->fn = fn;
	l->arg = arg;
	snprintf(r->hosts[0].name, sizeof(r->hosts[0].name), "%s", name);
	return l;
}

int route_resolve_mx(struct dns *dns, const char *domain, unsigned port,
		     bool ipv6, route_done_fn *fn, void *arg)
{
	struct lookup *l = lookup_new(dns, domain, port, ipv6, fn, arg);
	if (l == NULL)
		return -1;
	if (dns_query(dns, domain, DNS_T_MX, on_mx, l) < 0) {
		free(l->r);
		free(l);
		return -1;
	}
	return 0;
}

int route_resolve_host(struct dns *dns, const char *host, unsigned port,
		       bool ipv6, route_done_fn *fn, void *arg)
{
	struct lookup *l = lookup_new(dns, host, port, ipv6, fn, arg);
	if (l == NULL)
		return -1;
	l->r->n_hosts = 1;
	unsigned char a[16];
	if (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1) {
		/* an address literal: no DNS at all */
		bool v4 = strchr(host, ':') == NULL;
		add_addr(l, &l->r->hosts[0], v4 ? AF_INET : AF_INET6, a,
			 v4 ? 4 : 16);
		finish(l);
		return 0;
	}
	lookup_addresses(l);
	return 0;
}
