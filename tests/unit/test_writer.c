/* test_writer.c: the outbox's group-commit writer, on a real file. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"
#include "writer.h"

#define THREADS 4
#define JOBS    400 /* per thread */

static atomic_int done_count, failed_count;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

struct job {
	struct cg_outbox_job j;
	struct cg_msg_in msgs[2];
	int64_t ids[2];
	char body[2][32], key[16];
};

static void
on_done(struct cg_outbox_job *j, void *arg)
{
	(void)arg;
	if (j->err)
		atomic_fetch_add(&failed_count, 1);
	pthread_mutex_lock(&done_lock);
	atomic_fetch_add(&done_count, 1);
	pthread_cond_broadcast(&done_cond);
	pthread_mutex_unlock(&done_lock);
}

static void
wait_done(int n)
{
	pthread_mutex_lock(&done_lock);
	while (atomic_load(&done_count) < n)
		pthread_cond_wait(&done_cond, &done_lock);
	pthread_mutex_unlock(&done_lock);
}

static void
fill(struct job *jb, int t, int i, const char *dest)
{
	int k;

	memset(jb, 0, sizeof(*jb));
	snprintf(jb->key, sizeof(jb->key), "p%d-%d", t, i % 7);
	for (k = 0; k < 2; k++) {
		snprintf(jb->body[k], sizeof(jb->body[k]), "{\"t\":%d,\"i\":%d,\"k\":%d}", t, i, k);
		jb->msgs[k] = (struct cg_msg_in){.txid = "tx",
		                                 .dest = dest,
		                                 .key = jb->key,
		                                 .type = "record",
		                                 .body = jb->body[k],
		                                 .len = strlen(jb->body[k])};
	}
	jb->j.msgs = jb->msgs;
	jb->j.n = 2;
	jb->j.ids = jb->ids;
	jb->j.done = on_done;
}

struct producer {
	struct cg_writer *w;
	struct job *jobs;
	int t;
};

static void *
produce(void *arg)
{
	struct producer *p = arg;
	int i;

	for (i = 0; i < JOBS; i++) {
		fill(&p->jobs[i], p->t, i, "registry");
		cg_writer_submit(p->w, &p->jobs[i].j);
	}
	return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Four threads put 1,600 jobs (3,200 messages) at once: every one is
 * stored, with its own ids, and they share commits (the group commit:
 * fewer commits than jobs, one fsync each). */
static void
concurrent_puts_share_commits(void **state)
{
	struct job *jobs = calloc(THREADS * JOBS, sizeof(*jobs));
	struct producer prod[THREADS];
	pthread_t th[THREADS];
	struct cg_writer *w;
	struct cg_store *s;
	struct cg_store_stats st;
	int64_t *ids = calloc(THREADS * JOBS * 2, sizeof(*ids));
	uint64_t commits, done;
	char why[256];
	int t, i;

	(void)state;
	assert_non_null(jobs);
	assert_non_null(ids);
	assert_int_equal(cg_writer_start(test_tmp_path, &w, why, sizeof(why)), CG_OK);
	for (t = 0; t < THREADS; t++) {
		prod[t] = (struct producer){w, jobs + t * JOBS, t};
		assert_int_equal(pthread_create(&th[t], NULL, produce, &prod[t]), 0);
	}
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	wait_done(THREADS * JOBS);
	assert_int_equal(atomic_load(&failed_count), 0);
	cg_writer_counts(w, &commits, &done);
	cg_writer_stop(w);
	print_message("%d jobs in %llu commits\n", THREADS * JOBS, (unsigned long long)commits);
	assert_int_equal(done, THREADS * JOBS);
	assert_true(commits < done);
	for (i = 0; i < THREADS * JOBS; i++) {
		ids[2 * i] = jobs[i].ids[0];
		ids[2 * i + 1] = jobs[i].ids[1];
		assert_true(jobs[i].ids[1] == jobs[i].ids[0] + 1); /* a job's messages together */
	}
	qsort(ids, THREADS * JOBS * 2, sizeof(*ids), cmp_id);
	for (i = 1; i < THREADS * JOBS * 2; i++)
		assert_true(ids[i] != ids[i - 1]);
	assert_int_equal(cg_store_open(test_tmp_path, &s, why, sizeof(why)), CG_OK);
	assert_int_equal(cg_store_stats(s, "registry", &st), CG_OK);
	assert_int_equal(st.count[CG_MSG_QUEUED], THREADS * JOBS * 2);
	cg_store_close(s);
	free(jobs);
	free(ids);
}

/* A job that cannot be stored (a message without a destination) fails
 * alone: the jobs around it, in its group or not, are stored. */
static void
a_bad_job_fails_alone(void **state)
{
	struct job jobs[9];
	struct cg_writer *w;
	struct cg_store *s;
	struct cg_store_stats st;
	char why[256];
	int i, before = atomic_load(&done_count);

	(void)state;
	atomic_store(&failed_count, 0);
	assert_int_equal(cg_writer_start(test_tmp_path, &w, why, sizeof(why)), CG_OK);
	for (i = 0; i < 9; i++) {
		fill(&jobs[i], 9, i, "other");
		if (i == 4)
			jobs[i].msgs[1].dest = NULL; /* NOT NULL: refused by the store */
		cg_writer_submit(w, &jobs[i].j);
	}
	wait_done(before + 9);
	cg_writer_stop(w);
	assert_int_equal(atomic_load(&failed_count), 1);
	assert_int_not_equal(jobs[4].j.err, CG_OK);
	assert_int_equal(jobs[3].j.err, CG_OK);
	assert_int_equal(jobs[5].j.err, CG_OK);
	assert_int_equal(cg_store_open(test_tmp_path, &s, why, sizeof(why)), CG_OK);
	assert_int_equal(cg_store_stats(s, "other", &st), CG_OK);
	assert_int_equal(st.count[CG_MSG_QUEUED], 8 * 2); /* none of the bad job's two */
	cg_store_close(s);
}

static int
setup(void **state)
{
	(void)state;
	return test_tmp_setup("outbox.db");
}

static int
teardown(void **state)
{
	(void)state;
	return test_tmp_teardown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(concurrent_puts_share_commits),
	        cmocka_unit_test(a_bad_job_fails_alone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
