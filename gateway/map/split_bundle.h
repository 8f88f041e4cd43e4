/*
 * split_bundle.h: a transaction Bundle cut at a destination's caps
 * (max_entries, max_observations per transaction: CIBMTR takes at most 50
 * Observations), in an order that keeps references resolvable: every
 * resource that is not an Observation goes first (the Procedure, a Patient),
 * then the Observations; a part that refers to a resource of an earlier
 * part does so by a conditional reference on its business identifier
 * ("Procedure?identifier=system%7Cvalue"), which the server (or, where it
 * is not trusted with them, prepare.h) resolves. The parts are delivered in
 * order: they are messages of the same patient's line in the outbox.
 * The gateway's Provenance (the last entry, when prov is set) is dropped
 * and made again per part; a client's goes after the Observations.
 */
#ifndef CG_SPLIT_BUNDLE_H
#define CG_SPLIT_BUNDLE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "provenance.h"

/* Appends to out each part of the Bundle p[0..len) as compact JSON, ends[i]
 * the offset where part i ends (parts follow each other), *n their count
 * (1: it fits, and out holds it unchanged in meaning). max_entries counts
 * the Provenance of each part; 0: no cap. CG_EINVAL with why when it cannot
 * be cut (a resource referred to across parts has no identifier, or caps
 * too small for one entry), CG_ENOMEM. ends has room for max_parts. */
enum cg_err cg_split_bundle(const char *p, size_t len, size_t max_entries, size_t max_observations,
                            const struct cg_provenance_in *prov, struct cg_buf *out, size_t *ends,
                            size_t max_parts, size_t *n, char *why, size_t whylen);

#endif
