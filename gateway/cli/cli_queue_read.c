/* cli_queue_read.c: `cellgate queue stats`, `list`, `find` and `show`:
 * what reads the store; see cli_queue.h. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "buf.h"
#include "cli_queue_subcommands.h"
#include "json_write.h"
#include "queue_render.h"
#include "store.h"

/* Messages read per read transaction: a long list is read in pages, so the
 * gateway's checkpoints are not held back while the output is written. */
#define LIST_PAGE 500

/* --- stats --- */

struct dest_stats {
	char *name;
	struct cg_store_stats st;
};

struct stats_run {
	struct dest_stats *v;
	size_t n, cap;
	enum cg_err err;
};

static int
on_dest(const char *dest, const struct cg_store_stats *st, void *arg)
{
	struct stats_run *r = arg;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct dest_stats *v = realloc(r->v, cap * sizeof(*v));

		if (!v) {
			r->err = CG_ENOMEM;
			return 1;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n].name = strdup(dest);
	if (!r->v[r->n].name) {
		r->err = CG_ENOMEM;
		return 1;
	}
	r->v[r->n++].st = *st;
	return 0;
}

/* A shared store's instances (PostgreSQL): what each holds in flight and
 * until when, what each delivered and let die of what the table keeps. */
struct inst_run {
	struct out *o;
	int64_t now;
	size_t n;
};

static int
on_instance(const struct cg_store_instance *in, void *arg)
{
	struct inst_run *r = arg;
	struct out *o = r->o;
	long long left = in->lease_until_ms ? (in->lease_until_ms - r->now) / 1000 : 0;
	char lease[64];

	if (o->json) {
		cg_jw_object(&o->w, NULL);
		cg_jw_string(&o->w, "instance", in->name);
		cg_jw_int(&o->w, "in_flight", in->in_flight);
		cg_jw_int(&o->w, "delivered", in->delivered);
		cg_jw_int(&o->w, "dead", in->dead);
		if (in->lease_until_ms)
			cg_jw_int(&o->w, "lease_ends_in_s", left);
		cg_jw_end(&o->w);
		return 0;
	}
	if (!r->n++ && !o->w.err)
		o->w.err = cg_buf_printf(&o->b, "\n%-32s %10s %10s %8s  %s\n", "INSTANCE",
		                         "IN_FLIGHT", "DELIVERED", "DEAD", "LEASES");
	if (!in->lease_until_ms)
		snprintf(lease, sizeof(lease), "-");
	else if (left >= 0)
		snprintf(lease, sizeof(lease), "end in %llds", left);
	else /* a gateway gone: another takes its messages over */
		snprintf(lease, sizeof(lease), "ended %llds ago", -left);
	if (!o->w.err)
		o->w.err = cg_buf_printf(&o->b, "%-32s %10lld %10lld %8lld  %s\n", in->name,
		                         (long long)in->in_flight, (long long)in->delivered,
		                         (long long)in->dead, lease);
	return 0;
}

int
queue_run_stats(struct cg_store *s, const struct args *a)
{
	struct stats_run r = {NULL, 0, 0, CG_OK};
	struct cg_store_stats total;
	int64_t now = cg_clock_wall_ms();
	enum cg_err err;
	struct out o;
	size_t i;
	int width = (int)strlen("DESTINATION"), k;

	err = cg_store_stats_by_dest(s, on_dest, &r);
	if (!err)
		err = r.err;
	if (err) {
		fprintf(stderr, "cellgate queue stats: %s\n", cg_strerror(err));
		for (i = 0; i < r.n; i++)
			free(r.v[i].name);
		free(r.v);
		return EXIT_USAGE;
	}
	memset(&total, 0, sizeof(total));
	for (i = 0; i < r.n; i++) {
		for (k = 0; k < CG_MSG_STATES; k++)
			total.count[k] += r.v[i].st.count[k];
		if (r.v[i].st.oldest_waiting_ms &&
		    (!total.oldest_waiting_ms ||
		     r.v[i].st.oldest_waiting_ms < total.oldest_waiting_ms))
			total.oldest_waiting_ms = r.v[i].st.oldest_waiting_ms;
		if ((int)strlen(r.v[i].name) > width)
			width = (int)strlen(r.v[i].name);
	}
	queue_out_init(&o, a);
	if (o.json) {
		cg_jw_object(&o.w, NULL);
		cg_jw_array(&o.w, "destinations");
		for (i = 0; i < r.n; i++)
			cg_queue_render_stats_json(&o.w, r.v[i].name, &r.v[i].st, now);
		cg_jw_end(&o.w);
		cg_queue_render_stats_json(&o.w, NULL, &total, now);
		cg_jw_string(&o.w, "store", cg_store_kind(s));
		if (cg_store_instance(s)) {
			struct inst_run ir = {&o, now, 0};

			cg_jw_array(&o.w, "instances");
			err = cg_store_by_instance(s, on_instance, &ir);
			cg_jw_end(&o.w);
		}
		cg_jw_end(&o.w);
	} else {
		err = cg_queue_render_stats_header(&o.b, width);
		for (i = 0; i < r.n && !err; i++)
			err = cg_queue_render_stats_line(&o.b, width, r.v[i].name, &r.v[i].st, now);
		if (!err)
			err = cg_queue_render_stats_line(&o.b, width, NULL, &total, now);
		o.w.err = err;
		if (!err && cg_store_instance(s)) {
			struct inst_run ir = {&o, now, 0};

			err = cg_store_by_instance(s, on_instance, &ir);
		}
	}
	if (err && !o.w.err)
		fprintf(stderr, "cellgate queue stats: the instances: %s\n", cg_strerror(err));
	for (i = 0; i < r.n; i++)
		free(r.v[i].name);
	free(r.v);
	return queue_out_end(&o, "stats", EXIT_OK);
}

