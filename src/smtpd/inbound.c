/* inbound: what mail from other servers waits for before it is queued.
 * At the end of the data, all at once on the worker's resolver:
 *
 *   the DKIM keys its signatures name (RFC 6376 6.1.2),
 *   the keys of its ARC chain (RFC 8617 5.2),
 *   SPF for the MAIL FROM identity and for the HELO identity (RFC 7208
 *   2.3, 2.4),
 *   the DMARC record of the From domain (RFC 7489 6.6.3),
 *
 * at most [smtp] timeout_auth_dns in all: a slow zone cannot hold a session for
 * ever, and what has no answer by then is a temperror. Then the commit job
 * checks the signatures over the body and records every result in
 * Authentication-Results. */
#include "smtpd/smtpd.h"

#include "authcheck/spfdns.h"
#include "dkim/lookup.h"
#include "lib/log.h"
#include "lib/netaddr.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct inbound;

struct key_lookup {
	struct inbound *in;
	size_t i;
	bool arc; /* a key of the ARC chain, not of a DKIM signature */
};

enum { SPF_MAILFROM, SPF_HELO, SPF_RUNS };

struct inbound {
	struct session *s;     /* NULL once the message has gone on */
	struct inbound_results r; /* r.dkim NULL once handed to the commit */
	unsigned pending;      /* answers and checks still to come */
	struct event *timer;
	struct key_lookup q[DKIM_VERIFY_MAX];
	struct key_lookup arc_q[ARC_KEYS_MAX];
	struct spf_run *spf[SPF_RUNS];
};

static void inbound_free(struct inbound *in)
{
	if (in->timer != NULL)
		event_free(in->timer);
	dkim_verify_free(&in->r.dkim);
	arc_verify_free(&in->r.arc);
	dmarc_free(&in->r.dmarc);
	free(in);
}

/* An SPF check's outcome, finished or not, into the results. */
static void take_spf(struct inbound *in, int which)
{
	struct spf_outcome *o = which == SPF_MAILFROM ? &in->r.spf_mailfrom
						      : &in->r.spf_helo;
	struct spf_run *run = in->spf[which];
	if (run == NULL)
		return;
	if (spf_run_finished(run)) {
		o->result = spf_result(spf_run_check(run));
		snprintf(o->reason, sizeof(o->reason), "%s",
			 spf_reason(spf_run_check(run)));
	} else {
		o->result = SPF_TEMPERROR;
		snprintf(o->reason, sizeof(o->reason), "no answer in time");
		in->pending--; /* it will not report now */
	}
	spf_run_abandon(run);
	in->spf[which] = NULL;
}

/* Every answer is in, or time is up: on to the commit. Late answers find
 * in->s NULL and only count down. */
static void go_on(struct inbound *in)
{
	struct session *s = in->s;
	struct inbound_results r;
	take_spf(in, SPF_MAILFROM);
	take_spf(in, SPF_HELO);
	const char *name;
	if (in->r.dmarc != NULL && dmarc_next(in->r.dmarc, &name) == 1)
		dmarc_answer(in->r.dmarc, DMARC_DNS_TEMPFAIL, NULL, 0); /* late */
	r = in->r;
	in->r.dkim = NULL;
	in->r.arc = NULL;
	in->r.dmarc = NULL;
	in->s = NULL;
	s->inbound = NULL;
	event_del(in->timer);
	if (in->pending == 0)
		inbound_free(in);
	s->jobs--;
	if (s->gone) { /* never acknowledged: the client sends it again */
		dkim_verify_free(&r.dkim);
		arc_verify_free(&r.arc);
		dmarc_free(&r.dmarc);
		session_free_if_gone(s);
		return;
	}
	smtpd_data_commit(s, &r);
}

/* One answer or check less to wait for. */
static void count_down(struct inbound *in)
{
	if (--in->pending > 0)
		return;
	if (in->s != NULL)
		go_on(in);
	else
		inbound_free(in);
}

static void key_answer(void *arg, const struct dns_answer *a)
{
	struct key_lookup *q = arg;
	if (q->arc && q->in->r.arc != NULL)
		arc_key_answer(q->in->r.arc, q->i, a);
	else if (!q->arc && q->in->r.dkim != NULL)
		dkim_key_answer(q->in->r.dkim, q->i, a);
	count_down(q->in);
}

static void ask_dmarc(struct inbound *in);

/* The _dmarc TXT records, to the check; maybe the organisational
 * domain's next. */
static void dmarc_txt(void *arg, const struct dns_answer *a)
{
	struct inbound *in = arg;
	if (in->r.dmarc != NULL && in->s != NULL) {
		enum { TXT_MAX = 4096 };
		char *text = a->status == DNS_OK ? malloc(a->n * TXT_MAX + 1) : NULL;
		const char *txt[DNS_RECORDS_MAX];
		size_t n = 0;
		for (size_t i = 0; text != NULL && i < a->n; i++)
			if (dns_txt_decode(a->data[i], a->len[i], text + n * TXT_MAX,
					   TXT_MAX) == 0)
				txt[n] = text + n * TXT_MAX, n++;
		dmarc_answer(in->r.dmarc,
			     a->status == DNS_OK && text != NULL ? DMARC_DNS_OK
			     : a->status == DNS_NODATA || a->status == DNS_NXDOMAIN
				     ? DMARC_DNS_NONE
				     : DMARC_DNS_TEMPFAIL,
			     txt, n);
		free(text);
		ask_dmarc(in);
	}
	count_down(in);
}

