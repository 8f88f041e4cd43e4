/* order_key.c: the patient an item is about, as an ordering key; see order_key.h. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_member.h"
#include "order_key.h"

static const char *
text(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cg_json_member(o, name));
}

/* "system|value" of an Identifier (or a record's identifier) as a key. */
static enum cg_err
from_identifier(const cJSON *id, char out[CG_UUID_STRLEN + 1])
{
	const char *sys = text(id, "system"), *val = text(id, "value");
	char name[1024];
	int n;

	if (!val)
		return CG_ENOENT;
	/* The system's length first: "a|b" + "c" and "a" + "b|c" are two
	 * patients, not one line. */
	n = snprintf(name, sizeof(name), "id:%zu:%s|%s", sys ? strlen(sys) : 0, sys ? sys : "",
	             val);
	if (n < 0 || (size_t)n >= sizeof(name))
		return CG_ENOENT; /* not cut: two long ones could meet */
	return cg_uuid_v5(name, (size_t)n, out);
}

static enum cg_err
from_reference(const cJSON *ref, char out[CG_UUID_STRLEN + 1])
{
	const char *r = text(ref, "reference");
	char name[1024];
	int n;

	if (from_identifier(cg_json_member(ref, "identifier"), out) == CG_OK)
		return CG_OK;
	if (!r)
		return CG_ENOENT;
	n = snprintf(name, sizeof(name), "ref:%s", r);
	if (n < 0 || (size_t)n >= sizeof(name))
		return CG_ENOENT;
	return cg_uuid_v5(name, (size_t)n, out);
}

static enum cg_err
from_resource(const cJSON *res, char out[CG_UUID_STRLEN + 1], int depth)
{
	const char *rt = text(res, "resourceType");
	const cJSON *e;

	if (!rt)
		return CG_ENOENT;
	if (strcmp(rt, "Patient") == 0)
		return from_identifier(cJSON_GetArrayItem(cg_json_member(res, "identifier"), 0),
		                       out);
	if (strcmp(rt, "Bundle") == 0) {
		if (depth > 0)
			return CG_ENOENT; /* a Bundle in a Bundle: not followed */
		/* A Patient in it says who, before any reference to one. */
		cJSON_ArrayForEach(e, cg_json_member(res, "entry"))
		{
			const cJSON *r = cg_json_member(e, "resource");
			const char *t = text(r, "resourceType");

			if (t && strcmp(t, "Patient") == 0 && from_resource(r, out, 1) == CG_OK)
				return CG_OK;
		}
		cJSON_ArrayForEach(e, cg_json_member(res, "entry"))
		{
			if (from_resource(cg_json_member(e, "resource"), out, 1) == CG_OK)
				return CG_OK;
		}
		return CG_ENOENT;
	}
	if (from_reference(cg_json_member(res, "subject"), out) == CG_OK)
		return CG_OK;
	return from_reference(cg_json_member(res, "patient"), out);
}

enum cg_err
cg_order_key(const cJSON *root, char out[CG_UUID_STRLEN + 1])
{
	const cJSON *patient;

	if (text(root, "resourceType"))
		return from_resource(root, out, 0);
	patient = cg_json_member(root, "patient");
	return from_identifier(cJSON_GetArrayItem(cg_json_member(patient, "identifiers"), 0), out);
}
