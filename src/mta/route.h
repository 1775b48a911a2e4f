/* route: where mail for a domain goes (RFC 5321 5.1), resolved
 * asynchronously on the DNS resolver's event loop.
 *
 * MX records in preference order, equal preferences shuffled so that load
 * spreads; no MX records: the domain itself (the implicit MX); a null MX
 * (RFC 7505, "0 .") or a domain that does not exist: a permanent failure;
 * anything temporary (a timeout, SERVFAIL, MX hosts without addresses):
 * temporary, never a bounce. Each host gets its IPv6 and IPv4 addresses. */
#ifndef POSTERN_MTA_ROUTE_H
#define POSTERN_MTA_ROUTE_H

#include "net/dns.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum { ROUTE_HOSTS_MAX = 10, ROUTE_ADDRS_MAX = 8 };

struct route_host {
	char name[DNS_NAME_MAX + 1];
	unsigned pref;
	struct sockaddr_storage addr[ROUTE_ADDRS_MAX];
	socklen_t addr_len[ROUTE_ADDRS_MAX];
	size_t n_addrs;
	bool tempfail; /* an address lookup failed for now */
};

enum route_status { ROUTE_OK, ROUTE_TEMP, ROUTE_PERM };

struct route_result {
	enum route_status status;
	char why[256];   /* for logs and DSNs when not ROUTE_OK */
	char enhanced[16]; /* RFC 3463 code for a failure */
	bool mx_secure;  /* the MX answer was DNSSEC-validated */
	bool implicit;   /* no MX records: the domain itself */
	struct route_host hosts[ROUTE_HOSTS_MAX];
	size_t n_hosts;
};

/* Called once, on the resolver's loop; the result is the callee's to
 * free() (it may be NULL when out of memory). */
typedef void route_done_fn(void *arg, struct route_result *r);

/* Resolve the MX hosts of domain (lower case), each on port. */
int route_resolve_mx(struct dns *dns, const char *domain, unsigned port,
		     bool ipv6, route_done_fn *fn, void *arg);
/* Resolve one host (a next hop: a name or an IP address literal). */
int route_resolve_host(struct dns *dns, const char *host, unsigned port,
		       bool ipv6, route_done_fn *fn, void *arg);

#endif
