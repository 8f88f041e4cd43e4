/* conditional.c: a resource's identifier as a conditional create; see conditional.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "conditional.h"
#include "json_member.h"

static enum cg_err
add_encoded(struct cg_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	enum cg_err err = CG_OK;

	for (; *s && !err; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~:/", c))
			err = cg_buf_addc(out, (char)c);
		else if (!(err = cg_buf_addc(out, '%')) && !(err = cg_buf_addc(out, hex[c >> 4])))
			err = cg_buf_addc(out, hex[c & 15]);
	}
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
	err = cg_buf_addstr(out, "identifier=");
	if (!err && sys)
		err = add_encoded(out, sys);
	if (!err && sys)
		err = cg_buf_addstr(out, "%7C");
	if (!err)
		err = add_encoded(out, val);
	cJSON_Delete(root);
	if (err == CG_OK && out->len == was)
		return CG_ENOENT;
	return err;
}
