/* outbox.c: the store, its writer and its forwarder together; see outbox.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <openssl/crypto.h>

#include "fileio.h"
#include "clock.h"
#include "gate.h"
#include "outbox.h"
#include "reader.h"

struct cg_outbox {
	char path[4096], dir[4096];
	int postgres;               /* a database: no folder, no disk to watch */
	_Atomic int64_t down_since; /* the store fails since (0: it answers) */
	struct cg_writer *writer;
	struct cg_forwarder *fw;
	struct cg_store_gate *gate;       /* the writer's and the forwarder's turns */
	struct cg_pseudonyms *pseudonyms; /* random ones (issue 12), looked up by workers */
	struct cg_reader *reader;         /* the workers' reads (reader.h) */
	_Atomic long long disk_checked_ms, free_bytes;
	_Atomic unsigned long long refused_full, refused_disk, refused_down;
};

enum cg_err
cg_outbox_store_options(const struct cg_outbox_cfg *cfg, char *why, size_t whylen)
{
	struct cg_store_pg_options o = {cfg->instance, cfg->lease_s * 1000, NULL};
	char *password = NULL;
	size_t len = 0;

	if (!cfg->postgres)
		return CG_OK;
	if (cfg->password_file) {
		/* The file's bytes, but a final newline (echo, editors, Secrets). */
		if (cg_file_read(cfg->password_file, 4096, &password, &len)) {
			snprintf(why, whylen, "the database's password_file %s cannot be read",
			         cfg->password_file);
			return CG_EIO;
		}
		while (len && (password[len - 1] == '\n' || password[len - 1] == '\r'))
			password[--len] = '\0';
		o.password = password;
	}
	cg_store_set_pg_options(&o);
	if (password) {
		OPENSSL_cleanse(password, len);
		free(password);
	}
	return CG_OK;
}

/* The store's folder, made if missing: a file where it should be is no
 * folder, and said so at start. */
