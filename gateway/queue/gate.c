/* gate.c: turns at the store's write lock; see gate.h. */
#include <pthread.h>
#include <stdlib.h>

#include "gate.h"

struct cg_store_gate {
	pthread_mutex_t lock;
	pthread_cond_t free;
	bool busy;
	int first; /* priority callers waiting */
};

struct cg_store_gate *
cg_store_gate_new(void)
{
	struct cg_store_gate *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->free, NULL);
	return g;
}

void
cg_store_gate_free(struct cg_store_gate *g)
{
	if (!g)
		return;
	pthread_cond_destroy(&g->free);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void
cg_store_gate_enter(struct cg_store_gate *g, bool priority)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	if (priority)
		g->first++;
	while (g->busy || (!priority && g->first > 0))
		pthread_cond_wait(&g->free, &g->lock);
	if (priority)
		g->first--;
	g->busy = true;
	pthread_mutex_unlock(&g->lock);
}

void
cg_store_gate_leave(struct cg_store_gate *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->busy = false;
	pthread_cond_broadcast(&g->free);
	pthread_mutex_unlock(&g->lock);
}
