/* dns: libunbound on a libevent loop. */
#include "net/dns.h"

#include "lib/log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

struct pending {
	struct pending *next, *prev;
	struct dns *dns;
	int id;
	dns_done_fn *fn;
	void *arg;
};

struct dns {
	struct ub_ctx *ub;
	struct event *ev;
	struct pending *pending;
	bool validating;
};

static void unlink_pending(struct pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->dns->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

static void answer_from(struct dns_answer *a, int err, struct ub_result *r)
{
	memset(a, 0, sizeof(*a));
	if (err != 0) {
		a->status = DNS_TEMPFAIL;
		a->why = ub_strerror(err);
		return;
	}
	a->secure = r->secure != 0;
	if (r->bogus) {
		a->status = DNS_BOGUS;
		a->why = r->why_bogus != NULL ? r->why_bogus : "DNSSEC bogus";
	} else if (r->havedata) {
		a->status = DNS_OK;
		for (size_t i = 0; r->data[i] != NULL && i < DNS_RECORDS_MAX; i++) {
			a->data[i] = (const unsigned char *)r->data[i];
			a->len[i] = (size_t)r->len[i];
			a->n = i + 1;
		}
	} else if (r->nxdomain) {
		a->status = DNS_NXDOMAIN;
		a->why = "no such domain";
	} else if (r->rcode == 0) {
		a->status = DNS_NODATA;
		a->why = "no such record";
	} else {
		a->status = DNS_TEMPFAIL;
		a->why = r->rcode == 2 ? "server failure" : "refused or failed";
	}
}

static void on_result(void *arg, int err, struct ub_result *r)
{
	struct pending *p = arg;
	struct dns_answer a;
	answer_from(&a, err, r);
	unlink_pending(p);
	p->fn(p->arg, &a);
	if (r != NULL)
		ub_resolve_free(r);
	free(p);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	ub_process(d->ub);
}

/* [dns] resolver: system | recursive | address list. */
static int set_resolver(struct dns *d, const char *spec, struct buf *errors)
{
	int rc = 0;
	if (strcmp(spec, "system") == 0) {
		rc = ub_ctx_resolvconf(d->ub, NULL);
	} else if (strcmp(spec, "recursive") != 0) {
		char *copy = strdup(spec), *save = NULL;
		if (copy == NULL)
			return -1;
		for (char *t = strtok_r(copy, " ,", &save); t != NULL && rc == 0;
		     t = strtok_r(NULL, " ,", &save))
			rc = ub_ctx_set_fwd(d->ub, t);
		free(copy);
		/* RFC 6761 6.2: .test names may go to a server chosen for them;
		 * naming the servers is that choice (a lab, the test suite) */
		if (rc == 0)
			rc = ub_ctx_set_option(d->ub, "local-zone:", "test. transparent");
	}
	if (rc != 0) {
		buf_appendf(errors, "dns resolver \"%s\": %s\n", spec,
			    ub_strerror(rc));
		return -1;
	}
	/* local resolvers (systemd-resolved, a test server) are allowed */
	ub_ctx_set_option(d->ub, "do-not-query-localhost:", "no");
	return 0;
}

static int set_trust_anchor(struct dns *d, const char *file,
			    struct buf *errors)
{
	if (file[0] == '\0')
		return 0;
	if (access(file, R_OK) < 0) {
		log_warn("event=dns-no-trust-anchor file=%s error=\"%s\" "
			 "note=\"answers are not DNSSEC-validated; DANE "
			 "destinations are deferred\"", file, strerror(errno));
		return 0;
	}
	int rc = ub_ctx_add_ta_file(d->ub, file);
	if (rc != 0) {
		buf_appendf(errors, "dns trust_anchor %s: %s\n", file,
			    ub_strerror(rc));
		return -1;
	}
	d->validating = true;
	return 0;
}

struct dns *dns_new(struct event_base *base, const struct config *cfg,
		    struct buf *errors)
{
	struct dns *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->ub = ub_ctx_create();
	if (d->ub == NULL) {
		buf_appendf(errors, "dns: cannot create a resolver\n");
		free(d);
		return NULL;
	}
	if (ub_ctx_async(d->ub, 1) != 0 ||
	    set_resolver(d, cfg->dns_resolver, errors) < 0 ||
	    set_trust_anchor(d, cfg->dns_trust_anchor, errors) < 0)
		goto fail;
	d->ev = event_new(base, ub_fd(d->ub), EV_READ | EV_PERSIST,
			  on_readable, d);
	if (d->ev == NULL || event_add(d->ev, NULL) < 0)
		goto fail;
	return d;
fail:
	if (d->ev != NULL)
		event_free(d->ev);
	ub_ctx_delete(d->ub);
	free(d);
	return NULL;
}

void dns_free(struct dns **dp)
{
	struct dns *d = *dp;
	if (d == NULL)
		return;
	while (d->pending != NULL) {
		struct pending *p = d->pending;
		ub_cancel(d->ub, p->id);
		unlink_pending(p);
		struct dns_answer a = {.status = DNS_TEMPFAIL,
				       .why = "cancelled"};
		p->fn(p->arg, &a);
		free(p);
	}
	event_free(d->ev);
	ub_ctx_delete(d->ub);
	free(d);
	*dp = NULL;
}

int dns_query(struct dns *d, const char *name, int rrtype, dns_done_fn *fn,
	      void *arg)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	p->dns = d;
	p->fn = fn;
	p->arg = arg;
	/* linked first: libunbound may answer from its cache at once */
	p->next = d->pending;
	if (d->pending != NULL)
		d->pending->prev = p;
	d->pending = p;
	int rc = ub_resolve_async(d->ub, name, rrtype, 1, p, on_result, &p->id);
	if (rc != 0) {
		log_warn("event=dns-query-failed name=%s type=%d error=\"%s\"",
			 name, rrtype, ub_strerror(rc));
		unlink_pending(p);
		free(p);
		return -1;
	}
	return 0;
}