static int
make_dirs(const char *dir)
{
	struct stat sb;

	if (cg_file_make_folder(dir) || stat(dir, &sb))
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static void
committed(void *arg, uint64_t messages)
{
	struct cg_outbox *o = arg;

	cg_forwarder_accepted(o->fw, (int64_t)messages);
	cg_forwarder_wake(o->fw);
}

enum cg_err
cg_outbox_start(const struct cg_outbox_cfg *cfg, const struct cg_settings_source *src,
                struct cg_outbox **out, char *why, size_t whylen)
{
	struct cg_outbox *o = calloc(1, sizeof(*o));
	char *slash;
	enum cg_err err;

	*out = NULL;
	if (!o) {
		snprintf(why, whylen, "out of memory");
		return CG_ENOMEM;
	}
	snprintf(o->path, sizeof(o->path), "%s", cfg->path);
	o->postgres = cg_store_is_postgres(cfg->path);
	err = cg_outbox_store_options(cfg, why, whylen);
	if (err) {
		free(o);
		return err;
	}
	snprintf(o->dir, sizeof(o->dir), "%s", o->postgres ? "." : cfg->path);
	slash = strrchr(o->dir, '/');
	if (slash && slash != o->dir)
		*slash = 0;
	else
		snprintf(o->dir, sizeof(o->dir), "%s", slash ? "/" : ".");
	if (!o->postgres && make_dirs(o->dir)) {
		snprintf(why, whylen, "cannot make the folder %s: %s", o->dir, strerror(errno));
		free(o);
		return CG_EIO;
	}
	/* The writer opens (and makes, or migrates) the store first. */
	o->gate = cg_store_gate_new();
	err = o->gate ? cg_writer_start(o->path, &o->writer, why, whylen) : CG_ENOMEM;
	if (!err) {
		cg_writer_set_gate(o->writer, o->gate);
		cg_writer_set_health(o->writer, &o->down_since);
		err = cg_forwarder_start(o->path, src, o->gate, &o->down_since, &o->fw, why,
		                         whylen);
	}
	if (!err) {
		err = cg_pseudonyms_open(o->path, 0, &o->pseudonyms, why, whylen);
		if (!err) {
			cg_pseudonyms_set_health(o->pseudonyms, &o->down_since);
			err = cg_reader_start(o->path, &o->reader);
			if (err) {
				snprintf(why, whylen, "no thread for the outbox's reads");
				cg_pseudonyms_close(o->pseudonyms);
			}
		}
		if (err)
			cg_forwarder_stop(o->fw, 0);
	}
	if (err) {
		cg_writer_stop(o->writer);
		cg_store_gate_free(o->gate);
		free(o);
		return err;
	}
	cg_writer_on_commit(o->writer, committed, o);
	*out = o;
	return CG_OK;
}

void
cg_outbox_stop(struct cg_outbox *o, long grace_ms)
{
	if (!o)
		return;
	cg_writer_stop(o->writer); /* every accepted job committed first */
	cg_forwarder_stop(o->fw, grace_ms);
	cg_reader_stop(o->reader); /* its jobs use the pseudonyms */
	cg_pseudonyms_close(o->pseudonyms);
	cg_store_gate_free(o->gate);
	free(o);
}

enum cg_outbox_admission
cg_outbox_admit(struct cg_outbox *o, const struct cg_outbox_cfg *limits, size_t n)
{
	long long now = cg_clock_mono_ms(), checked = atomic_load(&o->disk_checked_ms);

	/* Nothing is answered 2xx that is not stored: while the store fails,
	 * requests are refused at once rather than each waiting to fail. */
	if (atomic_load(&o->down_since)) {
		atomic_fetch_add(&o->refused_down, 1);
		return CG_OUTBOX_STORE_DOWN;
	}
	if (limits->max_depth && cg_forwarder_depth(o->fw) + (int64_t)n > limits->max_depth) {
		atomic_fetch_add(&o->refused_full, 1);
		return CG_OUTBOX_FULL;
	}
	if (o->postgres)
		return CG_OUTBOX_ADMIT;
	if (now - checked >= 500 &&
	    atomic_compare_exchange_strong(&o->disk_checked_ms, &checked, now)) {
		struct statvfs sv;

		if (statvfs(o->dir, &sv) == 0)
			atomic_store(&o->free_bytes,
			             (long long)sv.f_bavail * (long long)sv.f_frsize);
	}
	if (atomic_load(&o->free_bytes) < limits->min_free_bytes &&
	    atomic_load(&o->disk_checked_ms) != 0) {
		atomic_fetch_add(&o->refused_disk, 1);
		return CG_OUTBOX_LOW_DISK;
	}
	return CG_OUTBOX_ADMIT;
}

void
cg_outbox_submit(struct cg_outbox *o, struct cg_outbox_job *job)
{
	cg_writer_submit(o->writer, job);
}

int64_t
cg_outbox_down_since(struct cg_outbox *o)
{
	return atomic_load(&o->down_since);
}

const char *
cg_outbox_path(const struct cg_outbox *o)
{
	return o->path;
}

enum cg_err
cg_outbox_read(struct cg_outbox *o, struct cg_read_job *job)
{
	return cg_reader_submit(o->reader, job);
}

struct render {
	struct cg_buf *b;
	enum cg_err err;
	int part;
};

#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (!r->err)                                                                       \
			r->err = cg_buf_printf(r->b, __VA_ARGS__);                                 \
	} while (0)

