/* scheduler: delivery attempts and retries. */
#include "queue/scheduler.h"

#include "db/directory.h"
#include "dkim/keyring.h"
#include "lib/durable.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mta/client.h"
#include "mta/route.h"
#include "mta/sts_cache.h"
#include "mta/tlsrpt.h"
#include "net/control.h"
#include "net/dns.h"
#include "net/inbox.h"
#include "queue/bounce.h"
#include "queue/local.h"
#include "queue/reports.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct qentry {
	struct qentry *next, *prev;
	struct scheduler *sched;
	char id[QUEUE_ID_LEN + 1];
	bool recovering;
	bool busy;          /* a delivery attempt is running */
	bool forget;        /* held or deleted during an attempt: drop after */
	bool delay_warned;  /* the sender has had the delay notice */
	unsigned attempts;
	uint64_t first_ms;  /* when the scheduler got it, for delay= */
	unsigned char *state; /* per recipient: enum rcpt_state */
	size_t n_rcpts;
	struct event *retry;
};

struct scheduler {
	const struct config *cfg;
	struct spool *spool;
	struct local_ctx local;
	struct event_base *base;
	struct inbox *inbox;
	struct pool *pool;     /* disk work: loading, local delivery, bounces */
	struct pool *out_pool; /* outbound SMTP sessions */
	struct dns *dns;       /* NULL when it could not start: remote waits */
	struct control *control; /* `postern queue` talks to us here */
	struct event *reap;      /* closes outbound sessions kept too long */
	struct event *report;    /* hourly: is a day's TLS-RPT report due? */
	atomic_bool reaping;
	struct mta_tls *tls;
	pthread_t thread;
	struct qentry *entries; /* every message held */
	struct dest *dests;     /* destinations with sessions or waiters */
	atomic_uint pending;
	atomic_bool stopping;
	unsigned running; /* attempts under way */
};

/* What became of one recipient in one attempt. */
struct outcome {
	unsigned char state; /* enum rcpt_state; PENDING: deferred */
	char why[MTA_WHY_MAX];
	char mta[DNS_NAME_MAX + 1];
};

/* A destination (a domain, or a next hop) with the sessions it has now
 * and the groups waiting for one of its [outbound] max_per_destination. */
struct dest {
	struct dest *next;
	char key[DNS_NAME_MAX + 16];
	unsigned active;
	struct group *wait_head, *wait_tail;
};

/* The remote recipients of one domain, delivered together. */
struct group {
	struct dest *dest;       /* while it holds or waits for a slot */
	struct group *wait_next;
	struct attempt *a;
	char domain[DNS_NAME_MAX + 1];
	size_t *idx; /* into the envelope's recipients */
	size_t n;
	const struct route_config *route;
	struct route_result *rr;
	bool sts_asked; /* MTA-STS applies: rr->sts was looked up */
};

/* One delivery attempt of one message, from the scheduler thread to the
 * pools and back. */
struct attempt {
	struct qentry *e;
	struct queued q;
	bool loaded;
	unsigned char *state; /* updated copy of e->state */
	struct outcome *out;
	size_t n_rcpts;
	bool gone;            /* the file is gone or damaged: forget it */
	bool deferred;
	unsigned noted_attempts; /* from the status file (after a restart) */
	bool delay_warned;
	uint64_t retry_ms;    /* when finish_work chose it: the next retry */
	char why[192];
	struct group *groups;
	size_t n_groups, groups_left;
};

struct submission {
	struct scheduler *sched;
	char id[QUEUE_ID_LEN + 1];
	bool recovering;
};

static void start_attempt(struct qentry *e);
static void remote_done(void *arg);
static struct qentry *entry_add(struct scheduler *s, const char *id,
				bool recovering);
static struct qentry *entry_find(struct scheduler *s, const char *id);
static void attempt_done(void *arg);

static void entry_free(struct scheduler *s, struct qentry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->entries = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	if (e->retry != NULL)
		event_free(e->retry);
	free(e->state);
	free(e);
	atomic_fetch_sub(&s->pending, 1);
}

static void attempt_free(struct attempt *a)
{
	for (size_t i = 0; i < a->n_groups; i++) {
		free(a->groups[i].idx);
		route_free(&a->groups[i].rr);
	}
	free(a->groups);
	if (a->loaded)
		queued_free(&a->q);
	free(a->state);
	free(a->out);
	free(a);
}

/* retry_min * 2^(attempts-1), at most retry_max, +-10% jitter */
static uint64_t retry_delay_ms(const struct config *cfg, unsigned attempts)
{
	uint64_t d = cfg->queue_retry_min_ms;
	for (unsigned i = 1; i < attempts && d < cfg->queue_retry_max_ms; i++)
		d *= 2;
	if (d > cfg->queue_retry_max_ms)
		d = cfg->queue_retry_max_ms;
	uint64_t spread = d / 10;
	if (spread > 0)
		d = d - spread + random_below((uint32_t)(2 * spread < UINT32_MAX
								 ? 2 * spread
								 : UINT32_MAX));
	return d;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	start_attempt(arg);
}

static void post_back(struct scheduler *s, inbox_fn *fn, void *arg)
{
	if (inbox_post(s->inbox, fn, arg) < 0)
		abort(); /* cannot report back: nothing safe is left to do */
}

/* ------------------------------------------------------------ prepare */

/* Read the queue file for an attempt. false when there is nothing to
 * deliver now (gone, damaged, unreadable: a->gone / a->deferred say which). */
static bool load_for_attempt(struct attempt *a)
{
	struct qentry *e = a->e;
	struct scheduler *s = e->sched;
	const char *why;
	if (atomic_load(&s->stopping)) {
		a->deferred = true; /* shutting down: it stays in the queue */
		return false;
	}
	if (spool_load(s->spool, e->id, &a->q, &why) == 0) {
		a->loaded = true;
		return true;
	}
	if (errno == EBADMSG) {
		log_error("queue=%s event=corrupt action=moved-to-corrupt "
			  "error=\"%s\"", e->id, why);
		spool_quarantine(s->spool, e->id);
		a->gone = true;
	} else if (errno == ENOENT) {
		a->gone = true;
	} else {
		log_error("queue=%s event=read-failed error=\"%s\"", e->id, why);
		snprintf(a->why, sizeof(a->why), "%s", why);
		a->deferred = true; /* keep it; try again later */
	}
	return false;
}

