/*
 * map.h: stem-cell treatment records to FHIR R4 and back (docs/mapping.md).
 *
 * Record -> FHIR: one transaction Bundle per record, a Procedure for the
 * administration and an Observation per outcome, conditional creates on the
 * business identifiers, urn:uuid fullUrls derived from those identifiers (so
 * the same record always gives the same bytes), codes from mappings/. What
 * no standard element carries travels in the extensions described by
 * mappings/record-fhir.json, so that FHIR -> record gives back the identical
 * record.
 *
 * FHIR -> record: a Bundle (or a Procedure with its Observations) becomes a
 * record. From FHIR that cellgate did not produce, whatever can be mapped is,
 * and every record member that cannot is reported with the FHIR element that
 * would have carried it; such a record is never handed out half-made.
 */
#ifndef CG_MAP_H
#define CG_MAP_H

#include <stddef.h>

#include "buf.h"
#include "diag.h"
#include "err.h"
#include "mappings.h"

struct cJSON;

/* A security label (Meta.security), e.g. a confidentiality code. */
struct cg_coding {
	const char *system, *code, *display; /* display may be NULL */
};

struct cg_provenance_in; /* provenance.h */

struct cg_map_opts {
	const char *canonical_base; /* NULL: the one in mappings/record-fhir.json */
	/* Record -> FHIR: labels written as meta.security of every resource
	 * of the Bundle (none when nsecurity is 0). */
	const struct cg_coding *security;
	size_t nsecurity;
	/* and meta.tag codings (a destination's tags) */
	const struct cg_coding *tag;
	size_t ntag;
	/* Record -> FHIR: when set, the Bundle ends with a Provenance entry
	 * about the others (provenance.h); the CLI leaves it NULL. */
	const struct cg_provenance_in *provenance;
};

/* The two forms a body or a destination deals in: stem-cell records or FHIR
 * R4 resources; mapping turns one into the other. */
enum cg_payload { CG_PAYLOAD_RECORD, CG_PAYLOAD_FHIR };

/* Appends the Bundle of record, as compact JSON text, to out. record must be
 * valid (cg_record_validate). */
enum cg_err cg_map_record_to_fhir(const struct cJSON *record, const struct cg_mappings *m,
                                  const struct cg_map_opts *o, struct cg_buf *out);

/* *record is NULL when issues (in d) make a complete record impossible. */
enum cg_err cg_map_fhir_to_record(const struct cJSON *fhir, const struct cg_mappings *m,
                                  const struct cg_map_opts *o, struct cJSON **record,
                                  struct cg_diag *d);

/* Frees what mapping keeps per thread (codes written once as JSON); for
 * threads that end before the process does. */
void cg_map_thread_done(void);

#endif
