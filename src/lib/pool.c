/* pool: fixed-size thread pool with a FIFO job queue. */
#include "lib/pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
	struct job *next;
	pool_fn *fn;
	void *arg;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job *head, *tail;
	size_t backlog;
	bool stopping;
	unsigned n_threads;
	pthread_t *threads;
};

static void *pool_thread(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->mu);
		struct job *j = p->head;
		if (j == NULL)
			break; /* stopping, and the queue is empty */
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->backlog--;
		pthread_mutex_unlock(&p->mu);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *pool_new(unsigned n)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->threads = calloc(n, sizeof(*p->threads));
	if (p->threads == NULL) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	/* pool threads take no signals: the main thread handles them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&p->threads[i], NULL, pool_thread, p) != 0)
			break;
		p->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->n_threads == 0) {
		pool_free(&p);
		return NULL;
	}
	return p;
}

int pool_submit(struct pool *p, pool_fn *fn, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (j == NULL)
		return -1;
	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		pthread_mutex_unlock(&p->mu);
		free(j);
		return -1;
	}
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->backlog++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

size_t pool_backlog(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	size_t n = p->backlog;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void pool_free(struct pool **pp)
{
	struct pool *p = *pp;
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p);
	*pp = NULL;
}
