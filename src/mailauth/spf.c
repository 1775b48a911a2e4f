/* spf: check_host() (RFC 7208 4) as a state machine.
 *
 * The evaluation is a stack of frames, one per record being evaluated
 * (include pushes one; redirect replaces the top one). Each step either
 * decides something without DNS or names one query and waits for its
 * answer in spf_answer(). */
#include "mailauth/spf.h"

#include "mailauth/spfterm.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What the evaluation waits for or does next. */
enum state {
	S_RECORD,    /* ask for the top frame's TXT records */
	S_TERM,      /* evaluate the top frame's next term */
	S_ADDR,      /* a / exists: the A or AAAA records of qname */
	S_MX,        /* mx: the MX records */
	S_MX_ADDR,   /* mx: the addresses of names[at] */
	S_PTR,       /* ptr: the PTR records of the client */
	S_PTR_ADDR,  /* ptr: the addresses of names[at] */
	S_P_PTR,     /* %{p}: the PTR records */
	S_P_ADDR,    /* %{p}: the addresses of names[at] */
	S_EXP,       /* the explanation's TXT record */
	S_EXP_NAME,  /* (after %{p} only) expand exp= and ask for it */
	S_DONE,
};

struct frame {
	char domain[SPF_DOMAIN_MAX + 1];
	char *record;             /* the SPF record's text (terms point in) */
	struct spf_term *terms;   /* as many as the record can hold */
	size_t n_terms, at;       /* at: the term being evaluated */
	bool redirected;          /* reached by redirect= (no record: perm) */
	/* %{p}, the client's validated name, as this frame's domain ranks
	 * them (so each frame has its own) */
	bool p_done;
	char p[SPF_DOMAIN_MAX + 1]; /* "": unknown */
	int p_rank;               /* 3 the domain, 2 a subdomain, 1 other */
};

struct spf {
	struct spf_request req;
	char sender[SPF_LOCAL_MAX + 1 + SPF_DOMAIN_MAX + 1];
	char local[SPF_LOCAL_MAX + 1];
	char sender_domain[SPF_DOMAIN_MAX + 1];
	char helo[SPF_DOMAIN_MAX + 1];
	char receiver[SPF_DOMAIN_MAX + 1];
	struct frame *f[SPF_DEPTH_MAX];
	size_t depth;
	unsigned lookups, voids;
	enum state state;
	char qname[SPF_DOMAIN_MAX + 1];
	int qtype;
	/* mx / ptr / %{p}: the names found, the one being looked at */
	char names[SPF_NAMES_MAX][SPF_DOMAIN_MAX + 1];
	size_t n_names, name_at;
	char target[SPF_DOMAIN_MAX + 1]; /* ptr's domain */
	enum state resume;   /* after %{p}: S_TERM, S_EXP_NAME or S_EXP */
	char *exp_text;                   /* the explanation before expansion */
	enum spf_result result;
	const char *reason;
	char exp[SPF_EXPLANATION_MAX];
	const struct spf_term *exp_term; /* of the record that failed */
};

static struct frame *top(struct spf *s)
{
	return s->f[s->depth - 1];
}

static void finish(struct spf *s, enum spf_result r, const char *reason)
{
	s->result = r;
	s->reason = reason;
	s->state = S_DONE;
}

static void ask(struct spf *s, enum state st, const char *name, int type)
{
	snprintf(s->qname, sizeof(s->qname), "%s", name);
	s->qtype = type;
	s->state = st;
}

/* A term that causes a DNS query (RFC 7208 4.6.4): more than 10 is a
 * permerror. */
static bool count_lookup(struct spf *s)
{
	if (++s->lookups <= SPF_LOOKUPS_MAX)
		return true;
	finish(s, SPF_PERMERROR, "more than 10 DNS lookups");
	return false;
}

/* A lookup that found nothing: more than 2 is a permerror. */
static bool count_void(struct spf *s)
{
	if (++s->voids <= SPF_VOID_MAX)
		return true;
	finish(s, SPF_PERMERROR, "more than 2 lookups found nothing");
	return false;
}