static void deliver_local(struct attempt *a, size_t i)
{
	struct qentry *e = a->e;
	const struct queued *q = &a->q;
	struct outcome *o = &a->out[i];
	enum store_result r = local_deliver(&e->sched->local, q, i,
					    e->recovering, o->why,
					    sizeof(o->why));
	if (r == STORE_OK) {
		o->state = RCPT_DELIVERED;
		log_info("queue=%s event=delivered rcpt=<%s> mailbox=%s "
			 "attempt=%u", q->env.id, q->env.rcpts[i].orig,
			 q->env.rcpts[i].mailbox, e->attempts + 1);
		return;
	}
	log_warn("queue=%s event=deferred rcpt=<%s> mailbox=%s reason=\"%s\" "
		 "attempt=%u", q->env.id, q->env.rcpts[i].orig,
		 q->env.rcpts[i].mailbox, o->why, e->attempts + 1);
}

static const char *rcpt_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at != NULL ? at + 1 : "";
}

/* Put remote recipient i into the group of its domain. */
static int group_add(struct attempt *a, size_t i)
{
	char dom[DNS_NAME_MAX + 1];
	snprintf(dom, sizeof(dom), "%s", rcpt_domain(a->q.env.rcpts[i].orig));
	ascii_lower(dom, strlen(dom));
	struct group *g = NULL;
	for (size_t k = 0; k < a->n_groups && g == NULL; k++)
		if (strcmp(a->groups[k].domain, dom) == 0)
			g = &a->groups[k];
	if (g == NULL) {
		g = reallocarray(a->groups, a->n_groups + 1, sizeof(*g));
		if (g == NULL)
			return -1;
		a->groups = g;
		g = &a->groups[a->n_groups++];
		memset(g, 0, sizeof(*g));
		g->a = a;
		memcpy(g->domain, dom, sizeof(dom));
		g->idx = calloc(a->n_rcpts, sizeof(*g->idx));
		if (g->idx == NULL)
			return -1;
	}
	g->idx[g->n++] = i;
	return 0;
}

/* Runs on the disk pool: load, deliver locally, group the rest. */
static void on_prepared(void *arg);
static void finish_work(struct attempt *a);

static void job_prepare(void *arg)
{
	struct attempt *a = arg;
	struct qentry *e = a->e;
	if (!load_for_attempt(a))
		goto done;
	a->n_rcpts = a->q.env.n_rcpts;
	a->state = calloc(a->n_rcpts, 1);
	a->out = calloc(a->n_rcpts, sizeof(*a->out));
	if (a->state == NULL || a->out == NULL)
		goto oom;
	struct spool_status st = {.state = a->state};
	if (e->state != NULL && e->n_rcpts == a->n_rcpts)
		memcpy(a->state, e->state, a->n_rcpts);
	else if (spool_status_read(e->sched->spool, e->id, a->n_rcpts, &st) < 0)
		log_warn("queue=%s event=status-unreadable note=\"recipients "
			 "may get a second copy\"", e->id);
	else
		a->noted_attempts = st.attempts;
	a->delay_warned = e->delay_warned || st.delay_warned;
	for (size_t i = 0; i < a->n_rcpts; i++) {
		if (a->state[i] != RCPT_PENDING)
			continue;
		if (a->q.env.rcpts[i].mailbox[0] != '\0')
			deliver_local(a, i);
		else if (group_add(a, i) < 0)
			goto oom;
	}
	if (a->n_groups == 0) {
		finish_work(a); /* nothing remote: finish right here */
		goto done;
	}
	post_back(e->sched, on_prepared, a);
	return;
oom:
	a->deferred = true;
	snprintf(a->why, sizeof(a->why), "out of memory");
done:
	post_back(e->sched, attempt_done, a);
}

/* ------------------------------------------------------------ remote */

static void job_finish(void *arg);

/* Every group has its outcome: record them on the disk pool. */
static void groups_finished(struct attempt *a)
{
	struct scheduler *s = a->e->sched;
	if (atomic_load(&s->stopping) || pool_submit(s->pool, job_finish, a) < 0) {
		a->deferred = true; /* nothing recorded: all tried again */
		attempt_done(a);
	}
}

static void group_finished(void *arg)
{
	struct group *g = arg;
	if (--g->a->groups_left == 0)
		groups_finished(g->a);
}

static void log_attempt(const struct group *g, const struct route_host *h,
			const struct mta_report *rep, const char *result,
			const char *reply)
{
	log_info("queue=%s event=attempt domain=%s mx=%s tls=%s cipher=%s "
		 "verified=%s by=%s result=%s reply=\"%s\" reused=%s",
		 g->a->q.env.id, g->domain, h->name,
		 rep->tls_version[0] ? rep->tls_version : "none",
		 rep->cipher[0] ? rep->cipher : "none",
		 rep->verified ? "yes" : "no", rep->verified_by, result, reply,
		 rep->reused ? "yes" : "no");
}

static void set_group(struct group *g, unsigned char st, const char *why,
		      const char *mta)
{
	for (size_t k = 0; k < g->n; k++) {
		struct outcome *o = &g->a->out[g->idx[k]];
		o->state = st;
		snprintf(o->why, sizeof(o->why), "%s", why);
		snprintf(o->mta, sizeof(o->mta), "%s", mta != NULL ? mta : "");
	}
}

/* The TLS a host gets under the destination's policy; with DANE that
 * depends on its TLSA records (RFC 7672 2.2), and an enforced MTA-STS
 * policy (sts, or NULL) requires a verified certificate of an MX host it
 * lists, where DANE does not apply (RFC 8461 2). NULL, or why the host must
 * not be used. */
