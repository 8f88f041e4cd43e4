/*
 * pseudonyms.h: random pseudonyms (identity: pseudonym-random) as the
 * gateway's threads ask for them: the policy's cg_pseudonym_source over the
 * outbox's store.
 *
 * A patient's pseudonym is looked up in memory, then in the store (a read
 * of its own connection: a page of an index, in the page cache as a rule);
 * a new one is made under the store's lock, so two threads never make two
 * for one patient. Memory has a lock of its own, never held over a round
 * trip: an event loop's lookup (cg_pseudonyms_cached) does not wait for the
 * store while the reader thread does. In the gateway a new pseudonym is not written here: it goes
 * to the store in the writer's transaction with every message that carries
 * it (cg_outbox_job.pseudonyms), so none is acknowledged with a pseudonym
 * the store could lose; until the writer says it is committed, it stays in
 * memory. `cellgate deidentify` writes it at once instead (direct).
 */
#ifndef CG_PSEUDONYMS_H
#define CG_PSEUDONYMS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pseudonym.h"

struct cg_pseudonyms;

/* One pseudonym as an item used it, for the writer to keep. */
struct cg_pseudonym_use {
	char *registry, *system, *value; /* owned */
	char pseudonym[CG_PSEUDONYM_MAX + 1];
};

/* Opens a connection of its own to the store at path (which must exist).
 * direct: new pseudonyms are committed as they are made (no writer). */
enum cg_err cg_pseudonyms_open(const char *path, int direct, struct cg_pseudonyms **out, char *why,
                               size_t whylen);
void cg_pseudonyms_close(struct cg_pseudonyms *p);

/* The source for the policy (any thread): memory, then the store. */
const struct cg_pseudonym_source *cg_pseudonyms_source(struct cg_pseudonyms *p);

/* Memory only, never the store (an event loop's lookup): CG_ENOENT when
 * the patient's pseudonym is not there; the source's get then finds or
 * makes it, off the loop (the outbox's reader thread). */
enum cg_err cg_pseudonyms_cached(struct cg_pseudonyms *p, const char *registry, const char *system,
                                 const char *value, char out[CG_PSEUDONYM_MAX + 1]);

/* The writer committed these: they may leave memory. */
void cg_pseudonyms_committed(struct cg_pseudonyms *p, const struct cg_pseudonym_use *u, size_t n);

/* The store's health (forwarder.h): while it fails, lookups that would
 * read it fail at once (CG_EIO) instead. Set before use; NULL: none. */
void cg_pseudonyms_set_health(struct cg_pseudonyms *p, _Atomic int64_t *down_since);

/* The writer could not keep these: another gateway sharing the store made
 * the patient's first (pending ones in memory are dropped, so that the
 * next lookup reads the store's). */
void cg_pseudonyms_forget(struct cg_pseudonyms *p, const struct cg_pseudonym_use *u, size_t n);

/* The patient's pseudonym if one is kept (CG_ENOENT: none; never made). */
enum cg_err cg_pseudonyms_lookup(struct cg_pseudonyms *p, const char *registry, const char *system,
                                 const char *value, char out[CG_PSEUDONYM_MAX + 1]);

/* Patient identifier of a pseudonym (cellgate pseudonym resolve). */
enum cg_err cg_pseudonyms_resolve(struct cg_pseudonyms *p, const char *registry,
                                  const char *pseudonym, char *system, size_t syslen, char *value,
                                  size_t valuelen);

void cg_pseudonym_uses_free(struct cg_pseudonym_use *u, size_t n);

#endif
