/*
 * json_type.h: cJSON's type tests, inlined. cJSON_IsObject and its kind are
 * calls into the library; the validation's walk (validate/fhir_validate.c),
 * the navigation (fhirpath/fp_nav.c) and the quick decisions
 * (fhirpath/fp_quick.c) ask them of every member of every resource, where
 * the calls showed in the profile.
 */
#ifndef CG_JSON_TYPE_H
#define CG_JSON_TYPE_H

#include <cjson/cJSON.h>

static inline int
cg_json_is_object(const cJSON *n)
{
	return n && (n->type & 0xFF) == cJSON_Object;
}

static inline int
cg_json_is_array(const cJSON *n)
{
	return n && (n->type & 0xFF) == cJSON_Array;
}

static inline int
cg_json_is_null(const cJSON *n)
{
	return n && (n->type & 0xFF) == cJSON_NULL;
}

static inline int
cg_json_is_string(const cJSON *n)
{
	return n && (n->type & 0xFF) == cJSON_String;
}

static inline int
cg_json_is_number(const cJSON *n)
{
	return n && (n->type & 0xFF) == cJSON_Number;
}

#endif
