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

enum cg_fhir_prim {
	CG_PRIM_OTHER, /* a primitive this table does not know: any string */
	CG_PRIM_BOOLEAN,
	CG_PRIM_INTEGER,
	CG_PRIM_POSITIVE_INT,
	CG_PRIM_UNSIGNED_INT,
	CG_PRIM_DECIMAL,
	CG_PRIM_STRING,
	CG_PRIM_CODE,
	CG_PRIM_ID,
	CG_PRIM_URI,
	CG_PRIM_OID,
	CG_PRIM_UUID,
	CG_PRIM_DATE,
	CG_PRIM_DATETIME,
	CG_PRIM_INSTANT,
	CG_PRIM_TIME,
	CG_PRIM_BASE64,
	CG_PRIM_XHTML
};

/* The kind of a primitive type by its name ("positiveInt"...), looked up
 * once when the tables load, not for every value. */
enum cg_fhir_prim cg_fhir_prim_of(const char *type);

/* Checks v as a value of the primitive kind. Returns 0 when it is one;
 * otherwise the issue code (type, empty, fhir-format, json-number-range)
 * and *why, a message. */
int cg_fhir_primitive_check(enum cg_fhir_prim kind, const struct cJSON *v, enum cg_code *code,
                            const char **why);

#endif
