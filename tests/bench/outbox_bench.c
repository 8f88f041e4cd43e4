/*
 * outbox_bench.c: the outbox's group commit in process, for
 * tests/bench/outbox.sh: a writer (cg_writer_start) on a fresh store file,
 * THREADS submitter threads, each putting one message (BODY, as the server
 * puts one mapped item) and waiting until it is durable before the next, as
 * a connection with one request in flight does; for SECONDS. No sockets, no
 * TLS, no HTTP: the store, SQLite and the fsyncs alone.
 *
 * Prints one JSON line: durable messages/s, commits/s, the group size
 * (jobs / commits, cg_writer_counts), submit-to-durable latency (p50, p99,
 * from every job), the writer's commit time (mean, and the commit histogram
 * of cg_writer_latency), the CPU time of the process and the bytes it wrote
 * and read (/proc/self/io) per message, and the messages found in the store
 * once it was closed and opened again: every job done must be there, or the
 * exit status is 1.
 *   outbox_bench STORE BODY THREADS SECONDS
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "writer.h"

#define MAX_THREADS 256
#define MAX_SAMPLES 2000000

static const char *body;
static size_t body_len;
static struct cg_writer *writer;
static atomic_int stop;
static atomic_long failed;
static double *lat; /* seconds, per job done */
static atomic_long nlat;

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t done;
	int finished;
};

static double
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A UUID's text from a 64-bit number, scattered (splitmix64): the store's
 * indexes see keys and transaction ids in no order, as the gateway's are. */
