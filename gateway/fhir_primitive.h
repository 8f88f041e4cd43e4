/*
 * fhir_primitive.h: the JSON forms of the FHIR R4 primitive types
 * (https://hl7.org/fhir/R4/datatypes.html), checked by hand instead of with
 * the specification's regular expressions, so that no regex engine is needed
 * and every rule has a message of its own.
 */
#ifndef CG_FHIR_PRIMITIVE_H
#define CG_FHIR_PRIMITIVE_H

#include "diag.h"

struct cJSON;

/* Checks v as a value of primitive type `type`. Returns 0 when it is one;
 * otherwise the issue code (type, empty, fhir-format, json-number-range)
 * and *why, a message. */
int cg_fhir_primitive_check(const char *type, const struct cJSON *v, enum cg_code *code,
                            const char **why);

#endif
