/* spfdns: SPF checks on the asynchronous resolver. */
#include "authcheck/spfdns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct spf_run {
	struct dns *dns;
	struct spf *spf;
	int qtype;
	bool asking;    /* a query is out */
	bool finished;
	bool abandoned;
	spf_run_done_fn *done;
	void *arg;
};

static void ask_next(struct spf_run *r);

/* Room in buf for one record's text: a TXT text is never longer than its
 * rdata, a name never longer than DNS_NAME_MAX. */
static size_t slot(size_t len)
{
	return len + DNS_NAME_MAX + 2;
}

/* The answer's records as the check wants them, text in buf (a slot()
 * each). A TXT record over SPF_RECORD_MAX is kept whole: the check must
 * see it to refuse it. */
static size_t decode(int qtype, const struct dns_answer *a, struct spf_rr *rr,
		     char *buf)
{
	size_t n = 0;
	for (size_t i = 0; i < a->n; i++) {
		const unsigned char *rd = a->data[i];
		size_t len = a->len[i], off = 0;
		unsigned pref;
		char name[DNS_NAME_MAX + 1];
		memset(&rr[n], 0, sizeof(rr[n]));
		rr[n].text = buf;
		if ((qtype == SPF_A && len == 4) || (qtype == SPF_AAAA && len == 16)) {
			memcpy(rr[n].addr, rd, len);
			buf[0] = '\0';
		} else if (qtype == SPF_TXT) {
			if (dns_txt_decode(rd, len, buf, slot(len)) < 0)
				continue;
		} else if ((qtype == SPF_MX && dns_mx_decode(rd, len, &pref, name) == 0) ||
			   (qtype == SPF_PTR && dns_name_decode(rd, len, &off, name) == 0)) {
			snprintf(buf, slot(len), "%s", name);
		} else {
			continue;
		}
		buf += slot(len);
		n++;
	}
	return n;
}

static void on_answer(void *arg, const struct dns_answer *a)
{
	struct spf_run *r = arg;
	r->asking = false;
	if (r->abandoned) {
		spf_free(&r->spf);
		free(r);
		return;
	}
	struct spf_rr rr[DNS_RECORDS_MAX];
	char *buf = NULL;
	size_t room = 1;
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++)
		room += slot(a->len[i]);
	enum spf_dns st = a->status == DNS_OK ? SPF_DNS_OK
			  : a->status == DNS_NODATA || a->status == DNS_NXDOMAIN
				  ? SPF_DNS_NONE
				  : SPF_DNS_TEMPFAIL;
	if (st == SPF_DNS_OK && a->n > 0 && (buf = malloc(room)) == NULL)
		st = SPF_DNS_TEMPFAIL;
	size_t n = buf != NULL ? decode(r->qtype, a, rr, buf) : 0;
	spf_answer(r->spf, st, rr, n);
	free(buf);
	ask_next(r);
}

static void ask_next(struct spf_run *r)
{
	const char *name;
	int type;
	while (spf_next(r->spf, &name, &type) == 1) {
		r->qtype = type;
		r->asking = true;
		if (dns_query(r->dns, name, type, on_answer, r) == 0)
			return;
		r->asking = false;
		spf_answer(r->spf, SPF_DNS_TEMPFAIL, NULL, 0);
	}
	r->finished = true;
	r->done(r->arg, r);
}

struct spf_run *spf_run_start(struct dns *dns, const struct spf_request *req,
			      spf_run_done_fn *done, void *arg)
{
	struct spf_run *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->spf = spf_new(req)) == NULL) {
		free(r);
		return NULL;
	}
	r->dns = dns;
	r->done = done;
	r->arg = arg;
	ask_next(r);
	return r;
}

const struct spf *spf_run_check(const struct spf_run *r)
{
	return r->spf;
}

bool spf_run_finished(const struct spf_run *r)
{
	return r->finished;
}

void spf_run_abandon(struct spf_run *r)
{
	if (r == NULL)
		return;
	r->abandoned = true;
	if (!r->asking) {
		spf_free(&r->spf);
		free(r);
	}
}