static void
uuid_of(uint64_t x, char out[37])
{
	uint64_t a = x + 0x9e3779b97f4a7c15ULL, b;

	a = (a ^ (a >> 30)) * 0xbf58476d1ce4e5b9ULL;
	a = (a ^ (a >> 27)) * 0x94d049bb133111ebULL;
	a ^= a >> 31;
	b = a * 0x2545f4914f6cdd1dULL;
	snprintf(out, 37, "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(a >> 32),
	         (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff, (unsigned)(b >> 52),
	         (unsigned long long)(b & 0xffffffffffffULL));
}

static void
job_done(struct cg_outbox_job *job, void *arg)
{
	struct waiter *w = arg;

	(void)job;
	pthread_mutex_lock(&w->lock);
	w->finished = 1;
	pthread_cond_signal(&w->done);
	pthread_mutex_unlock(&w->lock);
}

static void *
submitter(void *arg)
{
	long me = (long)arg, i;
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	char txid[64], key[64], rid[64];
	int64_t id;

	for (i = 0; !atomic_load(&stop); i++) {
		struct cg_msg_in m = {0};
		struct cg_outbox_job job = {0};
		double t0;
		long at;

		/* as enqueue.c: a transaction id each (time-ordered, a UUID v7:
		 * milliseconds, then random), the patient's key (one of 1,000
		 * per thread), the record's id, one item */
		uuid_of(((uint64_t)me << 40) | (uint64_t)i, txid);
		{
			char ms[16];

			snprintf(ms, sizeof(ms), "%012llx", (unsigned long long)(mono() * 1000));
			memcpy(txid, ms, 8);
			memcpy(txid + 9, ms + 8, 4);
			txid[14] = '7';
		}
		uuid_of(((uint64_t)(me + 1000) << 40) | (uint64_t)(i % 1000), key);
		snprintf(rid, sizeof(rid), "REC-%03ld%07ld", me, i);
		m.txid = txid;
		m.dest = "registry";
		m.key = key;
		m.client = "ehr";
		m.record_id = rid;
		m.type = "Bundle";
		m.requests = true;
		m.body = body;
		m.len = body_len;
		job.msgs = &m;
		job.n = 1;
		job.ids = &id;
		job.done = job_done;
		job.arg = &w;
		w.finished = 0;
		t0 = mono();
		cg_writer_submit(writer, &job);
		pthread_mutex_lock(&w.lock);
		while (!w.finished)
			pthread_cond_wait(&w.done, &w.lock);
		pthread_mutex_unlock(&w.lock);
		if (job.err)
			atomic_fetch_add(&failed, 1);
		at = atomic_fetch_add(&nlat, 1);
		if (at < MAX_SAMPLES)
			lat[at] = mono() - t0;
	}
	return NULL;
}

/* The gateway's forwarder checkpoints the store every tick (100 ms), on
 * its own connection: the writer leaves checkpoints to it (store.h), so
 * the benchmark runs one too, or the WAL would only grow. */
static const char *ckpt_path;

static void *
checkpointer(void *arg)
{
	struct cg_store *s;
	char why[256];

	(void)arg;
	if (cg_store_open(ckpt_path, &s, why, sizeof(why)))
		return NULL;
	while (!atomic_load(&stop)) {
		if (cg_store_checkpoint(s))
			fprintf(stderr, "outbox_bench: a checkpoint failed\n");
		usleep(100000);
	}
	cg_store_close(s);
	return NULL;
}

/* Bytes this process handed to write()/pwrite() and read back (wchar,
 * rchar of /proc/self/io): what SQLite writes to the WAL and the database
 * for a message, checkpoints included. */
static void
io_bytes(double *wr, double *rd)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	unsigned long long v;

	*wr = *rd = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "wchar: %llu", &v) == 1)
			*wr = (double)v;
		else if (sscanf(line, "rchar: %llu", &v) == 1)
			*rd = (double)v;
	}
	if (f)
		fclose(f);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS], ckpt;
	char why[512] = "", path[4200];
	long threads, i, n;
	double seconds, t0, t1, c0, c1, sum, w0, w1, r0, r1;
	uint64_t commits, jobs, hist[CG_WRITER_BUCKETS];
	struct cg_store *s;
	struct cg_store_stats st;
	char *b;

	if (argc != 5 || cg_file_read(argv[2], (size_t)1 << 26, &b, &body_len) ||
	    (threads = atol(argv[3])) < 1 || threads > MAX_THREADS ||
	    (seconds = atof(argv[4])) <= 0) {
		fprintf(stderr, "usage: outbox_bench STORE BODY THREADS SECONDS\n");
		return 2;
	}
	body = b;
	while (body_len && (body[body_len - 1] == '\n'))
		body_len--;
	/* a fresh store each run */
	unlink(argv[1]);
	snprintf(path, sizeof(path), "%s-wal", argv[1]);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", argv[1]);
	unlink(path);
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	if (!lat || cg_writer_start(argv[1], &writer, why, sizeof(why))) {
		fprintf(stderr, "outbox_bench: %s\n", why);
		return 1;
	}
	io_bytes(&w0, &r0);
	t0 = mono();
	c0 = cpu_s();
	ckpt_path = argv[1];
	pthread_create(&ckpt, NULL, checkpointer, NULL);
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, submitter, (void *)i);
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&stop, 1);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	pthread_join(ckpt, NULL);
	t1 = mono();
	c1 = cpu_s();
	cg_writer_counts(writer, &commits, &jobs);
	cg_writer_latency(writer, hist, &sum);
	cg_writer_stop(writer);
	io_bytes(&w1, &r1);

	/* every job done is in the store */
	if (cg_store_open(argv[1], &s, why, sizeof(why)) || cg_store_stats(s, NULL, &st)) {
		fprintf(stderr, "outbox_bench: the store cannot be read back: %s\n", why);
		return 1;
	}
	cg_store_close(s);
	n = atomic_load(&nlat) < MAX_SAMPLES ? atomic_load(&nlat) : MAX_SAMPLES;
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("{\"threads\": %ld, \"body_bytes\": %zu, \"seconds\": %.3f, \"messages\": %llu, "
	       "\"failed\": %ld, \"stored\": %lld, \"messages_per_s\": %.0f, "
	       "\"commits_per_s\": %.0f, \"group\": %.2f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
	       "\"commit_mean_ms\": %.3f, \"cpu_us_per_message\": %.1f, "
	       "\"written_per_message\": %.0f, \"read_per_message\": %.0f, \"commit_hist\": {",
	       threads, body_len, t1 - t0, (unsigned long long)jobs, atomic_load(&failed),
	       (long long)st.count[CG_MSG_QUEUED], (double)jobs / (t1 - t0),
	       (double)commits / (t1 - t0), commits ? (double)jobs / (double)commits : 0.0,
	       n ? lat[n / 2] * 1e3 : 0.0, n ? lat[n * 99 / 100] * 1e3 : 0.0,
	       commits ? sum / (double)commits * 1e3 : 0.0,
	       jobs ? (c1 - c0) * 1e6 / (double)jobs : 0.0, jobs ? (w1 - w0) / (double)jobs : 0.0,
	       jobs ? (r1 - r0) / (double)jobs : 0.0);
	for (i = 0; i < CG_WRITER_BUCKETS; i++) {
		if (i + 1 == CG_WRITER_BUCKETS)
			printf("\"+Inf\": %llu}}\n", (unsigned long long)hist[i]);
		else
			printf("\"%g\": %llu, ", cg_writer_bucket_s[i],
			       (unsigned long long)hist[i]);
	}
	free(lat);
	free(b);
	return atomic_load(&failed) || (long long)jobs != st.count[CG_MSG_QUEUED] ? 1 : 0;
}