/* --- list, find --- */

struct list_run {
	struct out *o;
	size_t n;
	int64_t last_id;
	enum cg_err err;
};

static int
on_msg(const struct cg_msg *m, void *arg)
{
	struct list_run *r = arg;

	if (r->o->json) {
		cg_queue_render_json(&r->o->w, m, 0);
		r->err = r->o->w.err;
	} else {
		r->err = r->n ? CG_OK : cg_queue_render_header(&r->o->b);
		if (!r->err)
			r->err = cg_queue_render_line(&r->o->b, m);
	}
	r->n++;
	r->last_id = m->id;
	return r->err != CG_OK;
}

static int
on_any(const struct cg_msg *m, void *arg)
{
	(void)m;
	*(int *)arg = 1;
	return 1;
}

/* Lists what f matches, up to f.limit (0: all), a page per read, and says
 * whether more would have followed. */
static enum cg_err
list_pages(struct cg_store *s, struct cg_store_filter f, struct list_run *r, int *more)
{
	size_t want = f.limit, page;
	enum cg_err err;

	*more = 0;
	for (;;) {
		size_t before = r->n;

		page = want ? want - r->n : LIST_PAGE;
		f.limit = page < LIST_PAGE ? page : LIST_PAGE;
		if (f.limit == 0)
			break; /* the limit is reached */
		err = cg_store_list(s, &f, on_msg, r);
		if (!err)
			err = r->err;
		if (!err)
			err = queue_out_flush(r->o);
		if (err)
			return err;
		if (r->n - before < f.limit)
			return CG_OK; /* all of them */
		f.after_id = r->last_id;
	}
	f.limit = 1;
	return cg_store_list(s, &f, on_any, more);
}

/* Prints what f matches as list does; *n: how many. */
static int
print_list(struct cg_store *s, const struct args *a, const char *sub,
           const struct cg_store_filter *f, size_t *n)
{
	struct list_run r;
	struct out o;
	int more = 0;
	enum cg_err err;

	queue_out_init(&o, a);
	memset(&r, 0, sizeof(r));
	r.o = &o;
	if (o.json) {
		cg_jw_object(&o.w, NULL);
		cg_jw_array(&o.w, "messages");
	}
	err = list_pages(s, *f, &r, &more);
	if (err) {
		fprintf(stderr, "cellgate queue %s: %s\n", sub, cg_strerror(err));
		cg_buf_free(&o.b);
		return EXIT_USAGE;
	}
	if (o.json) {
		cg_jw_end(&o.w);
		cg_jw_bool(&o.w, "more", more);
		if (r.n)
			cg_jw_int(&o.w, "lastId", r.last_id);
		else
			cg_jw_null(&o.w, "lastId");
		cg_jw_end(&o.w);
	}
	if (more)
		fprintf(stderr,
		        "cellgate queue %s: more messages follow: --after %lld for the next\n", sub,
		        (long long)r.last_id);
	*n = r.n;
	return queue_out_end(&o, sub, EXIT_OK);
}

int
queue_run_list(struct cg_store *s, const struct args *a)
{
	struct cg_store_filter f;
	size_t n;

	cg_store_filter_init(&f);
	f.dest = a->dest;
	f.client = a->client;
	f.state = a->state;
	f.limit = (size_t)a->limit;
	f.after_id = (int64_t)a->after;
	return print_list(s, a, "list", &f, &n);
}

int
queue_run_find(struct cg_store *s, const struct args *a)
{
	struct cg_store_filter f;
	size_t n = 0;
	int status;

	cg_store_filter_init(&f);
	f.record_id = a->record;
	f.txid = a->tx;
	status = print_list(s, a, "find", &f, &n);
	if (status == EXIT_OK && n == 0) {
		fprintf(stderr, "cellgate queue find: no message of %s %s\n",
		        a->record ? "record" : "transaction", a->record ? a->record : a->tx);
		status = EXIT_NOTFOUND;
	}
	return status;
}

/* --- show --- */

struct show_run {
	int64_t id;
	struct out *o;
	int found;
};

static int
on_show(const struct cg_msg *m, void *arg)
{
	struct show_run *r = arg;

	if (m->id != r->id)
		return 1;
	r->found = 1;
	if (r->o->json)
		cg_queue_render_json(&r->o->w, m, 1);
	else
		r->o->w.err = cg_queue_render_show(&r->o->b, m);
	return 1;
}

int
queue_run_show(struct cg_store *s, const struct args *a, int64_t id)
{
	struct cg_store_filter f;
	struct show_run r;
	struct out o;
	enum cg_err err;

	/* Through a list, not cg_store_get: a body not asked for is not even
	 * read. */
	cg_store_filter_init(&f);
	f.after_id = id - 1;
	f.limit = 1;
	f.with_body = a->body;
	queue_out_init(&o, a);
	r.id = id;
	r.o = &o;
	r.found = 0;
	err = cg_store_list(s, &f, on_show, &r);
	if (err) {
		fprintf(stderr, "cellgate queue show: %s\n", cg_strerror(err));
		cg_buf_free(&o.b);
		return EXIT_USAGE;
	}
	if (!r.found) {
		fprintf(stderr, "cellgate queue show: no message %lld\n", (long long)id);
		cg_buf_free(&o.b);
		return EXIT_NOTFOUND;
	}
	return queue_out_end(&o, "show", EXIT_OK);
}