/* One destination's lines of the metric family r->part. */
static void
render_dest(const char *dest, const struct cg_forwarder_counts *c, void *arg)
{
	struct render *r = arg;
	struct timespec t;
	size_t i;

	switch (r->part) {
	case 0:
		ADD("cellgate_outbox_messages{destination=\"%s\",state=\"queued\"} %lld\n"
		    "cellgate_outbox_messages{destination=\"%s\",state=\"in_flight\"} %lld\n"
		    "cellgate_outbox_messages{destination=\"%s\",state=\"delivered\"} %lld\n"
		    "cellgate_outbox_messages{destination=\"%s\",state=\"dead\"} %lld\n",
		    dest, (long long)c->queued, dest, (long long)c->in_flight, dest,
		    (long long)c->delivered_now, dest, (long long)c->dead_now);
		break;
	case 1:
		clock_gettime(CLOCK_REALTIME, &t);
		ADD("cellgate_outbox_oldest_waiting_seconds{destination=\"%s\"} %.3f\n", dest,
		    c->oldest_waiting_ms ? ((double)t.tv_sec * 1000 + (double)t.tv_nsec / 1e6 -
		                            (double)c->oldest_waiting_ms) /
		                                   1000
		                         : 0.0);
		break;
	case 2:
		ADD("cellgate_outbox_deliveries_total{destination=\"%s\",outcome=\"delivered\"} "
		    "%llu\n"
		    "cellgate_outbox_deliveries_total{destination=\"%s\",outcome=\"retried\"} "
		    "%llu\n"
		    "cellgate_outbox_deliveries_total{destination=\"%s\",outcome=\"dead\"} %llu\n",
		    dest, (unsigned long long)c->delivered, dest, (unsigned long long)c->retried,
		    dest, (unsigned long long)c->dead);
		break;
	case 3:
		ADD("cellgate_outbox_batches_split_total{destination=\"%s\"} %llu\n", dest,
		    (unsigned long long)c->split);
		break;
	case 4:
		for (i = 0; i < 8; i++) {
			if (i == 7)
				ADD("cellgate_outbox_batch_items_bucket{destination=\"%s\",le=\"+"
				    "Inf\"} "
				    "%llu\n",
				    dest, (unsigned long long)c->batch_size[i]);
			else
				ADD("cellgate_outbox_batch_items_bucket{destination=\"%s\",le=\"%"
				    "g\"} "
				    "%llu\n",
				    dest, cg_forwarder_batch_le[i],
				    (unsigned long long)c->batch_size[i]);
		}
		ADD("cellgate_outbox_batch_items_sum{destination=\"%s\"} %llu\n"
		    "cellgate_outbox_batch_items_count{destination=\"%s\"} %llu\n",
		    dest, (unsigned long long)c->items_sent, dest, (unsigned long long)c->batches);
		break;
	}
}

