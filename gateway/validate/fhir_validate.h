/*
 * fhir_validate.h: structural validation of FHIR R4 resources and Bundles
 * against the official definitions (fhir_structure.h). What it checks and
 * what it does not is in docs/fhir.md.
 */
#ifndef CG_FHIR_VALIDATE_H
#define CG_FHIR_VALIDATE_H

#include "diag.h"
#include "err.h"
#include "fhir_structure.h"

struct cJSON;
struct cg_fhir_invariants;

/* Checks one resource (any R4 resource type, Bundles included). Returns
 * CG_ENOMEM only; problems go into d with JSON pointers relative to it. */
enum cg_err cg_fhir_validate(const struct cJSON *resource, const struct cg_fhir_structure *s,
                             struct cg_diag *d);
/* The same, evaluating the invariants (fhir_invariants.h; NULL: none) on
 * the way, in the same walk; *not_evaluated (may be NULL) counts their
 * evaluations that failed. */
enum cg_err cg_fhir_validate_with(const struct cJSON *resource, const struct cg_fhir_structure *s,
                                  const struct cg_fhir_invariants *invariants, struct cg_diag *d,
                                  size_t *not_evaluated);

#endif
