/* map_common.c: helpers of both mapping directions; see map_internal.h. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "map_internal.h"

static const char *const cs_keys[CG_MAP_CS__COUNT] = {"cell-type",     "body-site", "measure",
                                                      "measure-value", "method",    "mace-event"};

void
cg_map_ctx_init(struct cg_map_ctx *x, const struct cg_mappings *m, const struct cg_map_opts *o)
{
	size_t i;

	x->m = m;
	x->base = o && o->canonical_base ? o->canonical_base : m->canonical_base;
	for (i = 0; i < CG_MAP_CS__COUNT; i++) {
		const char *path = cJSON_GetStringValue(
		        cg_json_member(cg_json_member(m->record_fhir, "codeSystems"), cs_keys[i]));

		cg_map_url(x, "", path ? path : cs_keys[i], x->cs[i], sizeof(x->cs[i]));
	}
}

void
cg_map_url(const struct cg_map_ctx *x, const char *prefix, const char *key, char *out, size_t n)
{
	size_t bl = strlen(x->base);

	/* A base given with a trailing slash must not double it. */
	if (bl && x->base[bl - 1] == '/')
		bl--;
	snprintf(out, n, "%.*s/%s%s", (int)bl, x->base, prefix, key);
}

const char *
cg_map_cs(const struct cg_map_ctx *x, int which)
{
	return x->cs[which];
}

void
cg_map_code_system(const struct cg_map_ctx *x, const char *key, char *out, size_t n)
{
	const char *path = cJSON_GetStringValue(
	        cg_json_member(cg_json_member(x->m->record_fhir, "codeSystems"), key));

	cg_map_url(x, "", path ? path : key, out, n);
}

void
cg_map_measure_system(const struct cg_map_ctx *x, const struct cg_measure *ms, char *out, size_t n)
{
	snprintf(out, n, "%s", cg_map_measure_system_url(x, ms));
}

const char *
cg_map_measure_system_url(const struct cg_map_ctx *x, const struct cg_measure *ms)
{
	return strcmp(ms->system, "local") == 0 ? x->cs[CG_MAP_CS_MEASURE] : ms->system;
}

enum cg_err
cg_map_query_escape(struct cg_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	enum cg_err result = cg_buf_add(b, "", 0);

	for (; *s && !result; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~:/", c)) {
			result = cg_buf_addc(b, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

			result = cg_buf_add(b, esc, 3);
		}
	}
	return result;
}

const char *
cg_map_spec_type(const cJSON *spec)
{
	if (cJSON_IsString(spec))
		return spec->valuestring;
	return cJSON_GetStringValue(cg_json_member(spec, "type"));
}

int
cg_map_spec_repeats(const cJSON *spec)
{
	return cJSON_IsTrue(cg_json_member(spec, "repeats"));
}
