/* dmarc: the DMARC verdict of one message (RFC 7489 6.6). */
#include "mailauth/dmarc.h"

#include "mail/header.h"
#include "mail/rfc5322.h"
#include "mailauth/tags.h"

#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { FROM_ADDRESSES_MAX = 8 };

enum stage { ASK_DOMAIN, ASK_ORG, FOUND, DONE };

struct dmarc {
	const psl_ctx_t *psl;
	char from[DMARC_DOMAIN_MAX + 1];
	char org[DMARC_DOMAIN_MAX + 1];
	char qname[DMARC_DOMAIN_MAX + 8];
	enum stage stage;
	bool at_org;      /* the record is the organisational domain's */
	struct dmarc_record rec;
	enum dmarc_result result;
	const char *reason;
};

/* ------------------------------------------------------------ records */

bool dmarc_is_record(const char *txt)
{
	while (*txt == ' ' || *txt == '\t')
		txt++;
	if (strncmp(txt, "v=DMARC1", 8) != 0)
		return false;
	txt += 8;
	while (*txt == ' ' || *txt == '\t')
		txt++;
	return *txt == ';' || *txt == '\0';
}

static int policy(const struct dkim_tag *t, int *out)
{
	static const char *const names[] = {"none", "quarantine", "reject"};
	for (int i = 0; t != NULL && i < 3; i++)
		if (t->value_len == strlen(names[i]) &&
		    strncasecmp(t->value, names[i], t->value_len) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

static bool strict(const struct dkim_tag *t)
{
	return t != NULL && t->value_len == 1 && (t->value[0] | 0x20) == 's';
}

int dmarc_record_parse(const char *txt, struct dmarc_record *r,
		       const char **error_r)
{
	struct dkim_tags t;
	memset(r, 0, sizeof(*r));
	r->pct = 100;
	if (!dmarc_is_record(txt) ||
	    dkim_tags_parse(txt, strlen(txt), &t, error_r) < 0 ||
	    t.n == 0 || !dkim_tag_is(&t.tag[0], "DMARC1")) {
		*error_r = "not a DMARC record";
		return -1;
	}
	const struct dkim_tag *rua = dkim_tags_get(&t, "rua");
	bool p_ok = policy(dkim_tags_get(&t, "p"), &r->p) == 0;
	r->sp = r->p;
	bool sp_ok = dkim_tags_get(&t, "sp") == NULL ||
		     policy(dkim_tags_get(&t, "sp"), &r->sp) == 0;
	if (!p_ok || !sp_ok) {
		/* RFC 7489 6.6.3: with a report address, act as p=none */
		if (rua == NULL || memchr(rua->value, ':', rua->value_len) == NULL) {
			*error_r = "no valid p= (or sp=)";
			return -1;
		}
		r->p = r->sp = DMARC_P_NONE;
	}
	r->adkim_strict = strict(dkim_tags_get(&t, "adkim"));
	r->aspf_strict = strict(dkim_tags_get(&t, "aspf"));
	const struct dkim_tag *pct = dkim_tags_get(&t, "pct");
	if (pct != NULL && pct->value_len > 0 && pct->value_len <= 3) {
		unsigned v = 0;
		bool digits = true;
		for (size_t i = 0; i < pct->value_len; i++) {
			digits &= pct->value[i] >= '0' && pct->value[i] <= '9';
			v = v * 10 + (unsigned)(pct->value[i] - '0');
		}
		if (digits && v <= 100)
			r->pct = v;
	}
	return 0;
}

void dmarc_org_domain(const psl_ctx_t *psl, const char *name,
		      char out[DMARC_DOMAIN_MAX + 1])
{
	char lower[DMARC_DOMAIN_MAX + 1];
	size_t n = strnlen(name, DMARC_DOMAIN_MAX);
	for (size_t i = 0; i < n; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32
								    : name[i]);
	lower[n] = '\0';
	const char *reg = psl != NULL ? psl_registrable_domain(psl, lower) : NULL;
	snprintf(out, DMARC_DOMAIN_MAX + 1, "%s", reg != NULL ? reg : lower);
}

/* ------------------------------------------------------------ the check */

/* RFC 7489 6.6.1: exactly one From field with exactly one address. */
static const char *author_domain(const char *hdr, size_t len,
				 char out[DMARC_DOMAIN_MAX + 1])
{
	struct header_field f;
	struct mailbox mb[FROM_ADDRESSES_MAX];
	size_t pos = 0, n = 0;
	unsigned froms = 0;
	const char *why = NULL;
	while (header_next(hdr, len, &pos, &f) == 1) {
		if (!header_is(&f, "From"))
			continue;
		if (++froms > 1)
			return "more than one From field";
		if (rfc5322_address_list(f.value, f.value_len, mb,
					 FROM_ADDRESSES_MAX, &n) < 0)
			why = "the From field cannot be parsed";
		else if (n != 1)
			why = "the From field does not hold exactly one address";
		else if (mb[0].domain[0] == '\0' || mb[0].domain[0] == '[' ||
			 strlen(mb[0].domain) > DMARC_DOMAIN_MAX)
			why = "the From address has no domain name";
	}
	if (froms == 0)
		return "no From field";
	if (why == NULL)
		memcpy(out, mb[0].domain, strlen(mb[0].domain) + 1);
	return why;
}

struct dmarc *dmarc_new(const psl_ctx_t *psl, const char *hdr, size_t len)
{
	struct dmarc *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->psl = psl;
	const char *why = author_domain(hdr, len, d->from);
	if (why != NULL) {
		d->stage = DONE;
		d->result = DMARC_PERMERROR;
		d->reason = why;
		return d;
	}
	dmarc_org_domain(psl, d->from, d->org);
	d->stage = ASK_DOMAIN;
	return d;
}

int dmarc_next(struct dmarc *d, const char **name)
{
	if (d->stage != ASK_DOMAIN && d->stage != ASK_ORG)
		return 0;
	snprintf(d->qname, sizeof(d->qname), "_dmarc.%s",
		 d->stage == ASK_ORG ? d->org : d->from);
	*name = d->qname;
	return 1;
}

static void no_policy(struct dmarc *d, enum dmarc_result r, const char *why)
{
	d->stage = DONE;
	d->result = r;
	d->reason = why;
}

/* RFC 7489 6.6.3: the DMARC records among the TXT records; none at the
 * author domain: try the organisational domain; more than one: none. */
void dmarc_answer(struct dmarc *d, enum dmarc_dns status,
		  const char *const *txt, size_t n)
{
	const char *rec = NULL, *error;
	size_t found = 0;
	if (status == DMARC_DNS_TEMPFAIL) {
		no_policy(d, DMARC_TEMPERROR, "the DMARC record could not be read");
		return;
	}
	for (size_t i = 0; status == DMARC_DNS_OK && i < n; i++)
		if (dmarc_is_record(txt[i]))
			rec = txt[i], found++;
	if (found == 0 && d->stage == ASK_DOMAIN && strcmp(d->from, d->org) != 0) {
		d->stage = ASK_ORG;
		return;
	}
	if (found != 1 || dmarc_record_parse(rec, &d->rec, &error) < 0) {
		no_policy(d, DMARC_NONE, found > 1 ? "more than one DMARC record"
						   : "no DMARC record");
		return;
	}
	d->at_org = d->stage == ASK_ORG;
	d->stage = FOUND;
}

/* Identifier alignment (RFC 7489 3.1): the same domain (strict) or the
 * same organisational domain (relaxed). */
static bool aligned(const struct dmarc *d, const char *domain, bool is_strict)
{
	if (strcasecmp(domain, d->from) == 0)
		return true;
	if (is_strict)
		return false;
	char org[DMARC_DOMAIN_MAX + 1];
	dmarc_org_domain(d->psl, domain, org);
	return strcasecmp(org, d->org) == 0;
}

void dmarc_evaluate(struct dmarc *d, const struct dkim_verify *dkim,
		    const struct dmarc_spf *spf)
{
	if (d->stage != FOUND)
		return;
	d->stage = DONE;
	for (size_t i = 0; dkim != NULL && i < dkim_verify_count(dkim); i++) {
		const struct dkim_verified *r = dkim_verify_result(dkim, i);
		if (r->result == DKIM_PASS && !r->partial &&
		    aligned(d, r->d, d->rec.adkim_strict)) {
			d->result = DMARC_PASS;
			d->reason = "aligned DKIM signature";
			return;
		}
	}
	if (spf != NULL && spf->result == SPF_PASS && spf->domain != NULL &&
	    aligned(d, spf->domain, d->rec.aspf_strict)) {
		d->result = DMARC_PASS;
		d->reason = "aligned SPF pass";
		return;
	}
	d->result = DMARC_FAIL;
	d->reason = "no aligned DKIM signature or SPF pass";
}

enum dmarc_result dmarc_result(const struct dmarc *d)
{
	return d->result;
}

const char *dmarc_domain(const struct dmarc *d)
{
	return d->from;
}

enum dmarc_policy dmarc_published(const struct dmarc *d)
{
	/* sp= is for subdomains, from the organisational domain's record */
	bool sub = d->at_org && strcasecmp(d->from, d->org) != 0;
	return (enum dmarc_policy)(sub ? d->rec.sp : d->rec.p);
}

enum dmarc_policy dmarc_policy(const struct dmarc *d, unsigned sample)
{
	if (d->result != DMARC_FAIL)
		return DMARC_P_NONE;
	enum dmarc_policy p = dmarc_published(d);
	if (sample < d->rec.pct)
		return p;
	/* RFC 7489 6.6.4: not sampled, the next policy down */
	return p == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
}

const char *dmarc_reason(const struct dmarc *d)
{
	return d->reason != NULL ? d->reason : "";
}

void dmarc_free(struct dmarc **d)
{
	free(*d);
	*d = NULL;
}

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = {
		[DMARC_NONE] = "none", [DMARC_PASS] = "pass",
		[DMARC_FAIL] = "fail", [DMARC_TEMPERROR] = "temperror",
		[DMARC_PERMERROR] = "permerror",
	};
	return (unsigned)r < sizeof(names) / sizeof(*names) ? names[r]
							    : "permerror";
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_P_REJECT ? "reject"
	       : p == DMARC_P_QUARANTINE ? "quarantine" : "none";
}
