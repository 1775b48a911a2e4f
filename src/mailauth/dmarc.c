/* dmarc: the DMARC verdict of one message (RFC 7489 6.6). */
#include "mailauth/dmarc.h"

#include "mail/header.h"
#include "mail/rfc5322.h"

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

static const char *skip_wsp(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* RFC 7489 6.4: "v" *WSP "=" *WSP "DMARC1" first; its end, or NULL. */
static const char *version_end(const char *txt)
{
	const char *p = skip_wsp(txt);
	if (*p++ != 'v')
		return NULL;
	p = skip_wsp(p);
	if (*p++ != '=')
		return NULL;
	p = skip_wsp(p);
	if (strncmp(p, "DMARC1", 6) != 0)
		return NULL;
	p = skip_wsp(p + 6);
	return *p == ';' || *p == '\0' ? p : NULL;
}

bool dmarc_is_record(const char *txt)
{
	return version_end(txt) != NULL;
}

struct tag {
	const char *value;
	size_t len;
};

/* The tags after v=: name *WSP "=" *WSP value, separated by ';'. A
 * malformed one is skipped (RFC 7489 6.3: defaults rather than no
 * policy); the first of a repeated name counts. */
static void read_tags(const char *p, struct tag *p_, struct tag *sp,
		      struct tag *adkim, struct tag *aspf, struct tag *pct,
		      struct tag *rua)
{
	static const char *const names[] = {"p", "sp", "adkim", "aspf", "pct",
					    "rua"};
	struct tag *slots[] = {p_, sp, adkim, aspf, pct, rua};
	while (*p == ';') {
		p = skip_wsp(p + 1);
		size_t nlen = 0;
		while (p[nlen] != '\0' && p[nlen] != '=' && p[nlen] != ';' &&
		       p[nlen] != ' ' && p[nlen] != '\t')
			nlen++;
		const char *eq = skip_wsp(p + nlen);
		const char *semi = strchr(eq, ';');
		const char *end = semi != NULL ? semi : eq + strlen(eq);
		if (*eq == '=') {
			const char *v = skip_wsp(eq + 1);
			size_t vlen = (size_t)(end - v);
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			for (size_t k = 0; k < 6; k++)
				if (strlen(names[k]) == nlen &&
				    strncasecmp(p, names[k], nlen) == 0 &&
				    slots[k]->value == NULL)
					*slots[k] = (struct tag){v, vlen};
		}
		p = end;
	}
}

static int policy(const struct tag *t, int *out)
{
	static const char *const names[] = {"none", "quarantine", "reject"};
	for (int i = 0; t->value != NULL && i < 3; i++)
		if (t->len == strlen(names[i]) &&
		    strncasecmp(t->value, names[i], t->len) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

static bool strict(const struct tag *t)
{
	return t->value != NULL && t->len == 1 && (t->value[0] | 0x20) == 's';
}

static unsigned percent(const struct tag *t)
{
	unsigned v = 0;
	if (t->value == NULL || t->len == 0 || t->len > 3)
		return 100;
	for (size_t i = 0; i < t->len; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return 100;
		v = v * 10 + (unsigned)(t->value[i] - '0');
	}
	return v <= 100 ? v : 100;
}

int dmarc_record_parse(const char *txt, struct dmarc_record *r,
		       const char **error_r)
{
	struct tag p = {0}, sp = {0}, adkim = {0}, aspf = {0}, pct = {0},
		   rua = {0};
	const char *rest = version_end(txt);
	memset(r, 0, sizeof(*r));
	if (rest == NULL) {
		*error_r = "not a DMARC record";
		return -1;
	}
	read_tags(rest, &p, &sp, &adkim, &aspf, &pct, &rua);
	bool p_ok = policy(&p, &r->p) == 0;
	r->sp = r->p;
	bool sp_ok = sp.value == NULL || policy(&sp, &r->sp) == 0;
	if (!p_ok || !sp_ok) {
		/* RFC 7489 6.6.3: with a report address, act as p=none */
		if (rua.value == NULL || memchr(rua.value, ':', rua.len) == NULL) {
			*error_r = "no valid p= (or sp=)";
			return -1;
		}
		r->p = r->sp = DMARC_P_NONE;
	}
	r->adkim_strict = strict(&adkim);
	r->aspf_strict = strict(&aspf);
	r->pct = percent(&pct);
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

static const char NO_FROM[] = "no From field";

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
		return NO_FROM;
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
		/* no single author domain: a fail that no domain's policy can
		 * soften (two From fields or two addresses are the classic way
		 * to show one domain to the reader and have another checked) */
		d->stage = DONE;
		d->result = DMARC_FAIL;
		d->reason = why;
		/* with no From at all there is no author to pass for: the fail
		 * is recorded, nothing is refused */
		d->rec.p = d->rec.sp = strcmp(why, NO_FROM) == 0 ? DMARC_P_NONE
								 : DMARC_P_REJECT;
		d->rec.pct = 100;
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
	if (domain[0] != '\0' && strcasecmp(domain, d->from) == 0)
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
	/* RFC 7489 11.2: an aligned identifier that could not be checked
	 * now may pass later: temperror, never a refusal */
	for (size_t i = 0; dkim != NULL && i < dkim_verify_count(dkim); i++) {
		const struct dkim_verified *r = dkim_verify_result(dkim, i);
		if (r->result == DKIM_TEMPERROR && r->d[0] != '\0' &&
		    aligned(d, r->d, d->rec.adkim_strict)) {
			d->result = DMARC_TEMPERROR;
			d->reason = "an aligned DKIM key could not be fetched";
			return;
		}
	}
	if (spf != NULL && spf->result == SPF_TEMPERROR && spf->domain != NULL &&
	    aligned(d, spf->domain, d->rec.aspf_strict)) {
		d->result = DMARC_TEMPERROR;
		d->reason = "SPF could not be checked";
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
	/* (no author domain: p= is set to reject, see dmarc_new) */
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
