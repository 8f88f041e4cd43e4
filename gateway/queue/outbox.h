/*
 * outbox.h: store and forward (issue 11), as the server sees it: a durable
 * store, its writer thread (group commit) and its forwarder thread, started
 * and stopped together.
 *
 * A request for a queue-mode destination is checked against the limits
 * (cg_outbox_admit: depth, free disk), put through the writer
 * (cg_outbox_submit: its done runs on the writer thread once the messages
 * are durable, or have failed), and answered 202 only then. The forwarder
 * hears of every commit and delivers.
 */
#ifndef CG_OUTBOX_H
#define CG_OUTBOX_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "forwarder.h"
#include "pseudonyms.h"
#include "reader.h"
#include "settings.h"
#include "writer.h"

struct cg_outbox;

/* For a PostgreSQL store, the process's store options (store.h) from cfg:
 * instance, lease, the password file read. Called by cg_outbox_start, and
 * by a command that opens the store itself (`cellgate queue`). CG_OK and
 * nothing done for a SQLite store. */
enum cg_err cg_outbox_store_options(const struct cg_outbox_cfg *cfg, char *why, size_t whylen);

/* Opens the store at cfg->path (making its folder), then starts the writer
 * and the forwarder. A store that cannot be opened, is not a store, has a
 * newer schema or cannot be written is CG_EINVAL / CG_EIO with why. */
enum cg_err cg_outbox_start(const struct cg_outbox_cfg *cfg, const struct cg_settings_source *src,
                            struct cg_outbox **out, char *why, size_t whylen);
/* Commits what is queued, lets the batches in flight finish for up to
 * grace_ms, stops both threads. */
void cg_outbox_stop(struct cg_outbox *o, long grace_ms);

enum cg_outbox_admission {
	CG_OUTBOX_ADMIT,
	CG_OUTBOX_FULL,      /* more than max_depth messages waiting */
	CG_OUTBOX_LOW_DISK,  /* less than min_free_bytes free where the store is */
	CG_OUTBOX_STORE_DOWN /* the store fails (a database unreachable): nothing is stored */
};
/* Whether n more messages may be taken now, under limits (the current
 * configuration's). Any thread; costs an atomic read, and a statvfs at
 * most twice a second. */
enum cg_outbox_admission cg_outbox_admit(struct cg_outbox *o, const struct cg_outbox_cfg *limits,
                                         size_t n);
void cg_outbox_submit(struct cg_outbox *o, struct cg_outbox_job *job);

/* Appends the outbox's metrics (Prometheus text). */
enum cg_err cg_outbox_metrics(struct cg_outbox *o, struct cg_buf *b) CG_MUST_CHECK;

/* Random pseudonyms over the store (pseudonyms.h), for ingest. */
struct cg_pseudonyms *cg_outbox_pseudonyms(struct cg_outbox *o);

/* Since when the store has been failing (Unix ms), 0 while it answers:
 * readiness is false meanwhile. Any thread. */
int64_t cg_outbox_down_since(struct cg_outbox *o);

/* The store's path. */
const char *cg_outbox_path(const struct cg_outbox *o);

/* A read for a worker's loop (the trail, a random pseudonym's first
 * lookup), run on the outbox's reader thread (reader.h): its done() runs
 * there. CG_ELIMIT: too many wait; the job is not run. */
enum cg_err cg_outbox_read(struct cg_outbox *o, struct cg_read_job *job);

#endif
