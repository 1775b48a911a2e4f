/* inbound: what mail from other servers waits for before it is queued.
 * The DKIM keys its signatures name are asked for all at once on the
 * worker's resolver (at most SMTP_AUTH_DNS_MS in all: a slow zone cannot
 * hold a session for ever; keys not in by then give temperror); then the
 * commit job checks the signatures over the body and records the results
 * in Authentication-Results. */
#include "smtpd/smtpd.h"

#include "dkim/lookup.h"
#include "lib/log.h"

#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

struct inbound;

struct key_lookup {
	struct inbound *in;
	size_t i;
};

struct inbound {
	struct session *s;     /* NULL once the message has gone on */
	struct dkim_verify *v; /* NULL once handed to the commit */
	unsigned pending;      /* answers still to come */
	struct event *timer;
	struct key_lookup q[DKIM_VERIFY_MAX];
};

static void inbound_free(struct inbound *in)
{
	if (in->timer != NULL)
		event_free(in->timer);
	dkim_verify_free(&in->v);
	free(in);
}

/* Every answer is in, or time is up: on to the commit. Late answers find
 * in->s NULL and only count down. */
static void go_on(struct inbound *in)
{
	struct session *s = in->s;
	struct dkim_verify *v = in->v;
	in->s = NULL;
	in->v = NULL;
	event_del(in->timer);
	if (in->pending == 0)
		inbound_free(in);
	s->jobs--;
	if (s->gone) { /* never acknowledged: the client sends it again */
		dkim_verify_free(&v);
		session_free_if_gone(s);
		return;
	}
	smtpd_data_commit(s, v);
}

static void key_answer(void *arg, const struct dns_answer *a)
{
	struct key_lookup *q = arg;
	struct inbound *in = q->in;
	if (in->v != NULL)
		dkim_key_answer(in->v, q->i, a);
	if (--in->pending > 0)
		return;
	if (in->s != NULL)
		go_on(in);
	else
		inbound_free(in);
}

static void out_of_time(evutil_socket_t fd, short what, void *arg)
{
	struct inbound *in = arg;
	log_info("session=%s event=dkim-keys-late pending=%u", in->s->id,
		 in->pending);
	go_on(in);
}

/* Ask for each key the signatures need. */
static void ask(struct session *s, struct inbound *in)
{
	for (size_t i = 0; i < dkim_verify_count(in->v); i++) {
		const char *name = dkim_verify_key_name(in->v, i);
		in->q[i] = (struct key_lookup){in, i};
		in->pending++; /* before: an answer may come at once */
		if (name == NULL ||
		    dns_query(s->w->dns, name, DNS_T_TXT, key_answer, &in->q[i]) < 0)
			in->pending--;
	}
}

void smtpd_inbound_start(struct session *s)
{
	struct inbound *in = calloc(1, sizeof(*in));
	if (in != NULL)
		in->v = dkim_verify_new(s->tx.headers.data ? s->tx.headers.data : "",
					s->tx.headers.len, (int64_t)time(NULL));
	if (in == NULL || in->v == NULL ||
	    (in->timer = evtimer_new(s->w->base, out_of_time, in)) == NULL) {
		if (in != NULL)
			inbound_free(in);
		smtpd_data_commit(s, NULL); /* unchecked is better than lost */
		return;
	}
	in->s = s;
	s->phase = P_COMMIT; /* no input until the reply */
	s->jobs++;
	in->pending++; /* held while asking, so no answer can finish it */
	ask(s, in);
	struct timeval tv = {SMTP_AUTH_DNS_MS / 1000, 0};
	evtimer_add(in->timer, &tv);
	if (--in->pending == 0)
		go_on(in);
}