static void macros(struct spf *s, struct spf_macros *m)
{
	*m = (struct spf_macros){
		.sender = s->sender, .local = s->local,
		.sender_domain = s->sender_domain, .domain = top(s)->domain,
		.ip = s->req.ip, .v6 = s->req.v6, .helo = s->helo,
		.validated = top(s)->p[0] ? top(s)->p : NULL, .receiver = s->receiver,
		.now = s->req.now,
	};
}

static int push(struct spf *s, const char *domain, bool redirected)
{
	struct frame *f = calloc(1, sizeof(*f));
	if (f == NULL) {
		finish(s, SPF_TEMPERROR, "out of memory");
		return -1;
	}
	snprintf(f->domain, sizeof(f->domain), "%s", domain);
	f->redirected = redirected;
	s->f[s->depth++] = f;
	ask(s, S_RECORD, domain, SPF_TXT);
	return 0;
}

static void pop(struct spf *s)
{
	struct frame *f = s->f[--s->depth];
	free(f->record);
	free(f->terms);
	free(f);
}

static enum spf_result qualified(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL
		: q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

/* Whether addr (4 or 16 bytes) is in net/bits. */
static bool in_net(const unsigned char *addr, const unsigned char *net,
		   int bits)
{
	int full = bits / 8, rest = bits % 8;
	if (memcmp(addr, net, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (addr[full] & mask) == (net[full] & mask);
}

static bool ip_in(const struct spf *s, const unsigned char *net,
		  const struct spf_term *t)
{
	return in_net(s->req.ip, net, s->req.v6 ? t->cidr6 : t->cidr4);
}

/* The reverse-lookup name of the client (RFC 7208 5.5). */
static void reverse_name(const struct spf *s, char out[SPF_DOMAIN_MAX + 1])
{
	const unsigned char *ip = s->req.ip;
	if (!s->req.v6) {
		snprintf(out, SPF_DOMAIN_MAX + 1, "%u.%u.%u.%u.in-addr.arpa",
			 ip[3], ip[2], ip[1], ip[0]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 15; i >= 0; i--) {
		out[o++] = hex[ip[i] & 15];
		out[o++] = '.';
		out[o++] = hex[ip[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, "ip6.arpa", 9);
}

static bool within(const char *name, const char *domain)
{
	size_t nl = strlen(name), dl = strlen(domain);
	return nl == dl ? strcasecmp(name, domain) == 0
			: nl > dl && name[nl - dl - 1] == '.' &&
				  strcasecmp(name + nl - dl, domain) == 0;
}

static void next_term(struct spf *s)
{
	top(s)->at++;
	s->state = S_TERM;
}

static void start_exp(struct spf *s);
static void p_finished(struct spf *s);
static void matched(struct spf *s, const char *why);

/* The top frame has its result: the final one, or an include's. */
static void frame_result(struct spf *s, enum spf_result r, const char *why)
{
	if (s->depth == 1) {
		if (r == SPF_FAIL && s->exp_term != NULL) {
			s->reason = why;
			start_exp(s);
			return;
		}
		finish(s, r, why);
		return;
	}
	pop(s); /* back to the include in the parent (RFC 7208 5.2) */
	if (r == SPF_PASS)
		matched(s, "matched include");
	else if (r == SPF_TEMPERROR)
		finish(s, SPF_TEMPERROR, why);
	else if (r == SPF_PERMERROR || r == SPF_NONE)
		finish(s, SPF_PERMERROR,
		       r == SPF_NONE ? "an included domain has no SPF record" : why);
	else
		next_term(s);
}

static void matched(struct spf *s, const char *why)
{
	struct frame *f = top(s);
	s->exp_term = NULL;
	for (size_t i = 0; i < f->n_terms && s->depth == 1; i++)
		if (f->terms[i].kind == SPF_MOD_EXP)
			s->exp_term = &f->terms[i];
	frame_result(s, qualified(f->terms[f->at].qualifier), why);
}

/* Expand a term's domain-spec, or take the current domain. */
static bool target_domain(struct spf *s, const struct spf_term *t,
			  char out[SPF_DOMAIN_MAX + 1])
{
	struct spf_macros m;
	const char *error = NULL;
	if (t->spec == NULL) {
		snprintf(out, SPF_DOMAIN_MAX + 1, "%s", top(s)->domain);
		return true;
	}
	macros(s, &m);
	int rc = spf_expand_domain(t->spec, t->spec_len, &m, out, &error);
	if (rc == 0)
		return true;
	if (rc < 0 || t->kind == SPF_M_INCLUDE || t->kind == SPF_MOD_REDIRECT)
		finish(s, SPF_PERMERROR, rc < 0 ? error
				       : "an include or redirect names no domain");
	else if (count_void(s)) /* RFC 7208 4.8: a name that cannot exist */
		next_term(s);
	return false;
}

/* After the last term: redirect= if there is one (RFC 7208 6.1), else
 * neutral (4.7). */
static bool needs_p(struct spf *s, const struct spf_term *t);

static void end_of_terms(struct spf *s)
{
	struct frame *f = top(s);
	const struct spf_term *redirect = NULL;
	char domain[SPF_DOMAIN_MAX + 1];
	for (size_t i = 0; i < f->n_terms; i++)
		if (f->terms[i].kind == SPF_MOD_REDIRECT)
			redirect = &f->terms[i];
	if (redirect == NULL) {
		frame_result(s, SPF_NEUTRAL, "no mechanism matched");
		return;
	}
	if (needs_p(s, redirect)) /* then back here */
		return;
	if (!count_lookup(s) || !target_domain(s, redirect, domain))
		return;
	free(f->record); /* the frame becomes the redirect target's */
	free(f->terms);
	memset(f, 0, sizeof(*f));
	snprintf(f->domain, sizeof(f->domain), "%s", domain);
	f->redirected = true;
	ask(s, S_RECORD, domain, SPF_TXT);
}

/* Find the validated name of the client for %{p} (RFC 7208 7.3), then
 * go on with resume. */
static void start_p(struct spf *s, enum state resume)
{
	char name[SPF_DOMAIN_MAX + 1];
	s->resume = resume;
	reverse_name(s, name);
	ask(s, S_P_PTR, name, SPF_PTR);
}

/* %{p} in the term: validate the client's name first. */
static bool needs_p(struct spf *s, const struct spf_term *t)
{
	if (top(s)->p_done || t->spec == NULL || !spf_uses_p(t->spec, t->spec_len))
		return false;
	start_p(s, S_TERM);
	return true;
}

static int addr_type(const struct spf *s)
{
	return s->req.v6 ? SPF_AAAA : SPF_A;
}

/* One term of the top frame. */
static void step_term(struct spf *s)
{
	struct frame *f = top(s);
	if (f->at == f->n_terms) {
		end_of_terms(s);
		return;
	}
	const struct spf_term *t = &f->terms[f->at];
	char domain[SPF_DOMAIN_MAX + 1];
	if (t->kind >= SPF_MOD_REDIRECT) {
		next_term(s); /* modifiers act elsewhere */
		return;
	}
	if (needs_p(s, t))
		return;
	switch (t->kind) {
	case SPF_M_ALL:
		matched(s, "matched all");
		return;
	case SPF_M_IP4:
	case SPF_M_IP6:
		if (s->req.v6 == (t->kind == SPF_M_IP6) && ip_in(s, t->net, t))
			matched(s, t->kind == SPF_M_IP4 ? "matched ip4" : "matched ip6");
		else
			next_term(s);
		return;
	default:
		break;
	}
	if (!count_lookup(s) || !target_domain(s, t, domain))
		return;
	if (t->kind == SPF_M_A)
		ask(s, S_ADDR, domain, addr_type(s));
	else if (t->kind == SPF_M_EXISTS)
		ask(s, S_ADDR, domain, SPF_A); /* A, whatever the client's family */
	else if (t->kind == SPF_M_MX)
		ask(s, S_MX, domain, SPF_MX);
	else if (t->kind == SPF_M_INCLUDE)
		push(s, domain, false);
	else { /* ptr */
		snprintf(s->target, sizeof(s->target), "%s", domain);
		reverse_name(s, domain);
		ask(s, S_PTR, domain, SPF_PTR);
	}
}

/* ------------------------------------------------------------ answers */

static void on_record(struct spf *s, enum spf_dns st, const struct spf_rr *rr,
		      size_t n)
{
	struct frame *f = top(s);
	const char *rec = NULL, *error = NULL;
	size_t found = 0;
	if (st == SPF_DNS_TEMPFAIL) {
		frame_result(s, SPF_TEMPERROR, "DNS error reading the SPF record");
		return;
	}
	for (size_t i = 0; st == SPF_DNS_OK && i < n; i++)
		if (spf_is_record(rr[i].text))
			rec = rr[i].text, found++;
	if (found == 0) {
		frame_result(s, f->redirected ? SPF_PERMERROR : SPF_NONE,
			     f->redirected ? "the redirect target has no SPF record"
					   : "no SPF record");
		return;
	}
	if (found > 1 || strlen(rec) > SPF_RECORD_MAX) {
		frame_result(s, SPF_PERMERROR, found > 1 ? "more than one SPF record"
							  : "the SPF record is too long");
		return;
	}
	/* a term is at least one byte and a space: no fixed limit to hit */
	size_t max = strlen(rec) / 2 + 1;
	if ((f->record = strdup(rec)) == NULL ||
	    (f->terms = calloc(max, sizeof(*f->terms))) == NULL) {
		finish(s, SPF_TEMPERROR, "out of memory");
		return;
	}
	if (spf_parse_record(f->record, f->terms, max, &f->n_terms, &error) < 0) {
		frame_result(s, SPF_PERMERROR, error);
		return;
	}
	f->at = 0;
	s->state = S_TERM;
}

static void on_addr(struct spf *s, enum spf_dns st, const struct spf_rr *rr,
		    size_t n)
{
	const struct spf_term *t = &top(s)->terms[top(s)->at];
	if (st == SPF_DNS_TEMPFAIL) {
		finish(s, SPF_TEMPERROR, "DNS error");
		return;
	}
	if (st == SPF_DNS_NONE || n == 0) {
		if (count_void(s))
			next_term(s);
		return;
	}
	if (t->kind == SPF_M_EXISTS) {
		matched(s, "matched exists");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (ip_in(s, rr[i].addr, t)) {
			matched(s, "matched a");
			return;
		}
	next_term(s);
}

/* Keep up to SPF_NAMES_MAX target names of an MX or PTR answer. */
static void keep_names(struct spf *s, const struct spf_rr *rr, size_t n)
{
	s->n_names = s->name_at = 0;
	for (size_t i = 0; i < n && s->n_names < SPF_NAMES_MAX; i++) {
		size_t len = strlen(rr[i].text);
		if (len > 0 && rr[i].text[len - 1] == '.')
			len--;
		if (len > 0 && len <= SPF_DOMAIN_MAX)
			snprintf(s->names[s->n_names++], SPF_DOMAIN_MAX + 1, "%.*s",
				 (int)len, rr[i].text);
	}
}

/* The next name whose addresses to ask for; for ptr only names in the
 * target domain can match, so the others are not looked up. */
static void next_name(struct spf *s, enum state st)
{
	while (s->name_at < s->n_names && st == S_PTR_ADDR &&
	       !within(s->names[s->name_at], s->target))
		s->name_at++;
	if (s->name_at < s->n_names)
		ask(s, st, s->names[s->name_at], addr_type(s));
	else if (st == S_P_ADDR)
		p_finished(s); /* p stays as found */
	else
		next_term(s);
}

static void on_mx(struct spf *s, enum spf_dns st, const struct spf_rr *rr,
		  size_t n)
{
	if (st == SPF_DNS_TEMPFAIL) {
		finish(s, SPF_TEMPERROR, "DNS error");
	} else if (st == SPF_DNS_NONE || n == 0) {
		if (count_void(s))
			next_term(s);
	} else if (n > SPF_NAMES_MAX) {
		finish(s, SPF_PERMERROR, "more than 10 MX hosts");
	} else {
		keep_names(s, rr, n);
		next_name(s, S_MX_ADDR);
	}
}

/* The addresses of names[name_at], for mx, ptr or %{p}. */
static void on_name_addr(struct spf *s, enum spf_dns st,
			 const struct spf_rr *rr, size_t n)
{
	const struct spf_term *t = &top(s)->terms[top(s)->at];
	enum state now = s->state;
	bool hit = false;
	if (st == SPF_DNS_TEMPFAIL && now == S_MX_ADDR) {
		finish(s, SPF_TEMPERROR, "DNS error");
		return;
	}
	/* names that lead nowhere count as void lookups too (RFC 7208 4.6.4),
	 * so 10 mx of 10 empty hosts each cannot cost 100 queries */
	if (st == SPF_DNS_NONE && now != S_P_ADDR && !count_void(s))
		return;
	for (size_t i = 0; st == SPF_DNS_OK && i < n && !hit; i++)
		hit = now == S_MX_ADDR ? ip_in(s, rr[i].addr, t)
				       : memcmp(rr[i].addr, s->req.ip,
						s->req.v6 ? 16 : 4) == 0;
	const char *name = s->names[s->name_at++];
	if (hit && now == S_MX_ADDR) {
		matched(s, "matched mx");
	} else if (hit && now == S_PTR_ADDR) {
		matched(s, "matched ptr");
	} else if (hit && now == S_P_ADDR) {
		/* RFC 7208 7.3: the domain itself, else a subdomain, else any */
		const char *d = top(s)->domain;
		int rank = strcasecmp(name, d) == 0 ? 3 : within(name, d) ? 2 : 1;
		if (rank > top(s)->p_rank) {
			snprintf(top(s)->p, sizeof(top(s)->p), "%s", name);
			top(s)->p_rank = rank;
		}
		if (rank == 3)
			p_finished(s);
		else
			next_name(s, now);
	} else {
		next_name(s, now);
	}
}

static void on_ptr(struct spf *s, enum spf_dns st, const struct spf_rr *rr,
		   size_t n)
{
	bool p = s->state == S_P_PTR;
	if (st != SPF_DNS_OK || n == 0) {
		/* RFC 7208 5.5: a failed PTR lookup just does not match */
		if (p)
			p_finished(s);
		else if (st == SPF_DNS_TEMPFAIL || count_void(s))
			next_term(s);
		return;
	}
	keep_names(s, rr, n);
	next_name(s, p ? S_P_ADDR : S_PTR_ADDR);
}

static void start_exp(struct spf *s)
{
	struct spf_macros m;
	const char *error;
	char domain[SPF_DOMAIN_MAX + 1];
	if (!top(s)->p_done && spf_uses_p(s->exp_term->spec, s->exp_term->spec_len)) {
		start_p(s, S_EXP_NAME);
		return;
	}
	macros(s, &m);
	if (spf_expand_domain(s->exp_term->spec, s->exp_term->spec_len, &m,
			      domain, &error) != 0)
		finish(s, SPF_FAIL, s->reason); /* no explanation, still fail */
	else
		ask(s, S_EXP, domain, SPF_TXT);
}

static void expand_exp(struct spf *s)
{
	struct spf_macros m;
	const char *error;
	macros(s, &m);
	if (spf_expand(s->exp_text, strlen(s->exp_text), &m, true, s->exp,
		       sizeof(s->exp), &error) < 0)
		s->exp[0] = '\0';
	finish(s, SPF_FAIL, s->reason);
}

/* RFC 7208 6.2: exactly one TXT record, its macros expanded; anything
 * else and there is no explanation. */
static void on_exp(struct spf *s, enum spf_dns st, const struct spf_rr *rr,
		   size_t n)
{
	if (st != SPF_DNS_OK || n != 1 || (s->exp_text = strdup(rr[0].text)) == NULL) {
		finish(s, SPF_FAIL, s->reason);
		return;
	}
	if (!top(s)->p_done && spf_uses_p(s->exp_text, strlen(s->exp_text))) {
		start_p(s, S_EXP);
		return;
	}
	expand_exp(s);
}

static void p_finished(struct spf *s)
{
	top(s)->p_done = true;
	if (s->resume == S_EXP)
		expand_exp(s);
	else if (s->resume == S_EXP_NAME)
		start_exp(s);
	else
		s->state = S_TERM;
}

void spf_answer(struct spf *s, enum spf_dns status, const struct spf_rr *rr,
		size_t n)
{
	switch (s->state) {
	case S_RECORD: on_record(s, status, rr, n); break;
	case S_ADDR: on_addr(s, status, rr, n); break;
	case S_MX: on_mx(s, status, rr, n); break;
	case S_PTR:
	case S_P_PTR: on_ptr(s, status, rr, n); break;
	case S_MX_ADDR:
	case S_PTR_ADDR:
	case S_P_ADDR: on_name_addr(s, status, rr, n); break;
	case S_EXP: on_exp(s, status, rr, n); break;
	default: break;
	}
}

/* ------------------------------------------------------------ the check */

/* RFC 7208 4.3: a name that cannot be an SPF domain gives none at once. */
bool spf_domain_ok(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 0;
	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			labels++;
		} else if (c <= ' ' || c >= 127 || c == '[' || ++label > 63) {
			return false;
		}
	}
	return label > 0 && labels > 0; /* at least two labels */
}

/* s= and its parts (RFC 7208 4.3: an empty local part is "postmaster";
 * with no MAIL FROM the sender is postmaster@HELO). */
static void sender_parts(struct spf *s, const struct spf_request *req)
{
	const char *sender = req->sender != NULL ? req->sender : "";
	const char *at = strrchr(sender, '@');
	if (sender[0] == '\0' || at == NULL) {
		snprintf(s->local, sizeof(s->local), "postmaster");
		snprintf(s->sender_domain, sizeof(s->sender_domain), "%s",
			 at != NULL ? at + 1 : req->helo);
	} else {
		size_t ll = (size_t)(at - sender);
		snprintf(s->local, sizeof(s->local), "%.*s",
			 (int)(ll > 0 && ll <= SPF_LOCAL_MAX ? ll : 10),
			 ll > 0 && ll <= SPF_LOCAL_MAX ? sender : "postmaster");
		snprintf(s->sender_domain, sizeof(s->sender_domain), "%s", at + 1);
	}
	snprintf(s->sender, sizeof(s->sender), "%s@%s", s->local,
		 s->sender_domain);
}

struct spf *spf_new(const struct spf_request *req)
{
	struct spf *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->req = *req;
	s->req.domain = s->req.sender = s->req.helo = s->req.receiver = NULL;
	sender_parts(s, req);
	snprintf(s->helo, sizeof(s->helo), "%s", req->helo ? req->helo : "");
	snprintf(s->receiver, sizeof(s->receiver), "%s",
		 req->receiver ? req->receiver : "unknown");
	const char *domain = req->domain != NULL ? req->domain : "";
	if (!spf_domain_ok(domain)) {
		finish(s, SPF_NONE, "not a domain that can have SPF");
		return s;
	}
	char d[SPF_DOMAIN_MAX + 1];
	snprintf(d, sizeof(d), "%.*s",
		 (int)(strlen(domain) - (domain[strlen(domain) - 1] == '.')),
		 domain);
	push(s, d, false);
	return s;
}

int spf_next(struct spf *s, const char **name, int *type)
{
	while (s->state == S_TERM)
		step_term(s);
	if (s->state == S_DONE)
		return 0;
	*name = s->qname;
	*type = s->qtype;
	return 1;
}

enum spf_result spf_result(const struct spf *s)
{
	return s->result;
}

const char *spf_reason(const struct spf *s)
{
	return s->reason != NULL ? s->reason : "";
}

const char *spf_explanation(const struct spf *s)
{
	return s->result == SPF_FAIL ? s->exp : "";
}

void spf_free(struct spf **sp)
{
	struct spf *s = *sp;
	if (s == NULL)
		return;
	while (s->depth > 0)
		pop(s);
	free(s->exp_text);
	free(s);
	*sp = NULL;
}

const char *spf_result_name(enum spf_result r)
{
	static const char *const names[] = {
		[SPF_NONE] = "none",	     [SPF_NEUTRAL] = "neutral",
		[SPF_PASS] = "pass",	     [SPF_FAIL] = "fail",
		[SPF_SOFTFAIL] = "softfail", [SPF_TEMPERROR] = "temperror",
		[SPF_PERMERROR] = "permerror",
	};
	return (unsigned)r < sizeof(names) / sizeof(*names) ? names[r]
							    : "permerror";
}

int spf_set_ip(struct spf_request *req, const char *text)
{
	unsigned char a[16];
	memset(req->ip, 0, sizeof(req->ip));
	if (inet_pton(AF_INET, text, a) == 1) {
		memcpy(req->ip, a, 4);
		req->v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a) != 1)
		return -1;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
						 0, 0, 0, 0, 0xff, 0xff};
	req->v6 = memcmp(a, mapped, 12) != 0; /* ::ffff:a.b.c.d is IPv4 */
	memcpy(req->ip, req->v6 ? a : a + 12, req->v6 ? 16 : 4);
	return 0;
}