static const char *host_tls(const struct group *g, const struct route_host *h,
			    const struct sts_policy *sts, struct mta_target *t,
			    const char **rpt)
{
	const struct config *cfg = g->a->e->sched->cfg;
	int policy = g->route != NULL ? g->route->tls : cfg->outbound_tls;
	bool enforce = sts != NULL && sts->mode == STS_MODE_ENFORCE;
	t->tls = policy;
	t->tlsa = NULL;
	t->n_tlsa = 0;
	t->dane_domain = NULL;
	t->sts = false;
	if (enforce && !sts_mx_matches(sts, h->name)) {
		t->tls = TLS_POLICY_VERIFY; /* reported as an sts failure */
		t->sts = true;
		*rpt = "validation-failure";
		return "4.7.5 the MX host is not in the domain's MTA-STS policy";
	}
	/* RFC 7672 2.2.1: mandatory DANE waits for validated MX records */
	if (policy == TLS_POLICY_DANE_ONLY && !g->rr->mx_secure &&
	    (g->route == NULL || g->route->next_hop[0] == '\0')) {
		*rpt = "dane-required";
		return "4.7.5 the MX records are not DNSSEC-validated";
	}
	if (enforce && h->tlsa_state != TLSA_USABLE) {
		t->tls = TLS_POLICY_VERIFY;
		t->sts = true;
		return NULL;
	}
	if (policy != TLS_POLICY_DANE && policy != TLS_POLICY_DANE_ONLY)
		return NULL;
	switch (h->tlsa_state) {
	case TLSA_USABLE:
		t->tls = TLS_POLICY_DANE;
		t->tlsa = h->tlsa;
		t->n_tlsa = h->n_tlsa;
		if (g->rr->mx_secure && !g->rr->implicit)
			t->dane_domain = g->domain;
		return NULL;
	case TLSA_UNUSABLE: /* published, but none for SMTP: TLS, unverified */
		t->tls = TLS_POLICY_ENCRYPT;
		return NULL;
	case TLSA_FAILED:
		*rpt = "dnssec-invalid";
		return "4.7.5 the TLSA lookup failed or did not validate "
		       "(DNSSEC)";
	default:
		*rpt = "dane-required";
		if (policy == TLS_POLICY_DANE_ONLY)
			return "4.7.5 no DNSSEC-validated TLSA records for this "
			       "host";
		t->tls = TLS_POLICY_MAY;
		return NULL;
	}
}

/* RFC 8461 5: a policy in testing mode only reports what enforce would
 * have refused; the RFC 8460 result type of that, or NULL. */
static const char *sts_testing_report(const struct group *g,
				      const struct route_host *h,
				      const struct sts_policy *sts,
				      const struct mta_report *rep)
{
	const char *fail = !sts_mx_matches(sts, h->name) ? "mx-mismatch"
			 : rep->tls_version[0] == '\0' ? "no-tls"
			 : !rep->verified		 ? "certificate"
							 : NULL;
	if (fail == NULL)
		return NULL;
	log_info("queue=%s event=mta-sts-testing domain=%s mx=%s would_fail=%s",
		 g->a->q.env.id, g->domain, h->name, fail);
	return fail[0] == 'm'	? "validation-failure"
	       : fail[0] == 'n' ? "starttls-not-supported"
				: "certificate-not-trusted";
}

/* RFC 8460: what a session (or a host skipped, failure given) tells about
 * TLS to the group's domain; MX deliveries only, sessions that tried TLS. */
static void record_tls(const struct group *g, const struct route_host *h,
		       const struct mta_target *t,
		       const struct sts_policy *sts,
		       const struct mta_report *rep, const char *failure)
{
	const struct config *cfg = g->a->e->sched->cfg;
	if (!cfg->outbound_tls_reports ||
	    (g->route != NULL && g->route->next_hop[0] != '\0'))
		return;
	if (failure == NULL)
		failure = rep->tls_failure;
	if (failure == NULL && rep->tls_version[0] == '\0')
		return; /* no TLS was tried: nothing to report */
	char ip[NETADDR_TEXT_MAX] = "";
	if (t->addr != NULL)
		netaddr_ip(t->addr, ip);
	struct tlsrpt_result r = {
		.domain = g->domain,
		.policy = t->tls == TLS_POLICY_DANE || t->tls == TLS_POLICY_DANE_ONLY
				  ? (h->tlsa_state == TLSA_NOT_ASKED ? "no-policy-found"
								     : "tlsa")
			  : sts != NULL ? "sts"
					: "no-policy-found",
		.failure = failure,
		.mx = h != NULL ? h->name : NULL,
		.ip = ip,
	};
	if (tlsrpt_record(cfg->data_dir, &r, time(NULL)) < 0)
		log_warn("event=tls-report-record-failed domain=%s", g->domain);
}

/* The MTA-STS policy of the group's domain, when one applies: fetched or
 * from the cache (blocking; this is an outbound thread). */
static const struct sts_policy *group_sts(const struct group *g,
					  struct sts_policy *p)
{
	if (!g->sts_asked)
		return NULL;
	const struct config *cfg = g->a->e->sched->cfg;
	char note[256];
	int rc = sts_policy_get(cfg, g->domain, &g->rr->sts, p, note,
				&g->a->e->sched->stopping);
	if (rc == 1 || g->rr->sts.txt != 0)
		log_info("queue=%s event=mta-sts domain=%s mode=%s note=\"%s\"",
			 g->a->q.env.id, g->domain,
			 rc == 1 ? sts_mode_name(p->mode) : "none", note);
	if (rc == 0 && g->rr->sts.txt == 1) { /* announced, but not to be had */
		struct mta_target none = {.tls = TLS_POLICY_MAY};
		struct mta_report rep = {.verified_by = "none"};
		record_tls(g, NULL, &none, p, &rep,
			   strstr(note, "bad policy") != NULL ? "sts-policy-invalid"
			   : strstr(note, "certificate") != NULL
				   ? "sts-webpki-invalid"
				   : "sts-policy-fetch-error");
	}
	return rc == 1 && p->mode != STS_MODE_NONE ? p : NULL;
}

/* Runs on the outbound pool: try each host and address in order until
 * one session works. */
