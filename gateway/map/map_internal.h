/*
 * map_internal.h: what the two directions of the mapping share. Not a
 * public interface.
 */
#ifndef CG_MAP_INTERNAL_H
#define CG_MAP_INTERNAL_H

#include <stdbool.h>

#include <stddef.h>

#include "buf.h"
#include "map.h"

struct cJSON;

enum {
	CG_MAP_CS_CELL_TYPE,
	CG_MAP_CS_BODY_SITE,
	CG_MAP_CS_MEASURE,
	CG_MAP_CS_MEASURE_VALUE,
	CG_MAP_CS_METHOD,
	CG_MAP_CS_MACE_EVENT,
	CG_MAP_CS__COUNT
};

/* A member table of record-fhir.json made into structs once per context, so
 * that writing an extension looks nothing up by name: for each record member,
 * its ready "url":"name" JSON, its Extension.value[x] element (NULL when it
 * has members of its own), whether it repeats, and its members. */
struct cg_ext_spec {
	const char *name;      /* the record member, and the extension's url */
	char *url_member;      /* "url":"name" */
	const char *value_key; /* "valueDecimal"...; NULL: nested members */
	int repeats;
	struct cg_ext_spec *members;
	size_t nmembers;
};

struct cg_map_ctx {
	const struct cg_mappings *m;
	const char *base; /* canonical base URL, without a trailing slash */
	/* Our code-system URLs, made once: they are needed for every value. */
	char cs[CG_MAP_CS__COUNT][256];
	/* Per measure (in m->measures order), the Observation's "category" and
	 * "code" members as ready JSON text: the same for every outcome. */
	char **measure_json;
	/* The two extensions: URL and member table, found once. */
	char record_ext_url[512], timepoint_ext_url[512];
	const struct cJSON *record_ext_members, *timepoint_ext_members;
	struct cg_ext_spec record_ext, timepoint_ext; /* the same, compiled */
	unsigned long generation;
	char base_copy[512];
};

/* The context for m and o, made once per thread and kept while the tables
 * and the base stay the same: per record, only a comparison. NULL on ENOMEM. */
const struct cg_map_ctx *cg_map_ctx_get(const struct cg_mappings *m, const struct cg_map_opts *o);

void cg_map_ctx_init(struct cg_map_ctx *x, const struct cg_mappings *m,
                     const struct cg_map_opts *o);
/* base + "/" + prefix + key, e.g. .../StructureDefinition/stemcell-record */
void cg_map_url(const struct cg_map_ctx *x, const char *prefix, const char *key, char *out,
                size_t n);
/* The URL of one of our code systems, by its key in record-fhir.json. */
void cg_map_code_system(const struct cg_map_ctx *x, const char *key, char *out, size_t n);
/* One of our code-system URLs, made at init. */
const char *cg_map_cs(const struct cg_map_ctx *x, int which);
const char *cg_map_measure_system_url(const struct cg_map_ctx *x, const struct cg_measure *ms);
/* The code system of a measure: LOINC, or our own for local measures. */
void cg_map_measure_system(const struct cg_map_ctx *x, const struct cg_measure *ms, char *out,
                           size_t n);
/* s as one part (system or code) of a FHIR token search value in a query
 * string: '\', ',', '|' and '$' escaped with '\' (FHIR's search escapes: else
 * "A,B" searches A or B), then percent-encoded (keeps unreserved characters,
 * ':', '/'), so that it is safe in JSON and in a header too. */
CG_MUST_CHECK enum cg_err cg_map_query_escape(struct cg_buf *b, const char *s);
/* The FHIR value type of a member spec of record-fhir.json ("decimal"...),
 * or NULL for nested members. */
const char *cg_map_spec_type(const struct cJSON *spec);
bool cg_map_spec_repeats(const struct cJSON *spec);

struct cg_jw;
/* "meta":{"security":[codings]} as a member of the open resource; nothing
 * when n is 0. */
/* meta.security and meta.tag of o's labels and tags (nothing when none). */
void cg_map_meta(struct cg_jw *w, const struct cg_map_opts *o);

#endif
