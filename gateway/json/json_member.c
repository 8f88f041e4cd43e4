/* json_member.c: member lookup; see json_member.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "json_member.h"

const cJSON *
cg_json_member(const cJSON *obj, const char *name)
{
	const cJSON *c;

	if (!cJSON_IsObject(obj))
		return NULL;
	/* A first-character test before strcmp: most names differ at once, and
	 * this runs for every member of every record. */
	for (c = obj->child; c; c = c->next)
		if (c->string[0] == name[0] && strcmp(c->string, name) == 0)
			return c;
	return NULL;
}