static void job_remote(void *arg)
{
	struct group *g = arg;
	struct attempt *a = g->a;
	struct scheduler *s = a->e->sched;
	const struct config *cfg = s->cfg;
	struct mta_rcpt_result *res = calloc(g->n, sizeof(*res));
	char why[MTA_WHY_MAX] = "no server could be reached";
	enum mta_status st = MTA_TEMP;
	const struct route_host *last = NULL;
	struct mta_target t = {
		.ca_file = g->route != NULL ? g->route->ca_file : NULL,
		.fingerprint = g->route != NULL ? g->route->fingerprint : NULL,
		.auth_user = g->route != NULL ? g->route->auth_user : NULL,
		.auth_password = g->route != NULL ? g->route->auth_password
						  : NULL,
	};
	struct sts_policy sts_buf;
	const struct sts_policy *sts =
		atomic_load(&s->stopping) ? NULL : group_sts(g, &sts_buf);
	for (size_t h = 0; res != NULL && h < g->rr->n_hosts; h++) {
		const struct route_host *host = &g->rr->hosts[h];
		last = host;
		t.host = host->name;
		const char *rpt = NULL;
		const char *skip = host_tls(g, host, sts, &t, &rpt);
		if (skip != NULL) {
			struct mta_report none = {.verified_by = "none"};
			snprintf(why, sizeof(why), "%s", skip);
			st = MTA_TEMP;
			log_attempt(g, host, &none, "skipped", why);
			t.addr = NULL;
			record_tls(g, host, &t, sts, &none, rpt);
			continue;
		}
		for (size_t k = 0; k < host->n_addrs; k++) {
			if (atomic_load(&s->stopping))
				goto out;
			t.addr = (const struct sockaddr *)&host->addr[k];
			t.addr_len = host->addr_len[k];
			struct mta_report rep;
			st = mta_deliver(cfg, s->tls, &t, &a->q, g->idx, g->n,
					 res, &rep, why);
			const char *would = NULL;
			if (sts != NULL && sts->mode == STS_MODE_TESTING)
				would = sts_testing_report(g, host, sts, &rep);
			record_tls(g, host, &t, sts, &rep, would);
			log_attempt(g, host, &rep,
				    st == MTA_OK ? "session" : "failed",
				    st == MTA_OK ? res[0].reply : why);
			if (st == MTA_OK)
				goto out;
		}
	}
out:
	if (res == NULL) {
		set_group(g, RCPT_PENDING, "out of memory", NULL);
	} else if (st == MTA_OK) {
		for (size_t k = 0; k < g->n; k++) {
			struct outcome *o = &a->out[g->idx[k]];
			o->state = res[k].status == MTA_OK     ? RCPT_DELIVERED
				 : res[k].status == MTA_PERM ? RCPT_FAILED
							     : RCPT_PENDING;
			snprintf(o->why, sizeof(o->why), "%s", res[k].reply);
			snprintf(o->mta, sizeof(o->mta), "%s", last->name);
			log_info("queue=%s event=%s rcpt=<%s> mx=%s reply=\"%s\"",
				 a->q.env.id,
				 o->state == RCPT_DELIVERED ? "sent"
				 : o->state == RCPT_FAILED  ? "rejected"
							    : "deferred",
				 a->q.env.rcpts[g->idx[k]].orig, last->name,
				 o->why);
		}
	} else {
		set_group(g, st == MTA_PERM ? RCPT_FAILED : RCPT_PENDING, why,
			  last != NULL ? last->name : NULL);
	}
	free(res);
	post_back(s, remote_done, g);
}

static struct dest *dest_get(struct scheduler *s, const struct group *g)
{
	const char *key = g->route != NULL && g->route->next_hop[0] != '\0'
				  ? g->route->next_hop
				  : g->domain;
	for (struct dest *d = s->dests; d != NULL; d = d->next)
		if (strcmp(d->key, key) == 0)
			return d;
	struct dest *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->next = s->dests;
	s->dests = d;
	return d;
}