enum cg_err
cg_outbox_metrics(struct cg_outbox *o, struct cg_buf *b)
{
	static const char *const head[] = {
	        "# HELP cellgate_outbox_messages Messages in the outbox by destination and state "
	        "(refreshed every 2 s).\n# TYPE cellgate_outbox_messages gauge\n",
	        "# HELP cellgate_outbox_oldest_waiting_seconds Age of the oldest message not "
	        "delivered (queued, in flight or dead).\n"
	        "# TYPE cellgate_outbox_oldest_waiting_seconds gauge\n",
	        "# HELP cellgate_outbox_deliveries_total What became of delivery attempts, per "
	        "message.\n# TYPE cellgate_outbox_deliveries_total counter\n",
	        "# HELP cellgate_outbox_batches_split_total Refused batches split to find the "
	        "refused message.\n# TYPE cellgate_outbox_batches_split_total counter\n",
	        "# HELP cellgate_outbox_batch_items Messages per upstream request.\n"
	        "# TYPE cellgate_outbox_batch_items histogram\n"};
	struct render rr = {b, CG_OK, 0}, *r = &rr;
	uint64_t counts[CG_WRITER_BUCKETS], commits, jobs;
	double sum;
	size_t i;

	for (rr.part = 0; rr.part < 5 && !rr.err; rr.part++) {
		rr.err = cg_buf_addstr(b, head[rr.part]);
		if (!rr.err)
			cg_forwarder_each(o->fw, render_dest, &rr);
	}
	cg_writer_latency(o->writer, counts, &sum);
	cg_writer_counts(o->writer, &commits, &jobs);
	ADD("# HELP cellgate_outbox_commit_seconds Time to make accepted messages durable (one "
	    "transaction and fsync for every request waiting).\n"
	    "# TYPE cellgate_outbox_commit_seconds histogram\n");
	for (i = 0; i < CG_WRITER_BUCKETS; i++) {
		if (i + 1 == CG_WRITER_BUCKETS)
			ADD("cellgate_outbox_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)counts[i]);
		else
			ADD("cellgate_outbox_commit_seconds_bucket{le=\"%g\"} %llu\n",
			    cg_writer_bucket_s[i], (unsigned long long)counts[i]);
	}
	ADD("cellgate_outbox_commit_seconds_sum %.6f\ncellgate_outbox_commit_seconds_count %llu\n",
	    sum, (unsigned long long)commits);
	ADD("# HELP cellgate_outbox_requests_committed_total Requests whose messages were "
	    "committed.\n# TYPE cellgate_outbox_requests_committed_total counter\n"
	    "cellgate_outbox_requests_committed_total %llu\n",
	    (unsigned long long)jobs);
	ADD("# HELP cellgate_outbox_depth Messages waiting (queued or in flight), as the "
	    "backpressure sees it.\n# TYPE cellgate_outbox_depth gauge\ncellgate_outbox_depth "
	    "%lld\n",
	    (long long)cg_forwarder_depth(o->fw));
	ADD("# HELP cellgate_outbox_refused_total Requests answered 503 to protect the outbox.\n"
	    "# TYPE cellgate_outbox_refused_total counter\n"
	    "cellgate_outbox_refused_total{reason=\"depth\"} %llu\n"
	    "cellgate_outbox_refused_total{reason=\"disk\"} %llu\n"
	    "cellgate_outbox_refused_total{reason=\"store\"} %llu\n",
	    (unsigned long long)atomic_load(&o->refused_full),
	    (unsigned long long)atomic_load(&o->refused_disk),
	    (unsigned long long)atomic_load(&o->refused_down));
	if (!o->postgres)
		ADD("# HELP cellgate_outbox_free_bytes Free space where the store is.\n"
		    "# TYPE cellgate_outbox_free_bytes gauge\ncellgate_outbox_free_bytes %lld\n",
		    (long long)atomic_load(&o->free_bytes));
	ADD("# HELP cellgate_store_up Whether the outbox's store answers (0: requests are "
	    "refused, readiness is false).\n# TYPE cellgate_store_up gauge\ncellgate_store_up "
	    "%d\n",
	    atomic_load(&o->down_since) ? 0 : 1);
	{
		struct cg_forwarder_store fs;
		uint64_t cum = 0;

		cg_forwarder_store_figures(o->fw, &fs);
		ADD("# HELP cellgate_store_claim_seconds Time a claim of due messages takes (a "
		    "query and an update: it must not grow with the table).\n"
		    "# TYPE cellgate_store_claim_seconds histogram\n");
		for (i = 0; i < CG_FORWARDER_CLAIM_BUCKETS; i++) {
			cum += fs.claim_bucket[i];
			if (i + 1 == CG_FORWARDER_CLAIM_BUCKETS)
				ADD("cellgate_store_claim_seconds_bucket{le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
			else
				ADD("cellgate_store_claim_seconds_bucket{le=\"%g\"} %llu\n",
				    cg_forwarder_claim_le[i], (unsigned long long)cum);
		}
		ADD("cellgate_store_claim_seconds_sum %.6f\ncellgate_store_claim_seconds_count "
		    "%llu\n",
		    fs.claim_sum_s, (unsigned long long)fs.claims);
		if (fs.health_known)
			ADD("# HELP cellgate_store_dead_tuples Dead rows in the message table "
			    "(PostgreSQL's statistics): what vacuum has yet to reclaim.\n"
			    "# TYPE cellgate_store_dead_tuples gauge\ncellgate_store_dead_tuples "
			    "%lld\n# HELP cellgate_store_live_tuples Live rows in the message "
			    "table.\n# TYPE cellgate_store_live_tuples gauge\n"
			    "cellgate_store_live_tuples %lld\n",
			    (long long)fs.dead_tuples, (long long)fs.live_tuples);
	}
	return rr.err;
}

struct cg_pseudonyms *
cg_outbox_pseudonyms(struct cg_outbox *o)
{
	return o ? o->pseudonyms : NULL;
}
