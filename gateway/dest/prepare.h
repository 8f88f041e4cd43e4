/*
 * prepare.h: a transaction Bundle made fit for a FHIR server that wants to
 * be spoken to its own way (issue 13, docs/destinations.md), before it is
 * sent, with searches on the destination itself:
 *  - create: plain and search-then-create send no ifNoneExist (servers that
 *    refuse conditional create); search-then-create first looks each
 *    resource up by its business identifier, drops what is there already
 *    (or, with update_changed, PUTs what differs) and points references to
 *    it at the server's Type/id, so that a retry after a timeout leaves no
 *    duplicate;
 *  - subject: resolve turns a subject given by identifier into the
 *    server's Patient/<id> (searched on subject_system), creating the
 *    Patient in the same transaction where create_patient allows;
 *  - tags: the destination's meta.security and meta.tag codings on every
 *    resource (a client's Bundle's and the Patient made here too; each once);
 *  - conditional references ("Procedure?identifier=..."), which parts of a
 *    record split at a Bundle cap use, become Type/id where the server is
 *    not trusted to resolve them (create not conditional).
 * The searches go one after another through cg_dest_get (the destination's
 * credentials and proxy). Numbers of a client's Bundle are printed again by
 * cJSON here: trailing zeros of decimals may go (documented).
 */
#ifndef CG_PREPARE_H
#define CG_PREPARE_H

#include <stdbool.h>

#include "settings.h"

struct cg_delivery;

/* Whether d's destination needs its Bundles prepared. */
bool cg_prepare_needed(const struct cg_dest_cfg *d);

/* Starts preparing d's transaction Bundle (d->call.body, d->call.len):
 * then runs on the loop with 1 (d->body holds the Bundle to send), 0
 * (nothing is left to send: all is at the server already) or -1 (d->result,
 * d->status and d->error say why not). CG_ENOMEM/CG_EINVAL when it cannot
 * start (then never runs). */
enum cg_err cg_prepare_start(struct cg_delivery *d, void (*then)(struct cg_delivery *d, int r));
/* Frees what preparing d holds (a search in flight is dropped). */
void cg_prepare_free(struct cg_delivery *d);

#endif