static void dest_release(struct scheduler *s, struct dest *d)
{
	if (d->active > 0 || d->wait_head != NULL)
		return;
	for (struct dest **p = &s->dests; *p != NULL; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	free(d);
}

/* Run g's session now if its destination has a free slot, else queue it
 * behind the others; when stopping, it finishes at once (deferred). The
 * caller releases the destination. */
static void dest_start(struct scheduler *s, struct group *g)
{
	struct dest *d = g->dest;
	bool stopping = atomic_load(&s->stopping);
	if (!stopping && d->active >= s->cfg->outbound_max_per_destination) {
		g->wait_next = NULL;
		if (d->wait_tail != NULL)
			d->wait_tail->wait_next = g;
		else
			d->wait_head = g;
		d->wait_tail = g;
		return;
	}
	if (!stopping) {
		d->active++;
		if (pool_submit(s->out_pool, job_remote, g) == 0)
			return;
		d->active--;
	}
	set_group(g, RCPT_PENDING, "shutting down", NULL);
	g->dest = NULL;
	group_finished(g);
}

/* Back from job_remote: the slot goes to the next group waiting (when
 * stopping, every waiting group finishes now). */
static void remote_done(void *arg)
{
	struct group *g = arg;
	struct scheduler *s = g->a->e->sched;
	struct dest *d = g->dest;
	g->dest = NULL;
	d->active--;
	struct group *next;
	while ((next = d->wait_head) != NULL &&
	       (d->active < s->cfg->outbound_max_per_destination ||
		atomic_load(&s->stopping))) {
		d->wait_head = next->wait_next;
		if (d->wait_head == NULL)
			d->wait_tail = NULL;
		dest_start(s, next);
	}
	dest_release(s, d);
	group_finished(g);
}

static void on_route(void *arg, struct route_result *rr)
{
	struct group *g = arg;
	struct scheduler *s = g->a->e->sched;
	g->rr = rr;
	if (rr == NULL) {
		set_group(g, RCPT_PENDING, "out of memory", NULL);
	} else if (rr->status != ROUTE_OK) {
		char why[MTA_WHY_MAX];
		snprintf(why, sizeof(why), "%s %s", rr->enhanced, rr->why);
		set_group(g, rr->status == ROUTE_PERM ? RCPT_FAILED : RCPT_PENDING,
			  why, NULL);
		log_info("queue=%s event=route-failed domain=%s status=%s "
			 "reason=\"%s\"", g->a->q.env.id, g->domain,
			 rr->status == ROUTE_PERM ? "permanent" : "temporary",
			 why);
	} else if (!atomic_load(&s->stopping) &&
		   (g->dest = dest_get(s, g)) != NULL) {
		struct dest *d = g->dest;
		dest_start(s, g);
		dest_release(s, d);
		return;
	} else {
		set_group(g, RCPT_PENDING, "shutting down", NULL);
	}
	group_finished(g);
}

/* Find where a group's mail goes: a next hop, or the MX records. */
static void route_group(struct group *g)
{
	struct scheduler *s = g->a->e->sched;
	const struct config *cfg = s->cfg;
	g->route = config_route(cfg, g->domain);
	int policy = g->route != NULL ? g->route->tls : cfg->outbound_tls;
	bool next_hop = g->route != NULL && g->route->next_hop[0] != '\0';
	g->sts_asked = cfg->outbound_mta_sts && !next_hop &&
		       (policy == TLS_POLICY_MAY || policy == TLS_POLICY_DANE);
	struct route_query q = {
		.port = (unsigned)cfg->outbound_port,
		.ipv6 = cfg->outbound_ipv6,
		.tlsa = policy == TLS_POLICY_DANE ||
			policy == TLS_POLICY_DANE_ONLY,
		.sts = g->sts_asked,
	};
	int rc = -1;
	if (s->dns == NULL) {
		rc = -1;
	} else if (next_hop) {
		char host[DNS_NAME_MAX + 1];
		const char *colon = strrchr(g->route->next_hop, ':');
		snprintf(host, sizeof(host), "%.*s",
			 (int)(colon - g->route->next_hop), g->route->next_hop);
		if (host[0] == '[') { /* [2001:db8::1]:25 */
			memmove(host, host + 1, strlen(host));
			host[strcspn(host, "]")] = '\0';
		}
		q.port = (unsigned)strtoul(colon + 1, NULL, 10);
		rc = route_resolve_host(s->dns, host, &q, on_route, g);
	} else {
		rc = route_resolve_mx(s->dns, g->domain, &q, on_route, g);
	}
	if (rc < 0) {
		set_group(g, RCPT_PENDING, "DNS is not available", NULL);
		group_finished(g);
	}
}

/* ------------------------------------------------------------ finish */

/* How long the message has been queued, in ms. */
static uint64_t queued_for_ms(const struct queued *q)
{
	int64_t now = (int64_t)time(NULL);
	return now > q->env.arrived ? (uint64_t)(now - q->env.arrived) * 1000 : 0;
}

static unsigned attempts_made(const struct attempt *a)
{
	unsigned before = a->e->attempts > a->noted_attempts ? a->e->attempts
							      : a->noted_attempts;
	return before + 1;
}

/* Choose the next retry and note it, with why each recipient still waits,
 * for `postern queue`. idx: room for every recipient. */
static void note_deferral(struct attempt *a, size_t *idx)
{
	const char **why = calloc(a->n_rcpts, sizeof(*why));
	size_t n = 0;
	unsigned attempts = attempts_made(a);
	a->retry_ms = retry_delay_ms(a->e->sched->cfg, attempts);
	for (size_t i = 0; why != NULL && i < a->n_rcpts; i++)
		if (a->state[i] == RCPT_PENDING && a->out[i].why[0] != '\0') {
			idx[n] = i;
			why[n++] = a->out[i].why;
		}
	int64_t next = (int64_t)time(NULL) + (int64_t)(a->retry_ms / 1000);
	if (why != NULL)
		spool_status_note(a->e->sched->spool, a->e->id, attempts, next,
				  idx, why, n);
	free(why);
}

/* RFC 3464: once a message has waited [queue] delay_warning, its sender
 * gets one notice that it is delayed and still being tried. */
static void warn_delay(struct attempt *a)
{
	struct scheduler *s = a->e->sched;
	const struct config *cfg = s->cfg;
	if (a->delay_warned || cfg->queue_delay_warning_ms == 0 ||
	    a->q.env.sender[0] == '\0' ||
	    queued_for_ms(&a->q) < cfg->queue_delay_warning_ms)
		return;
	struct bounce_rcpt *w = calloc(a->n_rcpts, sizeof(*w));
	size_t n = 0;
	for (size_t i = 0; w != NULL && i < a->n_rcpts; i++)
		if (a->state[i] == RCPT_PENDING)
			w[n++] = (struct bounce_rcpt){
				.index = i,
				.reason = a->out[i].why[0] ? a->out[i].why
							   : "4.0.0 deferred",
				.mta = a->out[i].mta};
	char dsn[QUEUE_ID_LEN + 1] = "";
	int b = n > 0 ? bounce_delay_queue(cfg, s->spool, &a->q, w, n, dsn) : -1;
	free(w);
	if (b < 0)
		return; /* tried again after the next attempt */
	if (b == 1)
		scheduler_submit(s, dsn, false);
	if (spool_status_warned(s->spool, a->e->id) < 0)
		log_warn("queue=%s event=status-write-failed note=\"the delay "
			 "notice may be sent again\"", a->e->id);
	a->delay_warned = true;
}

/* Bounce what failed, record outcomes, dequeue when all is done. Blocking:
 * on the disk pool. */
static void finish_work(struct attempt *a)
{
	struct qentry *e = a->e;
	struct scheduler *s = e->sched;
	bool expired = queued_for_ms(&a->q) >= s->cfg->queue_lifetime_ms;
	struct bounce_rcpt *failed = calloc(a->n_rcpts, sizeof(*failed));
	size_t *idx = calloc(a->n_rcpts, sizeof(*idx));
	unsigned char *st = calloc(a->n_rcpts, 1);
	size_t n_failed = 0, n_rec = 0;
	bool all = true;
	if (failed == NULL || idx == NULL || st == NULL) {
		a->deferred = true;
		goto out;
	}
	for (size_t i = 0; i < a->n_rcpts; i++) {
		if (a->state[i] != RCPT_PENDING)
			continue;
		struct outcome *o = &a->out[i];
		if (o->state == RCPT_PENDING && expired) {
			char why[2 * MTA_WHY_MAX];
			snprintf(why, sizeof(why), "4.4.7 gave up after %llu "
				 "hours in the queue; last: %s",
				 (unsigned long long)(queued_for_ms(&a->q) /
						      3600000),
				 o->why[0] ? o->why : "deferred");
			size_t n = strnlen(why, sizeof(o->why) - 1);
			memcpy(o->why, why, n);
			o->why[n] = '\0';
			o->state = RCPT_FAILED;
		}
		if (o->state == RCPT_FAILED)
			failed[n_failed++] = (struct bounce_rcpt){
				.index = i, .reason = o->why, .mta = o->mta};
		if (o->state != RCPT_PENDING) {
			idx[n_rec] = i;
			st[n_rec++] = o->state;
		} else {
			all = false;
		}
	}
	char dsn[QUEUE_ID_LEN + 1] = "";
	int b = n_failed > 0 ? bounce_queue(s->cfg, s->spool, &a->q, failed,
					    n_failed, dsn)
			     : 0;
	if (b < 0) {
		/* no notice: the failures stay pending, bounced next time */
		for (size_t i = 0; i < n_failed; i++)
			a->out[failed[i].index].state = RCPT_PENDING;
		a->deferred = true;
		snprintf(a->why, sizeof(a->why), "cannot queue the bounce");
		goto out;
	}
	if (b == 1)
		scheduler_submit(s, dsn, false);
	for (size_t i = 0; i < n_rec; i++)
		a->state[idx[i]] = st[i];
	if (all) {
		int rm = spool_remove(s->spool, e->id);
		if (rm < 0 && errno == ENOENT &&
		    spool_where(s->spool, e->id) == SPOOL_HELD) {
			/* held meanwhile: remember what it got, so that a
			 * release does not send it all again */
			spool_status_record(s->spool, e->id, idx, st, n_rec);
			log_info("queue=%s event=settled-while-held", e->id);
		} else if (rm < 0 && errno != ENOENT)
			log_error("queue=%s event=remove-failed error=\"%s\"",
				  e->id, strerror(errno));
		else
			log_info("queue=%s event=removed delay=%.3fs", e->id,
				 (double)(monotonic_ms() - e->first_ms) / 1000.0);
	} else {
		if (spool_status_record(s->spool, e->id, idx, st, n_rec) < 0)
			log_error("queue=%s event=status-write-failed error=\"%s\" "
				  "note=\"recipients may get a second copy\"",
				  e->id, strerror(errno));
		a->deferred = true;
		note_deferral(a, idx);
		warn_delay(a);
	}
out:
	free(failed);
	free(idx);
	free(st);
}

static void job_finish(void *arg)
{
	struct attempt *a = arg;
	finish_work(a);
	post_back(a->e->sched, attempt_done, a);
}

/* Back from job_prepare with remote recipients: route every group. */
static void on_prepared(void *arg)
{
	struct attempt *a = arg;
	struct scheduler *s = a->e->sched;
	if (atomic_load(&s->stopping)) {
		a->deferred = true;
		attempt_done(a);
		return;
	}
	a->groups_left = a->n_groups + 1; /* one held until all are asked */
	for (size_t i = 0; i < a->n_groups; i++)
		route_group(&a->groups[i]);
	if (--a->groups_left == 0)
		groups_finished(a);
}

/* ------------------------------------------------------------ attempts */

static void start_attempt(struct qentry *e)
{
	struct scheduler *s = e->sched;
	if (e->busy || atomic_load(&s->stopping))
		return;
	struct attempt *a = calloc(1, sizeof(*a));
	if (a != NULL) {
		a->e = e;
		e->busy = true; /* from here the pool thread may read e */
		s->running++;
	}
	if (a == NULL || pool_submit(s->pool, job_prepare, a) < 0) {
		if (a != NULL) {
			e->busy = false;
			s->running--;
		}
		free(a);
		struct timeval tv = {.tv_sec = 1};
		evtimer_add(e->retry, &tv); /* try again in a moment */
	}
}

/* Back on the scheduler thread, the attempt over: keep what it settled,
 * then retry or forget the message. */
static void attempt_done(void *arg)
{
	struct attempt *a = arg;
	struct qentry *e = a->e;
	struct scheduler *s = e->sched;
	e->busy = false;
	s->running--;
	if (a->state != NULL && !a->gone) {
		/* keep what this attempt settled */
		free(e->state);
		e->state = a->state;
		e->n_rcpts = a->n_rcpts;
		a->state = NULL;
		e->delay_warned = a->delay_warned;
	}
	if (a->gone || !a->deferred || e->forget) {
		entry_free(s, e);
		attempt_free(a);
		return;
	}
	e->attempts = attempts_made(a);
	e->recovering = false; /* e->state now says what was delivered */
	uint64_t ms = a->retry_ms > 0 ? a->retry_ms
				      : retry_delay_ms(s->cfg, e->attempts);
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	if (!atomic_load(&s->stopping)) {
		evtimer_add(e->retry, &tv);
		log_info("queue=%s event=retry-scheduled attempt=%u "
			 "retry_in=%.1fs%s%s%s", e->id, e->attempts,
			 (double)ms / 1000.0, a->why[0] ? " reason=\"" : "",
			 a->why, a->why[0] ? "\"" : "");
	}
	attempt_free(a);
}

/* ------------------------------------------------------------ reuse */

static void job_reap(void *arg)
{
	struct scheduler *s = arg;
	mta_reap_idle(s->tls); /* may wait on a slow QUIT: not on the loop */
	atomic_store(&s->reaping, false);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct scheduler *s = arg;
	if (atomic_exchange(&s->reaping, true))
		return; /* the last one is still at it */
	if (atomic_load(&s->stopping) || pool_submit(s->pool, job_reap, s) < 0)
		atomic_store(&s->reaping, false);
}

/* ------------------------------------------------------------ TLS-RPT */

struct report_job {
	struct scheduler *sched;
	char domain[DNS_NAME_MAX + 1];
	bool include_today;
	char rua[TLSRPT_RUA_MAX][TLSRPT_ADDR_MAX + 1];
	size_t n_rua;
};

static void on_report_queued(void *arg, const char *id)
{
	scheduler_submit(arg, id, false);
}

static void job_report(void *arg)
{
	struct report_job *r = arg;
	struct scheduler *s = r->sched;
	reports_send_tlsrpt(s->cfg, s->spool, r->domain, r->rua, r->n_rua,
			    r->include_today, time(NULL), on_report_queued, s);
	free(r);
}

/* RFC 8460 3: exactly one v=TLSRPTv1 record, or the domain wants none. */
static void on_report_txt(void *arg, const struct dns_answer *a)
{
	struct report_job *r = arg;
	struct scheduler *s = r->sched;
	if (atomic_load(&s->stopping) || a->status == DNS_TEMPFAIL ||
	    a->status == DNS_BOGUS) {
		free(r); /* the results stay for the next run */
		return;
	}
	int records = 0;
	char text[1024];
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++) {
		if (dns_txt_decode(a->data[i], a->len[i], text, sizeof(text)) < 0 ||
		    strncmp(text, "v=TLSRPTv1", 10) != 0)
			continue;
		if (records++ == 0 && tlsrpt_txt_parse(text, r->rua, &r->n_rua) != 1)
			r->n_rua = 0;
	}
	if (records != 1)
		r->n_rua = 0; /* the results are dropped */
	if (pool_submit(s->pool, job_report, r) < 0)
		free(r);
}

