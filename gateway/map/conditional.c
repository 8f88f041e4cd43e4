/* conditional.c: a resource's identifier as a conditional create; see conditional.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "conditional.h"
#include "json_member.h"
#include "map_internal.h"

enum cg_err
cg_identifier_query(const char *sys, const char *val, struct cg_buf *out)
{
	enum cg_err err;

	if (!val || !*val)
		return CG_ENOENT;
	err = cg_buf_addstr(out, "identifier=");
	if (!err && sys)
		err = cg_map_query_escape(out, sys);
	if (!err)
		err = cg_buf_addstr(out, "%7C");
	if (!err)
		err = cg_map_query_escape(out, val);
	return err;
}

enum cg_err
cg_conditional_query(const char *p, size_t len, struct cg_buf *out)
{
	cJSON *root = cJSON_ParseWithLength(p, len);
	const cJSON *id = cJSON_GetArrayItem(cg_json_member(root, "identifier"), 0);
	const char *sys = cJSON_GetStringValue(cg_json_member(id, "system"));
	const char *val = cJSON_GetStringValue(cg_json_member(id, "value"));
	size_t was = out->len;
	enum cg_err err;

	if (!root) {
		return CG_ENOENT; /* checked text: only memory makes this fail */
	}
	if (!val || !*val) {
		cJSON_Delete(root);
		return CG_ENOENT;
	}
	/* "system|value"; without a system, "|value": those without one (a
	 * bare value would match it in every system) */
	err = cg_identifier_query(sys, val, out);
	cJSON_Delete(root);
	if (err == CG_OK && out->len == was)
		return CG_ENOENT;
	return err;
}
