/* prefetch.c: pseudonyms fetched off the loop; see prefetch.h. */
#include <stdlib.h>

#include <event2/event.h>
#include <event2/http.h>

#include "log.h"
#include "outbox.h"
#include "prefetch.h"
#include "request.h"
#include "runtime.h"
#include "settings.h"
#include "worker.h"

/* On the reader thread: the store is its own (pseudonyms.h), so st is not
 * used; the source's get finds the patient's or makes one under its lock,
 * as it did on the loop before. */
static void
fetch(struct cg_read_job *job, struct cg_store *st)
{
	struct request *r = job->arg;
	const struct cg_pseudonym_source *src = cg_pseudonyms_source(r->pseudonyms_of);
	size_t i;

	(void)st;
	r->read_err = CG_OK;
	for (i = 0; i < r->nknown && !r->read_err; i++)
		r->read_err = src->get(src->ctx, r->known[i].registry, r->known[i].system,
		                       r->known[i].value, r->known[i].pseudonym);
}

static void
fetched(struct cg_read_job *job)
{
	struct request *r = job->arg;

	event_active(r->read_ev, EV_READ, 1);
}

/* Back on r's loop. */
static void
on_fetched(evutil_socket_t fd, short what, void *arg)
{
	struct request *r = arg;

	(void)fd;
	(void)what;
	if (r->read_err) {
		cg_log(CG_LOG_ERROR, "request %s: random pseudonyms could not be read or made (%s)",
		       r->id, cg_strerror(r->read_err));
		cg_request_refuse(
		        r, r->rt->s->outbox.retry_after_s,
		        "the gateway's pseudonym store does not answer; nothing was kept, send "
		        "again later");
		return;
	}
	r->again(r);
}

void
cg_prefetch_pseudonyms(struct request *r, void (*again)(struct request *r))
{
	enum cg_err err;

	if (r->known || !r->w->outbox) {
		/* The second pass missed again: the same body makes the same
		 * lookups, which were all fetched; never loop. */
		cg_log(CG_LOG_ERROR, "request %s: pseudonyms missing after they were fetched",
		       r->id);
		cg_request_refuse(
		        r, r->rt->s->outbox.retry_after_s,
		        "the gateway could not make the pseudonyms of this request; send again");
		return;
	}
	r->known = r->out.missing;
	r->nknown = r->out.nmissing;
	r->out.missing = NULL;
	r->out.nmissing = 0;
	r->pseudonyms_of = cg_outbox_pseudonyms(r->w->outbox);
	r->again = again;
	r->read_ev = event_new(r->w->base, -1, 0, on_fetched, r);
	if (!r->read_ev) {
		cg_request_fail(r, 503, "transient", "out of memory");
		return;
	}
	r->read.run = fetch;
	r->read.done = fetched;
	r->read.arg = r;
	r->read.own_store = 1;
	err = cg_outbox_read(r->w->outbox, &r->read);
	if (err) {
		cg_log(CG_LOG_WARN, "request %s: the outbox's reader has %d reads waiting: refused",
		       r->id, CG_READER_QUEUE_MAX);
		cg_request_refuse(
		        r, r->rt->s->outbox.retry_after_s,
		        "the gateway is busy reading its outbox; nothing was kept, send again "
		        "shortly");
	}
}