/* Ask every domain with results whether it wants a report. */
static unsigned reports_start(struct scheduler *s, bool include_today)
{
	char dir[PATH_MAX];
	unsigned n = 0;
	DIR *d = s->dns != NULL && path_join(dir, sizeof(dir), s->cfg->data_dir,
					      "tlsrpt") == 0
			 ? opendir(dir)
			 : NULL;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		char name[DNS_NAME_MAX + 16];
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len > DNS_NAME_MAX ||
		    strstr(de->d_name, ".taken") != NULL)
			continue;
		struct report_job *r = calloc(1, sizeof(*r));
		if (r == NULL)
			break;
		r->sched = s;
		r->include_today = include_today;
		memcpy(r->domain, de->d_name, len + 1);
		snprintf(name, sizeof(name), "_smtp._tls.%s", r->domain);
		if (dns_query(s->dns, name, DNS_T_TXT, on_report_txt, r) < 0)
			free(r);
		else
			n++;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/* Hourly: once the UTC day has changed, report the days before. The day
 * of the last run is kept in data_dir/tlsrpt/.last across restarts. */
static void on_report_timer(evutil_socket_t fd, short what, void *arg)
{
	struct scheduler *s = arg;
	char path[PATH_MAX], today[16] = "", *last = NULL;
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d\n", &tm);
	if (path_join(path, sizeof(path), s->cfg->data_dir, "tlsrpt/.last") < 0)
		return;
	bool due = read_file(path, 64, &last, &len) < 0 ||
		   strcmp(last, today) != 0;
	free(last);
	if (!due)
		return;
	log_info("event=tls-reports domains=%u", reports_start(s, false));
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fputs(today, f);
		fclose(f);
	}
}

