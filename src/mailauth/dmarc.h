/* dmarc: Domain-based Message Authentication, Reporting and Conformance
 * (RFC 7489), pure code: the author domain (one From, one address), the
 * policy record and its discovery (_dmarc.<author domain>, then the
 * organisational domain's), and the verdict from the DKIM and SPF results
 * with relaxed or strict alignment. The organisational domain comes from
 * the Public Suffix List (libpsl), loaded by the caller.
 *
 *   d = dmarc_new(psl, hdr, len)          (the From domain; maybe fail now)
 *   while (dmarc_next(d, &name))           (a TXT lookup for the record)
 *           dmarc_answer(d, status, txt, n)
 *   dmarc_evaluate(d, dkim results, spf result and domain)
 *   dmarc_result(d), dmarc_policy(d) */
#ifndef POSTERN_MAILAUTH_DMARC_H
#define POSTERN_MAILAUTH_DMARC_H

#include "mailauth/spf.h"
#include "mailauth/verify.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct psl_ctx_st psl_ctx_t;

enum { DMARC_DOMAIN_MAX = 253 };

enum dmarc_policy { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

struct dmarc_record {
	int p, sp;            /* enum dmarc_policy; sp = p when not given */
	bool adkim_strict, aspf_strict;
	unsigned pct;         /* 0..100 */
};

/* Whether a TXT record is a DMARC record ("v=DMARC1" first). */
bool dmarc_is_record(const char *txt);
/* Parse a record (RFC 7489 6.3, 6.6.3: an invalid p= with rua= is
 * p=none). 0, or -1 with *error_r (the record is then ignored). */
int dmarc_record_parse(const char *txt, struct dmarc_record *r,
		       const char **error_r);

/* The organisational domain of name (lower case) into out: its
 * registrable domain by the Public Suffix List, or name itself when the
 * list has none (name is a public suffix). */
void dmarc_org_domain(const psl_ctx_t *psl, const char *name,
		      char out[DMARC_DOMAIN_MAX + 1]);

enum dmarc_result {
	DMARC_NONE,      /* no policy published */
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR, /* the record, or an aligned identifier's result,
			    could not be fetched */
	DMARC_PERMERROR,
};

enum dmarc_dns { DMARC_DNS_OK, DMARC_DNS_NONE, DMARC_DNS_TEMPFAIL };

struct dmarc;

/* Find the author domain in the header section (exactly one From field
 * with exactly one address, RFC 7489 6.6.1; otherwise the result is fail
 * at once, with the policy reject: no domain's record can speak for such
 * a message; without any From, policy none: no author to pass for). NULL
 * when out of memory. */
struct dmarc *dmarc_new(const psl_ctx_t *psl, const char *hdr, size_t len);
/* 1: look up *name's TXT records and give them to dmarc_answer; 0: the
 * record is found, or known to be absent. */
int dmarc_next(struct dmarc *d, const char **name);
void dmarc_answer(struct dmarc *d, enum dmarc_dns status,
		  const char *const *txt, size_t n);

/* The SPF result to align: for the MAIL FROM domain (HELO when MAIL FROM
 * is empty). */
struct dmarc_spf {
	enum spf_result result;
	const char *domain;
};
/* Decide from the DKIM results (only passing signatures that sign the
 * whole body count, RFC 6376 8.2) and the SPF result. */
void dmarc_evaluate(struct dmarc *d, const struct dkim_verify *dkim,
		    const struct dmarc_spf *spf);

enum dmarc_result dmarc_result(const struct dmarc *d);
/* The author domain ("" when none was found). */
const char *dmarc_domain(const struct dmarc *d);
/* The policy the domain asks for this message (p= or sp=), or
 * DMARC_P_NONE when it passed, has no record, or pct= sampled it out;
 * sample is a number in 0..99 chosen by the caller. */
enum dmarc_policy dmarc_policy(const struct dmarc *d, unsigned sample);
/* The published policy (p=, or sp= for a subdomain), for reports. */
enum dmarc_policy dmarc_published(const struct dmarc *d);
/* Why, for comments and logs. */
const char *dmarc_reason(const struct dmarc *d);
void dmarc_free(struct dmarc **d);

const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
