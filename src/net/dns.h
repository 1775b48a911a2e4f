/* dns: asynchronous DNS on an event loop (libunbound).
 *
 * Queries run in libunbound's own thread; answers come back on the event
 * loop that created the resolver, through the callback. libunbound
 * validates DNSSEC itself when it has a trust anchor ([dns] trust_anchor),
 * so `secure` can be believed (DANE depends on it): nothing from the
 * network is taken on trust, not even an upstream's AD bit.
 *
 * The resolver is chosen by [dns] resolver: "system" forwards to the
 * name servers of /etc/resolv.conf, "recursive" asks the root and down,
 * and a list of addresses (IP or IP@port) forwards there (tests point it at
 * their own server on 127.0.0.1). */
#ifndef POSTERN_NET_DNS_H
#define POSTERN_NET_DNS_H

#include "lib/buf.h"
#include "lib/config.h"

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct dns;

enum {
	DNS_T_A = 1,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_TLSA = 52,
	DNS_NAME_MAX = 255, /* text form, without the final dot */
	DNS_RECORDS_MAX = 64,
};

enum dns_status {
	DNS_OK,       /* records are in the answer */
	DNS_NODATA,   /* the name exists but has no such records */
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_TEMPFAIL, /* no answer now (timeout, SERVFAIL, cancelled): retry */
	DNS_BOGUS,    /* DNSSEC validation failed: an attack or a broken zone */
};

struct dns_answer {
	enum dns_status status;
	bool secure; /* validated by DNSSEC (also for NODATA/NXDOMAIN) */
	const char *why; /* for logs when not DNS_OK */
	/* the records' rdata in wire form, uncompressed */
	size_t n;
	const unsigned char *data[DNS_RECORDS_MAX];
	size_t len[DNS_RECORDS_MAX];
};

/* The callback runs on the resolver's event loop, once per query; the
 * answer is valid only during the call. */
typedef void dns_done_fn(void *arg, const struct dns_answer *answer);

/* A resolver on base. NULL with the reason in errors. */
struct dns *dns_new(struct event_base *base, const struct config *cfg,
		    struct buf *errors);
/* Cancel what is pending (each callback runs with DNS_TEMPFAIL,
 * "cancelled") and free the resolver. */
void dns_free(struct dns **d);
/* Ask for name's records of type rrtype. 0, or -1 when the query could not
 * even start (the callback does not run then). */
int dns_query(struct dns *d, const char *name, int rrtype, dns_done_fn *fn,
	      void *arg);
/* Whether answers can be DNSSEC-secure at all (a trust anchor is loaded). */
bool dns_validating(const struct dns *d);

/* --- rdata decoding --------------------------------------------------- */

/* A domain name in wire form (no compression) at rd[*off..len) to text,
 * lower case, without the final dot ("" for the root). -1 if malformed. */
int dns_name_decode(const unsigned char *rd, size_t len, size_t *off,
		    char out[DNS_NAME_MAX + 1]);
/* MX rdata: preference and exchange. */
int dns_mx_decode(const unsigned char *rd, size_t len, unsigned *pref,
		  char host[DNS_NAME_MAX + 1]);
/* TXT rdata: its strings concatenated (RFC 7208 3.3), NUL-terminated,
 * into out (of size n); a NUL byte in the text becomes 0x7f (DEL), which
 * keeps the text invalid for every record parser. -1 if malformed or too
 * long. */
int dns_txt_decode(const unsigned char *rd, size_t len, char *out, size_t n);

#endif
