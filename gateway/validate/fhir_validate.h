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

/* Checks one resource (any R4 resource type, Bundles included). Returns
 * CG_ENOMEM only; problems go into d with JSON pointers relative to it. */
enum cg_err cg_fhir_validate(const struct cJSON *resource, const struct cg_fhir_structure *s,
                             struct cg_diag *d);

#endif
