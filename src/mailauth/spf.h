/* spf: Sender Policy Framework (RFC 7208), check_host() as a state machine
 * over DNS answers. Pure code: the caller asks DNS what spf_next() names
 * (synchronously or on an event loop) and hands each answer back with
 * spf_answer(); tests feed zone data through the same two calls.
 *
 *   s = spf_new(&request)
 *   while (spf_next(s, &name, &type) == 1)
 *           spf_answer(s, status, records, n)     (the answer to name/type)
 *   spf_result(s) ...
 *
 * Limits (RFC 7208 4.6.4): 10 terms that cause DNS queries (include, a,
 * mx, ptr, exists, redirect), 2 lookups that find nothing ("void"), 10 MX
 * hosts and 10 PTR names per mechanism. The caller bounds the time. */
#ifndef POSTERN_MAILAUTH_SPF_H
#define POSTERN_MAILAUTH_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SPF_DOMAIN_MAX = 253,
	SPF_RECORD_MAX = 8192,   /* one record's text, its strings joined */
	SPF_TERMS_MAX = 128,     /* for callers with a fixed array */
	SPF_LOOKUPS_MAX = 10,
	SPF_VOID_MAX = 2,
	SPF_NAMES_MAX = 10,      /* MX hosts, PTR names */
	SPF_DEPTH_MAX = SPF_LOOKUPS_MAX + 1,
	SPF_EXPLANATION_MAX = 512,
	SPF_LOCAL_MAX = 255,     /* RFC 5321 says 64; longer ones are still checked */
};

/* RFC 7208 2.6 */
enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* DNS record types the check asks for */
enum spf_rrtype { SPF_A = 1, SPF_PTR = 12, SPF_MX = 15, SPF_TXT = 16, SPF_AAAA = 28 };

enum spf_dns {
	SPF_DNS_OK,       /* records follow */
	SPF_DNS_NONE,     /* NXDOMAIN or no records of the type */
	SPF_DNS_TEMPFAIL, /* timeout, SERVFAIL: temperror */
};

/* One answer record: TXT text (strings joined; a NUL byte, which a C
 * string cannot hold, given as 0x7f, so that the record stays invalid), an
 * MX or PTR target name, or an address (A: 4 bytes, AAAA: 16). */
struct spf_rr {
	const char *text;
	unsigned char addr[16];
};

struct spf_request {
	unsigned char ip[16]; /* the client: IPv4 in the first 4 bytes */
	bool v6;
	const char *domain;   /* MAIL FROM's domain, or the HELO name */
	const char *sender;   /* MAIL FROM (local@domain), "" for <> */
	const char *helo;
	const char *receiver; /* our host name (%{r}) */
	int64_t now;          /* %{t} */
};

struct spf;

/* Start check_host() for req (copied). NULL when out of memory. */
struct spf *spf_new(const struct spf_request *req);
/* 1: ask DNS for *name (valid until the next call) of *type, then call
 * spf_answer; 0: the result is known. */
int spf_next(struct spf *s, const char **name, int *type);
void spf_answer(struct spf *s, enum spf_dns status, const struct spf_rr *rr,
		size_t n);
enum spf_result spf_result(const struct spf *s);
/* Why, for logs and comments ("matched ip4:192.0.2.0/24", "too many DNS
 * lookups", ...); never NULL once done. */
const char *spf_reason(const struct spf *s);
/* For fail: the domain's explanation (exp=, macros expanded), or "". */
const char *spf_explanation(const struct spf *s);
void spf_free(struct spf **s);

/* Whether d can be checked at all: a multi-label name with labels of 1 to
 * 63 bytes, not an address literal (RFC 7208 4.3; for HELO, 2.3). */
bool spf_domain_ok(const char *d);

/* "pass", "fail", ... (RFC 8601 2.7.2 names). */
const char *spf_result_name(enum spf_result r);

/* Parse an IP address in text (IPv4, IPv6, IPv4-mapped IPv6 counts as
 * IPv4) into req's ip/v6. 0 or -1. */
int spf_set_ip(struct spf_request *req, const char *text);

#endif
