/* inbox: cross-thread calls onto an event loop. */
#include "net/inbox.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct letter {
	struct letter *next;
	inbox_fn *fn;
	void *arg;
};

struct inbox {
	pthread_mutex_t mu;
	struct letter *head, *tail;
	bool signalled;
	struct event *ev;
};

static void inbox_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct inbox *ib = arg;
	pthread_mutex_lock(&ib->mu);
	struct letter *l = ib->head;
	ib->head = ib->tail = NULL;
	ib->signalled = false;
	pthread_mutex_unlock(&ib->mu);
	while (l != NULL) {
		struct letter *next = l->next;
		l->fn(l->arg);
		free(l);
		l = next;
	}
}

struct inbox *inbox_new(struct event_base *base)
{
	struct inbox *ib = calloc(1, sizeof(*ib));
	if (ib == NULL)
		return NULL;
	ib->ev = event_new(base, -1, 0, inbox_deliver, ib);
	if (ib->ev == NULL) {
		free(ib);
		return NULL;
	}
	pthread_mutex_init(&ib->mu, NULL);
	return ib;
}

void inbox_free(struct inbox **ibp)
{
	struct inbox *ib = *ibp;
	if (ib == NULL)
		return;
	event_free(ib->ev);
	for (struct letter *l = ib->head, *next; l != NULL; l = next) {
		next = l->next;
		free(l);
	}
	pthread_mutex_destroy(&ib->mu);
	free(ib);
	*ibp = NULL;
}

int inbox_post(struct inbox *ib, inbox_fn *fn, void *arg)
{
	struct letter *l = malloc(sizeof(*l));
	if (l == NULL)
		return -1;
	l->next = NULL;
	l->fn = fn;
	l->arg = arg;
	pthread_mutex_lock(&ib->mu);
	if (ib->tail != NULL)
		ib->tail->next = l;
	else
		ib->head = l;
	ib->tail = l;
	bool wake = !ib->signalled;
	ib->signalled = true;
	/* event_active under the lock: inbox_free cannot run in between */
	if (wake)
		event_active(ib->ev, EV_READ, 0);
	pthread_mutex_unlock(&ib->mu);
	return 0;
}