/* ------------------------------------------------------------ control */

/* `postern queue` changes the spool itself (hold, release, delete) and then
 * tells us, so that these work with the server stopped too; here we only
 * bring our entries in line with the files. */

static struct qentry *entry_find(struct scheduler *s, const char *id)
{
	for (struct qentry *e = s->entries; e != NULL; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

/* Attempt e now, whatever its retry timer said. */
static void attempt_now(struct qentry *e)
{
	evtimer_del(e->retry);
	start_attempt(e);
}

static void control_flush_all(struct scheduler *s, struct buf *reply)
{
	unsigned now = 0, busy = 0;
	for (struct qentry *e = s->entries; e != NULL; e = e->next) {
		if (e->busy) {
			busy++;
			continue;
		}
		attempt_now(e);
		now++;
	}
	log_info("queue event=flush by=admin messages=%u under_way=%u", now, busy);
	buf_appendf(reply, "ok %u tried now, %u already under way", now, busy);
}

static void control_flush(struct scheduler *s, const char *id,
			  struct buf *reply)
{
	struct qentry *e = entry_find(s, id);
	enum spool_place where = spool_where(s->spool, id);
	if (e == NULL && where == SPOOL_QUEUED) {
		atomic_fetch_add(&s->pending, 1);
		e = entry_add(s, id, true); /* it may already have copies */
	}
	if (e == NULL) {
		buf_append_str(reply, where == SPOOL_HELD
					      ? "error it is held: release it"
					      : "error no such message");
		return;
	}
	log_info("queue=%s event=flush by=admin", id);
	if (e->busy) {
		buf_append_str(reply, "ok an attempt is under way");
		return;
	}
	attempt_now(e);
	buf_append_str(reply, "ok trying now");
}

/* The message was held or deleted: stop trying it. */
static void control_forget(struct scheduler *s, const char *id,
			   const char *event, struct buf *reply)
{
	if (spool_where(s->spool, id) == SPOOL_QUEUED) {
		buf_append_str(reply, "error it is still in the queue");
		return;
	}
	log_info("queue=%s event=%s by=admin", id, event);
	struct qentry *e = entry_find(s, id);
	if (e != NULL && e->busy) {
		e->forget = true;
		buf_append_str(reply, "ok an attempt was under way and may "
				      "still deliver it");
		return;
	}
	if (e != NULL)
		entry_free(s, e);
	buf_append_str(reply, "ok");
}

static void control_released(struct scheduler *s, const char *id,
			     struct buf *reply)
{
	if (spool_where(s->spool, id) != SPOOL_QUEUED) {
		buf_append_str(reply, "error it is not in the queue");
		return;
	}
	log_info("queue=%s event=released by=admin", id);
	struct qentry *e = entry_find(s, id);
	if (e != NULL) {
		e->forget = false;
	} else {
		atomic_fetch_add(&s->pending, 1);
		e = entry_add(s, id, true); /* it may already have copies */
	}
	if (e != NULL && !e->busy)
		attempt_now(e);
	buf_append_str(reply, e != NULL ? "ok trying now" : "error out of memory");
}

/* `postern dkim` changed the keys. */
static void dkim_reload(struct buf *reply)
{
	const char *why = "cannot open the directory";
	struct directory *d = directory_thread();
	if (d != NULL && dkim_keyring_reload(d, &why) == 0) {
		struct dkim_keyring *r = dkim_keyring_get();
		buf_appendf(reply, "ok %zu keys", dkim_keyring_size(r));
		log_info("dkim event=keys-loaded keys=%zu", dkim_keyring_size(r));
		dkim_keyring_put(&r);
	} else {
		buf_appendf(reply, "error %s", why);
	}
}

/* "flush", "flush ID", "held ID", "deleted ID", "released ID",
 * "dkim-reload", "tls-reports" */
static void on_control(void *arg, const char *line, struct buf *reply)
{
	struct scheduler *s = arg;
	const char *sp = strchr(line, ' ');
	size_t cmd_len = sp != NULL ? (size_t)(sp - line) : strlen(line);
	const char *id = sp != NULL ? sp + 1 : NULL;
#define IS(word) (cmd_len == strlen(word) && memcmp(line, word, cmd_len) == 0)
	if (IS("flush") && id == NULL)
		control_flush_all(s, reply);
	else if (IS("dkim-reload") && id == NULL)
		dkim_reload(reply);
	else if (IS("tls-reports") && id == NULL)
		buf_appendf(reply, "ok %u domains asked",
			    reports_start(s, true));
	else if (id == NULL || !queue_id_valid(id))
		buf_append_str(reply, "error expected a command and a queue id");
	else if (IS("flush"))
		control_flush(s, id, reply);
	else if (IS("held"))
		control_forget(s, id, "held", reply);
	else if (IS("deleted"))
		control_forget(s, id, "deleted", reply);
	else if (IS("released"))
		control_released(s, id, reply);
	else
		buf_append_str(reply, "error unknown command");
#undef IS
}

/* ------------------------------------------------------------ thread */

/* Hold id from now on (counted in pending by the caller). */
static struct qentry *entry_add(struct scheduler *s, const char *id,
				bool recovering)
{
	struct qentry *e = calloc(1, sizeof(*e));
	if (e != NULL)
		e->retry = evtimer_new(s->base, on_retry, e);
	if (e == NULL || e->retry == NULL) {
		log_error("queue=%s event=schedule-failed error=\"out of memory\" "
			  "note=\"delivered after the next restart\"", id);
		free(e);
		atomic_fetch_sub(&s->pending, 1);
		return NULL;
	}
	e->sched = s;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->recovering = recovering;
	e->first_ms = monotonic_ms();
	e->next = s->entries;
	if (s->entries != NULL)
		s->entries->prev = e;
	s->entries = e;
	return e;
}

static void on_submit(void *arg)
{
	struct submission *sub = arg;
	struct scheduler *s = sub->sched;
	if (entry_find(s, sub->id) != NULL) {
		/* already held (a `postern queue` command got here first):
		 * one entry per message, or it would be delivered twice */
		atomic_fetch_sub(&s->pending, 1);
		free(sub);
		return;
	}
	struct qentry *e = entry_add(s, sub->id, sub->recovering);
	free(sub);
	if (e != NULL)
		start_attempt(e);
}

void scheduler_submit(struct scheduler *s, const char *id, bool recovering)
{
	struct submission *sub = malloc(sizeof(*sub));
	if (sub == NULL) {
		log_error("queue=%s event=schedule-failed error=\"out of memory\" "
			  "note=\"delivered after the next restart\"", id);
		return;
	}
	sub->sched = s;
	snprintf(sub->id, sizeof(sub->id), "%s", id);
	sub->recovering = recovering;
	atomic_fetch_add(&s->pending, 1);
	if (inbox_post(s->inbox, on_submit, sub) < 0) {
		atomic_fetch_sub(&s->pending, 1);
		free(sub);
	}
}

unsigned scheduler_pending(struct scheduler *s)
{
	return atomic_load(&s->pending);
}

static void *scheduler_thread(void *arg)
{
	struct scheduler *s = arg;
	event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static bool uses_dane_only(const struct config *cfg)
{
	bool yes = cfg->outbound_tls == TLS_POLICY_DANE_ONLY;
	for (size_t i = 0; i < cfg->n_routes; i++)
		yes = yes || cfg->routes[i].tls == TLS_POLICY_DANE_ONLY;
	return yes;
}

struct scheduler *scheduler_start(const struct config *cfg, struct spool *spool)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	if (sts_global_init() < 0) { /* before any thread that may use it */
		free(s);
		return NULL;
	}
	s->cfg = cfg;
	s->spool = spool;
	s->local.data_dir = cfg->data_dir;
	s->local.hostname = cfg->hostname;
	s->base = event_base_new();
	s->inbox = s->base != NULL ? inbox_new(s->base) : NULL;
	s->pool = pool_new((unsigned)cfg->io_threads);
	s->out_pool = pool_new((unsigned)cfg->outbound_max_connections);
	if (s->inbox == NULL || s->pool == NULL || s->out_pool == NULL)
		goto fail;
	struct buf errors;
	buf_init(&errors, 0);
	s->tls = mta_tls_new(cfg, &errors);
	if (s->tls != NULL)
		s->dns = dns_new(s->base, cfg, &errors);
	if (s->dns != NULL && !dns_validating(s->dns) && uses_dane_only(cfg))
		log_warn("event=dane-without-dnssec note=\"no [dns] trust_anchor: "
			 "mail to dane-only destinations waits\"");
	if (s->dns == NULL) {
		/* local delivery goes on; mail for elsewhere waits */
		log_error("event=outbound-unavailable error=\"%.*s\"",
			  errors.len > 0 ? (int)errors.len - 1 : 0,
			  errors.data != NULL ? errors.data : "");
	}
	buf_free(&errors);
	if (cfg->outbound_tls_reports) {
		s->report = event_new(s->base, -1, EV_PERSIST, on_report_timer, s);
		struct timeval hourly = {.tv_sec = 3600};
		if (s->report == NULL || event_add(s->report, &hourly) < 0)
			goto fail;
	}
	if (s->tls != NULL && cfg->outbound_reuse_ms > 0) {
		s->reap = event_new(s->base, -1, EV_PERSIST, on_reap, s);
		struct timeval every = {.tv_sec = 1};
		if (s->reap == NULL || event_add(s->reap, &every) < 0)
			goto fail;
	}
	char path[PATH_MAX];
	const char *why = "the path of the control socket is too long";
	if (path_join(path, sizeof(path), cfg->data_dir, "control") < 0 ||
	    (s->control = control_open(s->base, path, on_control, s, &why)) ==
		    NULL) {
		log_error("event=control-failed path=%s/control error=\"%s\"",
			  cfg->data_dir, why);
		goto fail;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, scheduler_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail;
	return s;
fail:
	if (s->report != NULL)
		event_free(s->report);
	if (s->reap != NULL)
		event_free(s->reap);
	control_close(&s->control);
	dns_free(&s->dns);
	mta_tls_free(&s->tls);
	pool_free(&s->out_pool);
	pool_free(&s->pool);
	inbox_free(&s->inbox);
	if (s->base != NULL)
		event_base_free(s->base);
	sts_global_cleanup();
	free(s);
	return NULL;
}

static void on_stop(void *arg)
{
	struct scheduler *s = arg;
	event_base_loopbreak(s->base);
}

void scheduler_stop(struct scheduler **sp)
{
	struct scheduler *s = *sp;
	if (s == NULL)
		return;
	atomic_store(&s->stopping, true);
	inbox_post(s->inbox, on_stop, s);
	pthread_join(s->thread, NULL);
	control_close(&s->control);
	/* attempts under way finish (outbound sessions are cut short);
	 * queued ones see stopping and skip */
	if (s->tls != NULL)
		mta_abort_all(s->tls);
	pool_free(&s->out_pool);
	pool_free(&s->pool);
	/* collect their reports on this thread now that the loop is ours;
	 * DNS questions still out are cancelled (their callbacks run) */
	for (int i = 0; i < 100 && s->running > 0; i++)
		event_base_loop(s->base, EVLOOP_NONBLOCK);
	dns_free(&s->dns);
	for (int i = 0; i < 100 && s->running > 0; i++)
		event_base_loop(s->base, EVLOOP_NONBLOCK);
	if (s->reap != NULL)
		event_free(s->reap);
	if (s->report != NULL)
		event_free(s->report);
	mta_tls_free(&s->tls);
	while (s->entries != NULL)
		entry_free(s, s->entries);
	while (s->dests != NULL) { /* none should be left: sessions are done */
		struct dest *d = s->dests;
		s->dests = d->next;
		free(d);
	}
	inbox_free(&s->inbox);
	event_base_free(s->base);
	sts_global_cleanup();
	free(s);
	*sp = NULL;
}
