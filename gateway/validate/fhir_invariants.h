/*
 * fhir_invariants.h: the FHIRPath invariants of the R4 core definitions
 * (mappings/fhir-r4/invariants.json, generated from the official
 * StructureDefinitions: no invariant is written in C), compiled once and
 * evaluated on FHIR resources with the FHIRPath engine (fhirpath.h).
 *
 * On by default in validation (cellgate validate --no-invariants and the
 * configuration's fhir_invariants: false switch them off). ele-1 and ext-1
 * are evaluated on every element and Extension; those the validator checks
 * under codes of their own (bdl-1..4, bdl-7, txt-1, txt-2) are not; an
 * invariant decided from which members its node has (fp_quick.c) skips the
 * engine. An invariant that does not compile or cannot be evaluated on a
 * resource is counted, never reported as broken. A broken invariant is an
 * issue fhir-invariant (error) or fhir-invariant-warning (warning), as its
 * definition's severity says, with its key and human text, at the element
 * it is on.
 */
#ifndef CG_FHIR_INVARIANTS_H
#define CG_FHIR_INVARIANTS_H

#include <stddef.h>

#include "check.h"
#include "err.h"
#include "fhir_structure.h"

struct cJSON;
struct cg_fhir_invariants;

/* Loads and compiles dir/fhir-r4/invariants.json. CG_EIO/CG_EINVAL with
 * *why (malloc'd) when it cannot be read. */
enum cg_err cg_fhir_invariants_load(const char *mappings_dir, struct cg_fhir_invariants **out,
                                    char **why);
void cg_fhir_invariants_free(struct cg_fhir_invariants *v);

/* How many there are, how many compiled. */
void cg_fhir_invariants_counts(const struct cg_fhir_invariants *v, size_t *total, size_t *compiled);

/* Evaluates the invariants on the resource root (and the resources it
 * contains: contained, Bundle entries), adding issues to c. *not_evaluated
 * counts evaluations that failed (an engine limit), which are not issues. */
enum cg_err cg_fhir_invariants_check(const struct cg_fhir_invariants *v,
                                     const struct cg_fhir_structure *s, const struct cJSON *root,
                                     struct cg_check *c, size_t *not_evaluated);

#endif
