/*
 * reader.h: the outbox's reader thread: the reads that an event loop must
 * not make itself. A read of the store is a round trip to a database
 * (PostgreSQL: a connect timeout when it is away) or a scan of thousands of
 * rows (the trail on SQLite); made on a worker's loop, it holds every
 * connection that loop serves. A job's run() is called on the reader
 * thread with the reader's own store handle, then its done(), where a
 * server makes an event of its loop active, as with the writer's jobs.
 *
 * One thread: reads wait for each other, never for a write (the writer
 * and the forwarder have connections of their own). At most
 * CG_READER_QUEUE_MAX jobs wait; a submit beyond is refused (a client
 * asking for its trail in a loop gets 503, the gateway keeps serving).
 */
#ifndef CG_READER_H
#define CG_READER_H

#include "err.h"

#define CG_READER_QUEUE_MAX 256

struct cg_reader;
struct cg_store;

struct cg_read_job {
	/* On the reader thread. st: the reader's store, or NULL when it cannot
	 * be opened now (logged; the job answers 503). */
	void (*run)(struct cg_read_job *job, struct cg_store *st);
	/* On the reader thread, after run(); the job is the caller's again. */
	void (*done)(struct cg_read_job *job);
	void *arg;
	/* run() reads through a store of its own (the pseudonyms'): the
	 * reader's is not opened for it (a database away would cost it a
	 * connect timeout for nothing), and st is NULL */
	int own_store;
	struct cg_read_job *next; /* private */
};

/* Starts the thread; the store at path is opened at the first job. */
enum cg_err cg_reader_start(const char *path, struct cg_reader **out);
/* Queues a job: CG_ELIMIT when CG_READER_QUEUE_MAX wait already, CG_EINVAL
 * when the reader is stopping; the job is not run then. */
enum cg_err cg_reader_submit(struct cg_reader *rd, struct cg_read_job *job);
/* Runs what is queued, stops the thread and closes the store. */
void cg_reader_stop(struct cg_reader *rd);

#endif