static void ask_dmarc(struct inbound *in)
{
	const char *name;
	if (dmarc_next(in->r.dmarc, &name) != 1)
		return;
	in->pending++;
	struct dns *dns = smtpd_worker_dns(in->s->w);
	if (dns_query(dns, name, DNS_T_TXT, dmarc_txt, in) < 0) {
		in->pending--;
		dmarc_answer(in->r.dmarc, DMARC_DNS_TEMPFAIL, NULL, 0);
	}
}

static void spf_done(void *arg, struct spf_run *run)
{
	count_down(arg);
}

static void out_of_time(evutil_socket_t fd, short what, void *arg)
{
	struct inbound *in = arg;
	log_info("session=%s event=auth-dns-late pending=%u", in->s->id,
		 in->pending);
	go_on(in);
}

void smtpd_inbound_hurry(struct session *s)
{
	if (s->inbound != NULL)
		go_on(s->inbound);
}

/* Ask for each key the signatures need. */
static void ask_keys(struct session *s, struct inbound *in)
{
	struct dns *dns = smtpd_worker_dns(s->w);
	for (size_t i = 0; i < dkim_verify_count(in->r.dkim); i++) {
		const char *name = dkim_verify_key_name(in->r.dkim, i);
		in->q[i] = (struct key_lookup){in, i, false};
		in->pending++; /* before: an answer may come at once */
		if (name == NULL ||
		    dns_query(dns, name, DNS_T_TXT, key_answer, &in->q[i]) < 0)
			in->pending--;
	}
}

/* The same for the ARC chain's keys (each distinct name once). */
static void ask_arc_keys(struct session *s, struct inbound *in)
{
	struct dns *dns = smtpd_worker_dns(s->w);
	for (size_t k = 0; k < arc_verify_lookups(in->r.arc); k++) {
		in->arc_q[k] = (struct key_lookup){in, k, true};
		in->pending++;
		if (dns_query(dns, arc_verify_key_name(in->r.arc, k),
			      DNS_T_TXT, key_answer, &in->arc_q[k]) < 0)
			in->pending--;
	}
}

/* SPF for MAIL FROM (unless it is <>: then HELO is the identity that
 * counts, RFC 7208 2.4) and for HELO. */
static void start_spf(struct session *s, struct inbound *in)
{
	const char *sender = s->tx.sender, *at = strrchr(sender, '@');
	struct spf_request req = {.helo = s->helo, .receiver = s->sd->cfg->hostname,
				  .now = (int64_t)time(NULL)};
	if (spf_set_ip(&req, s->peer_ip) < 0)
		return;
	for (int which = 0; which < SPF_RUNS; which++) {
		struct spf_outcome *o = which == SPF_MAILFROM ? &in->r.spf_mailfrom
							      : &in->r.spf_helo;
		if (which == SPF_MAILFROM && (sender[0] == '\0' || at == NULL))
			continue;
		/* RFC 7208 2.3: HELO is checked when it is a domain name */
		if (which == SPF_HELO && !spf_domain_ok(s->helo))
			continue;
		req.sender = which == SPF_MAILFROM ? sender : "";
		req.domain = which == SPF_MAILFROM ? at + 1 : s->helo;
		o->checked = true;
		snprintf(o->identity, sizeof(o->identity), "%s",
			 which == SPF_MAILFROM ? sender : s->helo);
		in->pending++;
		in->spf[which] = spf_run_start(smtpd_worker_dns(s->w), &req,
					       spf_done, in);
		if (in->spf[which] == NULL) {
			in->pending--;
			o->result = SPF_TEMPERROR;
			snprintf(o->reason, sizeof(o->reason), "out of memory");
		}
	}
}

void smtpd_inbound_start(struct session *s)
{
	struct inbound *in = calloc(1, sizeof(*in));
	if (in != NULL)
		in->r.dkim = dkim_verify_new(s->tx.headers.data ? s->tx.headers.data
								: "",
					     s->tx.headers.len, (int64_t)time(NULL));
	if (in != NULL)
		in->r.arc = arc_verify_new(s->tx.headers.data ? s->tx.headers.data
							      : "",
					   s->tx.headers.len);
	if (in != NULL)
		in->r.dmarc = dmarc_new(s->sd->psl, s->tx.headers.data ? s->tx.headers.data
									 : "",
					s->tx.headers.len);
	if (in == NULL || in->r.dkim == NULL || in->r.arc == NULL ||
	    in->r.dmarc == NULL ||
	    (in->timer = evtimer_new(s->w->base, out_of_time, in)) == NULL) {
		if (in != NULL)
			inbound_free(in);
		smtpd_data_commit(s, NULL); /* unchecked is better than lost */
		return;
	}
	in->s = s;
	s->inbound = in;
	s->phase = P_COMMIT; /* no input until the reply */
	s->jobs++;
	in->pending++; /* held while asking, so no answer can finish it */
	in->r.forwarder = netaddr_in_networks(s->peer_ip, s->sd->cfg->dmarc_forwarders,
					      &(const char *){NULL}) == 1;
	ask_keys(s, in);
	ask_arc_keys(s, in);
	start_spf(s, in);
	ask_dmarc(in);
	uint64_t ms = s->sd->cfg->smtp_timeout_auth_dns_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(in->timer, &tv);
	count_down(in);
}
