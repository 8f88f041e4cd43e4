/* cli_queue_change.c: `cellgate queue retry` and `purge`: what changes the
 * store; see cli_queue.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "buf.h"
#include "cli_queue_subcommands.h"
#include "json_write.h"
#include "queue_render.h"
#include "store.h"

/* Delivered messages deleted per write transaction. */
#define PURGE_BATCH 500

/* --- retry --- */

static int
print_count(const struct args *a, const char *sub, const char *key, int64_t n, const char *text)
{
	struct out o;

	queue_out_init(&o, a);
	if (o.json) {
		cg_jw_object(&o.w, NULL);
		cg_jw_int(&o.w, key, n);
		cg_jw_end(&o.w);
	} else {
		o.w.err = cg_buf_printf(&o.b, "%lld message%s %s\n", (long long)n,
		                        n == 1 ? "" : "s", text);
	}
	return queue_out_end(&o, sub, EXIT_OK);
}

static int
on_state(const struct cg_msg *m, void *arg)
{
	struct cg_msg *seen = arg;

	seen->id = m->id;
	seen->state = m->state;
	return 1;
}

/* Says why message id could not be retried: its state, as the store has it
 * now. */
static void
not_dead(struct cg_store *s, int64_t id)
{
	struct cg_store_filter f;
	struct cg_msg seen;

	cg_store_filter_init(&f);
	f.after_id = id - 1;
	f.limit = 1;
	memset(&seen, 0, sizeof(seen));
	if (cg_store_list(s, &f, on_state, &seen) == CG_OK && seen.id == id)
		fprintf(stderr, "cellgate queue retry: message %lld is %s, not dead\n",
		        (long long)id, cg_queue_render_state(seen.state));
	else
		fprintf(stderr, "cellgate queue retry: message %lld is not dead\n", (long long)id);
}

int
queue_run_retry(struct cg_store *s, const struct args *a, int64_t id)
{
	int64_t n = 0;
	enum cg_err err;

	if (a->dead) {
		err = cg_store_retry_dead(s, a->dest, cg_clock_wall_ms(), &n);
	} else {
		err = cg_store_retry(s, id, cg_clock_wall_ms());
		n = 1;
		if (err == CG_ENOENT) {
			fprintf(stderr, "cellgate queue retry: no message %lld\n", (long long)id);
			return EXIT_NOTFOUND;
		}
		if (err == CG_EINVAL) {
			not_dead(s, id);
			return EXIT_NOTFOUND;
		}
	}
	if (err) {
		fprintf(stderr, "cellgate queue retry: %s\n", cg_strerror(err));
		return EXIT_USAGE;
	}
	return print_count(a, "retry", "requeued", n, "back in the queue");
}

/* --- purge --- */

int
queue_run_purge(struct cg_store *s, const struct args *a, int64_t before)
{
	char when[32], text[64];
	int64_t n = 0;
	enum cg_err err;

	err = cg_store_purge_delivered(s, before, PURGE_BATCH, &n);
	if (err) {
		fprintf(stderr, "cellgate queue purge: %s (%lld deleted before it)\n",
		        cg_strerror(err), (long long)n);
		return EXIT_USAGE;
	}
	cg_queue_render_time(when, before);
	snprintf(text, sizeof(text), "delivered before %s deleted", when);
	return print_count(a, "purge", "deleted", n, text);
}
