/* map_common.c: helpers of both mapping directions; see map_internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "json_write.h"
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

		/* FHIR's escape first: a search value's separators, in the value */
		if (strchr("\\,|$", c))
			result = cg_buf_add(b, "%5C", 3);
		if (result)
			break;
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

bool
cg_map_spec_repeats(const cJSON *spec)
{
	return cJSON_IsTrue(cg_json_member(spec, "repeats"));
}

/* "valueDecimal" for "decimal": the element of Extension.value[x]. */
static const char *
value_key(const char *type)
{
	static const char *const keys[][2] = {
	        {"string", "valueString"},     {"code", "valueCode"},
	        {"uri", "valueUri"},           {"date", "valueDate"},
	        {"dateTime", "valueDateTime"}, {"decimal", "valueDecimal"},
	        {"integer", "valueInteger"},   {"boolean", "valueBoolean"}};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i][0], type) == 0)
			return keys[i][1];
	return "valueString";
}

static void
spec_free(struct cg_ext_spec *s)
{
	size_t i;

	for (i = 0; i < s->nmembers; i++)
		spec_free(&s->members[i]);
	free(s->members);
	free(s->url_member);
	memset(s, 0, sizeof(*s));
}

/* Fills s->members from a member table ([[name, spec], ...]); -1 on ENOMEM. */
static int
spec_compile(struct cg_ext_spec *s, const cJSON *members)
{
	const cJSON *m;
	size_t i = 0;

	s->nmembers = (size_t)cJSON_GetArraySize(members);
	s->members = calloc(s->nmembers ? s->nmembers : 1, sizeof(*s->members));
	if (!s->members)
		return -1;
	cJSON_ArrayForEach(m, members)
	{
		struct cg_ext_spec *c = &s->members[i++];
		const cJSON *spec = m->child->next;
		const char *type = cg_map_spec_type(spec);
		struct cg_buf b;

		c->name = m->child->valuestring;
		c->repeats = cg_map_spec_repeats(spec);
		cg_buf_init(&b, CG_BUF_MAX_MESSAGE);
		if (cg_buf_addstr(&b, "\"url\":\"") || cg_buf_add_json_string(&b, c->name) ||
		    cg_buf_addc(&b, '"'))
			return -1; /* the failed append has freed b */
		c->url_member = cg_buf_take(&b);
		if (!c->url_member)
			return -1;
		if (type) {
			c->value_key = value_key(type);
		} else if (spec_compile(c, cg_json_member(spec, "members"))) {
			return -1;
		}
	}
	return 0;
}

static void
ctx_clear(struct cg_map_ctx *x, size_t n)
{
	size_t i;

	spec_free(&x->record_ext);
	spec_free(&x->timepoint_ext);
	for (i = 0; x->measure_json && i < n; i++)
		free(x->measure_json[i]);
	free(x->measure_json);
	x->measure_json = NULL;
}

static _Thread_local struct cg_map_ctx cache;
static _Thread_local size_t cached_measures;

void
cg_map_thread_done(void)
{
	ctx_clear(&cache, cached_measures);
	cached_measures = 0;
}

const struct cg_map_ctx *
cg_map_ctx_get(const struct cg_mappings *m, const struct cg_map_opts *o)
{
	const char *base = o && o->canonical_base ? o->canonical_base : m->canonical_base;
	size_t i;

	if (cache.measure_json && cache.generation == m->generation &&
	    strcmp(cache.base_copy, base) == 0)
		return &cache;
	ctx_clear(&cache, cached_measures);
	snprintf(cache.base_copy, sizeof(cache.base_copy), "%s", base);
	{
		struct cg_map_opts own = {.canonical_base = cache.base_copy};

		cg_map_ctx_init(&cache, m, &own);
	}
	cache.generation = m->generation;
	{
		const cJSON *exts = cg_json_member(m->record_fhir, "extensions");

		cg_map_url(&cache, "StructureDefinition/", "stemcell-record", cache.record_ext_url,
		           sizeof(cache.record_ext_url));
		cg_map_url(&cache, "StructureDefinition/", "stemcell-timepoint",
		           cache.timepoint_ext_url, sizeof(cache.timepoint_ext_url));
		cache.record_ext_members =
		        cg_json_member(cg_json_member(exts, "stemcell-record"), "members");
		cache.timepoint_ext_members =
		        cg_json_member(cg_json_member(exts, "stemcell-timepoint"), "members");
		if (spec_compile(&cache.record_ext, cache.record_ext_members) ||
		    spec_compile(&cache.timepoint_ext, cache.timepoint_ext_members)) {
			ctx_clear(&cache, 0);
			return NULL;
		}
	}
	cache.measure_json = calloc(m->nmeasures ? m->nmeasures : 1, sizeof(char *));
	if (!cache.measure_json)
		return NULL;
	cached_measures = m->nmeasures;
	for (i = 0; i < m->nmeasures; i++) {
		const struct cg_measure *ms = &m->measures[i];
		struct cg_buf b;
		struct cg_jw w;

		cg_buf_init(&b, CG_BUF_MAX_SCRATCH);
		cg_jw_init(&w, &b);
		cg_jw_object(&w, NULL);
		cg_jw_array(&w, "category");
		cg_jw_object(&w, NULL);
		cg_jw_array(&w, "coding");
		cg_jw_object(&w, NULL);
		cg_jw_string(&w, "system",
		             "http://terminology.hl7.org/CodeSystem/observation-category");
		cg_jw_string(&w, "code",
		             cJSON_GetStringValue(cg_json_member(ms->attrs, "category")));
		cg_jw_end(&w);
		cg_jw_end(&w);
		cg_jw_end(&w);
		cg_jw_end(&w);
		cg_jw_object(&w, "code");
		cg_jw_array(&w, "coding");
		cg_jw_object(&w, NULL);
		cg_jw_string(&w, "system", cg_map_measure_system_url(&cache, ms));
		cg_jw_string(&w, "code", ms->code);
		cg_jw_string(&w, "display",
		             cJSON_GetStringValue(cg_json_member(ms->attrs, "display")));
		cg_jw_end(&w);
		cg_jw_end(&w);
		cg_jw_end(&w);
		cg_jw_end(&w);
		if (w.err || b.len < 2) {
			cg_buf_free(&b);
			ctx_clear(&cache, cached_measures);
			return NULL;
		}
		/* Keep the members only: drop the braces of the helper object. */
		b.p[b.len - 1] = '\0';
		cache.measure_json[i] = strdup(b.p + 1);
		cg_buf_free(&b);
		if (!cache.measure_json[i]) {
			ctx_clear(&cache, cached_measures);
			return NULL;
		}
	}
	return &cache;
}

static void
codings(struct cg_jw *w, const char *key, const struct cg_coding *v, size_t n)
{
	size_t i;

	if (!n)
		return;
	cg_jw_array(w, key);
	for (i = 0; i < n; i++) {
		cg_jw_object(w, NULL);
		if (v[i].system)
			cg_jw_string(w, "system", v[i].system);
		if (v[i].code)
			cg_jw_string(w, "code", v[i].code);
		if (v[i].display)
			cg_jw_string(w, "display", v[i].display);
		cg_jw_end(w);
	}
	cg_jw_end(w);
}

void
cg_map_meta(struct cg_jw *w, const struct cg_map_opts *o)
{
	if (!o || (!o->nsecurity && !o->ntag))
		return;
	cg_jw_object(w, "meta");
	codings(w, "security", o->security, o->nsecurity);
	codings(w, "tag", o->tag, o->ntag);
	cg_jw_end(w);
}