bool dns_validating(const struct dns *d)
{
	return d->validating;
}

/* ------------------------------------------------------------ rdata */

int dns_name_decode(const unsigned char *rd, size_t len, size_t *off,
		    char out[DNS_NAME_MAX + 1])
{
	size_t o = 0, i = *off;
	for (;;) {
		if (i >= len)
			return -1;
		unsigned lab = rd[i++];
		if (lab == 0)
			break;
		if (lab > 63 || i + lab > len || o + lab + 1 > DNS_NAME_MAX)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (unsigned k = 0; k < lab; k++) {
			unsigned char c = rd[i + k];
			if (c <= ' ' || c == '.' || c >= 0x7f)
				return -1; /* not a host name we can use */
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		i += lab;
	}
	out[o] = '\0';
	*off = i;
	return 0;
}

int dns_mx_decode(const unsigned char *rd, size_t len, unsigned *pref,
		  char host[DNS_NAME_MAX + 1])
{
	if (len < 3)
		return -1;
	*pref = (unsigned)rd[0] << 8 | rd[1];
	size_t off = 2;
	if (dns_name_decode(rd, len, &off, host) < 0 || off != len)
		return -1;
	return 0;
}

int dns_txt_decode(const unsigned char *rd, size_t len, char *out, size_t n)
{
	size_t o = 0, i = 0;
	while (i < len) {
		size_t sl = rd[i++];
		if (i + sl > len || o + sl + 1 > n)
			return -1;
		for (size_t k = 0; k < sl; k++) /* a NUL cannot stay in a C */
			out[o + k] = rd[i + k] ? (char)rd[i + k] : 0x7f; /* string */
		o += sl;
		i += sl;
	}
	if (o + 1 > n)
		return -1;
	out[o] = '\0';
	return 0;
}
