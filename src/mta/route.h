/* route: where mail for a domain goes (RFC 5321 5.1), resolved
 * asynchronously on the DNS resolver's event loop.
 *
 * MX records in preference order, equal preferences shuffled so that load
 * spreads; no MX records: the domain itself (the implicit MX); a null MX
 * (RFC 7505, "0 .") or a domain that does not exist: a permanent failure;
 * anything temporary (a timeout, SERVFAIL, MX hosts without addresses):
 * temporary, never a bounce. Each host gets its IPv6 and IPv4 addresses.
 *
 * For DANE (RFC 7672 2.2) a lookup may also ask for each host's TLSA
 * records (_port._tcp.host), but only for hosts whose address records were
 * all DNSSEC-validated: an insecure host has no usable TLSA records. */
#ifndef POSTERN_MTA_ROUTE_H
#define POSTERN_MTA_ROUTE_H

#include "mta/sts.h"
#include "net/dns.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	ROUTE_HOSTS_MAX = 10,
	ROUTE_ADDRS_MAX = 8,
	ROUTE_TLSA_MAX = 8,         /* records kept per host */
	ROUTE_TLSA_DATA_MAX = 4096, /* a full certificate, at most */
};

enum route_tlsa_state {
	TLSA_NOT_ASKED, /* no DANE wanted, or the host's addresses insecure */
	TLSA_NONE,      /* validated: no TLSA records */
	TLSA_USABLE,    /* validated records, some usable for SMTP */
	TLSA_UNUSABLE,  /* validated records, none usable: TLS, unverified */
	TLSA_FAILED,    /* the lookup failed or was bogus: do not use host */
};

/* A TLSA record usable for SMTP (RFC 7672 3.1): DANE-TA(2) or DANE-EE(3),
 * selector 0 or 1, matching type 0, 1 (SHA-256) or 2 (SHA-512). */
struct route_tlsa {
	unsigned char usage, selector, mtype;
	unsigned char *data;
	size_t len;
};

struct route_host {
	char name[DNS_NAME_MAX + 1];
	unsigned pref;
	struct sockaddr_storage addr[ROUTE_ADDRS_MAX];
	socklen_t addr_len[ROUTE_ADDRS_MAX];
	size_t n_addrs;
	bool tempfail; /* an address lookup failed for now */
	bool addr_insecure; /* an address answer was not DNSSEC-validated */
	int tlsa_state; /* enum route_tlsa_state */
	struct route_tlsa tlsa[ROUTE_TLSA_MAX];
	size_t n_tlsa;
};

enum route_status { ROUTE_OK, ROUTE_TEMP, ROUTE_PERM };

/* What DNS says about a domain's MTA-STS policy (RFC 8461 3.1). */
struct route_sts {
	int txt; /* 1: one STSv1 record (id set); 0: none; -1: lookup failed */
	char id[STS_ID_MAX + 1];
	struct sockaddr_storage addr; /* of mta-sts.DOMAIN, to fetch from */
	socklen_t addr_len;           /* 0: no address */
};

struct route_result {
	enum route_status status;
	char why[256];   /* for logs and DSNs when not ROUTE_OK */
	char enhanced[16]; /* RFC 3463 code for a failure */
	bool mx_secure;  /* the MX answer was DNSSEC-validated */
	bool implicit;   /* no MX records: the domain itself */
	struct route_host hosts[ROUTE_HOSTS_MAX];
	size_t n_hosts;
	struct route_sts sts; /* when asked for */
};

/* Called once, on the resolver's loop; the result is the callee's to
 * free with route_free (it may be NULL when out of memory). */
typedef void route_done_fn(void *arg, struct route_result *r);
void route_free(struct route_result **r);

struct route_query {
	unsigned port;
	bool ipv6; /* ask for AAAA records too */
	bool tlsa; /* ask for the TLSA records of secure hosts */
	bool sts;  /* ask for _mta-sts TXT and mta-sts host addresses */
};

/* Resolve the MX hosts of domain (lower case). */
int route_resolve_mx(struct dns *dns, const char *domain,
		     const struct route_query *q, route_done_fn *fn, void *arg);
/* Resolve one host (a next hop: a name or an IP address literal). */
int route_resolve_host(struct dns *dns, const char *host,
		       const struct route_query *q, route_done_fn *fn,
		       void *arg);
/* Decode TLSA rdata into t (data allocated). 1: usable for SMTP, 0: a
 * well-formed record that is not, -1: malformed or out of memory. */
int route_tlsa_decode(const unsigned char *rd, size_t len,
		      struct route_tlsa *t);

#endif
