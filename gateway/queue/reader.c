/* reader.c: the outbox's reader thread; see reader.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "reader.h"
#include "store.h"

/* After a failed open, the next try waits this long: a database that is
 * away is not asked again for every job (each would wait out a connect
 * timeout); meanwhile jobs run with no store and answer 503. */
#define REOPEN_MS 1000

struct cg_reader {
	char *path;
	struct cg_store *store;
	long long failed_ms; /* when the last open failed, 0: it did not */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct cg_read_job *queue, **tail;
	size_t waiting;
	int stopping;
};

static struct cg_store *
store_of(struct cg_reader *rd)
{
	char why[512];
	long long now = cg_clock_mono_ms();

	if (rd->store)
		return rd->store;
	if (rd->failed_ms && now - rd->failed_ms < REOPEN_MS)
		return NULL;
	if (cg_store_open_existing(rd->path, &rd->store, why, sizeof(why))) {
		/* why names the store, never a password (store.h) */
		cg_log(CG_LOG_ERROR, "outbox: the reader cannot open the store: %s", why);
		rd->store = NULL;
		rd->failed_ms = now ? now : 1;
	} else {
		rd->failed_ms = 0;
	}
	return rd->store;
}

static void *
reader_main(void *arg)
{
	struct cg_reader *rd = arg;

	for (;;) {
		struct cg_read_job *job;

		pthread_mutex_lock(&rd->lock);
		while (!rd->queue && !rd->stopping)
			pthread_cond_wait(&rd->wake, &rd->lock);
		job = rd->queue;
		if (!job) { /* stopping, and nothing left */
			pthread_mutex_unlock(&rd->lock);
			return NULL;
		}
		rd->queue = job->next;
		if (!rd->queue)
			rd->tail = &rd->queue;
		rd->waiting--;
		pthread_mutex_unlock(&rd->lock);
		job->next = NULL;
		job->run(job, job->own_store ? NULL : store_of(rd));
		job->done(job);
	}
}

enum cg_err
cg_reader_start(const char *path, struct cg_reader **out)
{
	struct cg_reader *rd = calloc(1, sizeof(*rd));

	*out = NULL;
	if (!rd || !(rd->path = strdup(path))) {
		free(rd);
		return CG_ENOMEM;
	}
	rd->tail = &rd->queue;
	pthread_mutex_init(&rd->lock, NULL);
	pthread_cond_init(&rd->wake, NULL);
	if (pthread_create(&rd->thread, NULL, reader_main, rd)) {
		pthread_cond_destroy(&rd->wake);
		pthread_mutex_destroy(&rd->lock);
		free(rd->path);
		free(rd);
		return CG_ENOMEM;
	}
	*out = rd;
	return CG_OK;
}

enum cg_err
cg_reader_submit(struct cg_reader *rd, struct cg_read_job *job)
{
	enum cg_err result = CG_OK;

	job->next = NULL;
	pthread_mutex_lock(&rd->lock);
	if (rd->stopping) {
		result = CG_EINVAL;
	} else if (rd->waiting >= CG_READER_QUEUE_MAX) {
		result = CG_ELIMIT;
	} else {
		*rd->tail = job;
		rd->tail = &job->next;
		rd->waiting++;
		pthread_cond_signal(&rd->wake);
	}
	pthread_mutex_unlock(&rd->lock);
	return result;
}

void
cg_reader_stop(struct cg_reader *rd)
{
	if (!rd)
		return;
	pthread_mutex_lock(&rd->lock);
	rd->stopping = 1;
	pthread_cond_signal(&rd->wake);
	pthread_mutex_unlock(&rd->lock);
	pthread_join(rd->thread, NULL);
	cg_store_close(rd->store);
	pthread_cond_destroy(&rd->wake);
	pthread_mutex_destroy(&rd->lock);
	free(rd->path);
	free(rd);
}
