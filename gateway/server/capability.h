/*
 * capability.h: what a FHIR route serves, said the two ways a FHIR client
 * reads it: the CapabilityStatement (GET {route}/metadata) and the
 * OperationOutcome for what it tries and the route does not serve (read,
 * search, other types: route.h's CG_T_UNSERVED). Both come from the same
 * facts as routing (route.h), so that they tell the truth: create of
 * Procedure and Observation only where the route forwards FHIR resources as
 * they are, transaction and batch where it forwards at all, $validate on both
 * types always, read of the gateway's own conformance resources. The server
 * only serves the text: what FHIR says lives here.
 */
#ifndef CG_CAPABILITY_H
#define CG_CAPABILITY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

struct cg_route_cfg;

/* Whether route forwards a lone Procedure or Observation (POST P/{type}):
 * only to a destination that takes FHIR resources as they are. */
bool cg_capability_creates(const struct cg_route_cfg *route);
/* Whether route forwards transaction and batch Bundles (POST P). */
bool cg_capability_forwards(const struct cg_route_cfg *route);

/* Appends the CapabilityStatement of a FHIR route to b. */
enum cg_err cg_capability_write(struct cg_buf *b, const struct cg_route_cfg *route);

/* One sentence saying what route serves, for answers to what it does not. */
void cg_capability_summary(const struct cg_route_cfg *route, char *out, size_t n);

#endif
