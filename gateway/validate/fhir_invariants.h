/*
 * fhir_invariants.h: the FHIRPath invariants of the R4 core definitions
 * (mappings/fhir-r4/invariants.json, generated from the official
 * StructureDefinitions: no invariant is written in C), compiled once and
 * evaluated on FHIR resources with the FHIRPath engine (fhirpath.h).
 *
 * First stage (issue 15): opt-in (`cellgate validate --invariants`), since
 * the engine does not yet pass the whole FHIRPath suite; the invariants of
 * Element and Extension (ele-1, ext-1: on every element) and those on paths
 * through a choice element are not evaluated yet; an invariant that does not
 * compile or cannot be evaluated on a resource is counted, never reported as
 * broken. A broken invariant is an issue fhir-invariant (error) or
 * fhir-invariant-warning (warning), as its definition's severity says, with
 * its key and human text, at the element it is on.
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
