/*
 * mappings.c: loading and checking the code tables; see mappings.h.
 *
 * The tables are inputs like any other: a broken file must stop cellgate at
 * start with the file and the reason, not make it validate wrongly later.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fhir_structure.h"
#include "fileio.h"
#include "json_scan.h"
#include "mappings.h"
#include "textpos.h"

#ifndef CG_SOURCE_MAPPINGS_DIR
#define CG_SOURCE_MAPPINGS_DIR ""
#endif

#define MAPPINGS_MAX_FILE (4u * 1024 * 1024)

enum {
	DOC_MEASURES,
	DOC_INDICATIONS,
	DOC_CELL_TYPES,
	DOC_TISSUE_SOURCES,
	DOC_DONOR_TYPES,
	DOC_ROUTES,
	DOC_BODY_SITES,
	DOC_RECORD_FHIR,
	DOC__COUNT
};

static const char *const doc_files[DOC__COUNT] = {
        "measures.json",    "indications.json", "cell-types.json", "tissue-sources.json",
        "donor-types.json", "routes.json",      "body-sites.json", "record-fhir.json",
};

struct loader {
	const char *dir;
	char file[PATH_MAX]; /* the table being checked, for messages */
	struct cg_buf why;
};

static enum cg_err complain(struct loader *l, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static enum cg_err
complain(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	enum cg_err err = CG_OK;

	if (l->why.len == 0) {
		err = cg_buf_printf(&l->why, "%s: ", l->file);
		if (!err) {
			va_start(ap, fmt);
			err = cg_buf_vprintf(&l->why, fmt, ap);
			va_end(ap);
		}
	}
	/* Out of memory is the load's error, as in cg_diag_vadd. A message too
	 * long to keep is dropped whole (a failed append frees l->why), and the
	 * loader then says what the code says. */
	return err == CG_ENOMEM ? CG_ENOMEM : CG_EMAPPINGS;
}

static enum cg_err
load_doc(struct loader *l, const char *name, cJSON **out)
{
	struct cg_json_limits lim;
	struct cg_json_fault fault;
	char *text = NULL;
	size_t len = 0, pos = 0;
	enum cg_err result;

	snprintf(l->file, sizeof(l->file), "%s/%s", l->dir, name);
	result = cg_file_read(l->file, MAPPINGS_MAX_FILE, &text, &len);
	if (result) {
		complain(l, "cannot read (%s)", cg_strerror(result));
		return result == CG_ENOMEM ? CG_ENOMEM : CG_EMAPPINGS;
	}
	cg_json_limits_default(&lim);
	lim.max_record = MAPPINGS_MAX_FILE;
	if (cg_json_scan(text, len, &pos, &lim, &fault) == 0) {
		pos = cg_json_skip_ws(text, len, pos);
		fault.offset = pos;
		snprintf(fault.message, sizeof(fault.message), "unexpected data after the value");
		if (pos == len)
			*out = cJSON_ParseWithLength(text, len);
	}
	if (!*out) {
		struct cg_textpos tp;

		cg_textpos_start(&tp);
		cg_textpos_advance(&tp, text, fault.offset <= len ? fault.offset : len);
		result = complain(l, "%lu:%lu: not valid JSON: %s", tp.line, tp.column,
		                  fault.message);
	} else if (strcmp(name, "record-fhir.json") == 0) {
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*out, "canonicalBase")) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*out, "extensions")) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*out, "codeSystems")))
			result = complain(l, "needs canonicalBase, extensions and codeSystems");
	} else if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*out, "entries"))) {
		result = complain(l, "/entries must be an object of codes");
	}
	free(text);
	return result;
}

static const cJSON *
attr(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static int
is_string_array(const cJSON *a)
{
	const cJSON *it;

	if (!cJSON_IsArray(a) || !a->child)
		return 0;
	cJSON_ArrayForEach(it, a) if (!cJSON_IsString(it) || !it->valuestring[0]) return 0;
	return 1;
}

static int
term_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cg_term *)a)->key, ((const struct cg_term *)b)->key);
}

static int
measure_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cg_measure *)a)->key, ((const struct cg_measure *)b)->key);
}

static enum cg_err
build_table(struct loader *l, const cJSON *doc, const char *name, struct cg_term_table *t)
{
	const cJSON *entries = attr(doc, "entries");
	const cJSON *e;
	size_t n = 0;

	t->name = name;
	cJSON_ArrayForEach(e, entries) n++;
	if (n == 0)
		return complain(l, "/entries is empty");
	t->v = calloc(n, sizeof(*t->v));
	if (!t->v)
		return CG_ENOMEM;
	cJSON_ArrayForEach(e, entries)
	{
		if (!cJSON_IsObject(e))
			return complain(l, "/entries/%s must be an object", e->string);
		for (size_t k = 0; k < t->n; k++)
			if (strcmp(t->v[k].key, e->string) == 0)
				return complain(l, "/entries/%s appears twice", e->string);
		if (!cJSON_IsString(attr(e, "display")))
			return complain(l, "/entries/%s/display must be a string", e->string);
		t->v[t->n].key = e->string;
		t->v[t->n].attrs = e;
		t->n++;
	}
	/* Sorted by key for bsearch: look-ups run for every record. */
	qsort(t->v, t->n, sizeof(t->v[0]), term_cmp);
	return CG_OK;
}

static enum cg_err
check_indications(struct loader *l, const struct cg_term_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!is_string_array(attr(t->v[i].attrs, "icd10cm")))
			return complain(l,
			                "/entries/%s/icd10cm must be a non-empty array of strings",
			                t->v[i].key);
	return CG_OK;
}

static enum cg_err
check_cell_types(struct loader *l, const struct cg_term_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const char *kind = cg_term_str(&t->v[i], "kind");

		if (!kind ||
		    (strcmp(kind, "cells") != 0 && strcmp(kind, "extracellular-vesicles") != 0))
			return complain(
			        l,
			        "/entries/%s/kind must be \"cells\" or \"extracellular-vesicles\"",
			        t->v[i].key);
	}
	return CG_OK;
}

static enum cg_err
check_donor_types(struct loader *l, const struct cg_term_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!cJSON_IsBool(attr(t->v[i].attrs, "allogeneic")))
			return complain(l, "/entries/%s/allogeneic must be true or false",
			                t->v[i].key);
	return CG_OK;
}

static enum cg_err
check_routes(struct loader *l, const struct cg_term_table *t, const struct cg_term_table *sites)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const char *site = cg_term_str(&t->v[i], "bodySite");

		if (site && !cg_term_find(sites, site))
			return complain(l, "/entries/%s/bodySite is not in body-sites.json",
			                t->v[i].key);
	}
	return CG_OK;
}

static int
number_attr(const cJSON *e, const char *name, double *out)
{
	const cJSON *n = attr(e, name);

	if (!cJSON_IsNumber(n) || !isfinite(n->valuedouble))
		return -1;
	*out = n->valuedouble;
	return 0;
}

static enum cg_err
build_measure(struct loader *l, const cJSON *e, struct cg_measure *ms)
{
	const char *kind = cJSON_GetStringValue(attr(e, "value"));
	const cJSON *grade = attr(e, "grade");
	static const char *const categories[] = {"imaging",     "survey",         "activity",
	                                         "procedure",   "laboratory",     "exam",
	                                         "vital-signs", "social-history", "therapy"};
	const char *cat = cJSON_GetStringValue(attr(e, "category"));
	size_t i;

	ms->key = e->string;
	ms->attrs = e;
	if (!cJSON_IsObject(e))
		return complain(l, "/entries/%s must be an object", e->string);
	ms->system = cJSON_GetStringValue(attr(e, "system"));
	ms->code = cJSON_GetStringValue(attr(e, "code"));
	if (!ms->system || !ms->code || !cJSON_IsString(attr(e, "display")))
		return complain(l, "/entries/%s needs system, code and display strings", e->string);
	for (i = 0; cat && i < sizeof(categories) / sizeof(categories[0]); i++)
		if (strcmp(cat, categories[i]) == 0)
			break;
	if (!cat || i == sizeof(categories) / sizeof(categories[0]))
		return complain(l, "/entries/%s/category is not an observation-category code",
		                e->string);
	if (!kind)
		return complain(l, "/entries/%s/value must name the value type", e->string);
	if (strcmp(kind, "number") == 0 || strcmp(kind, "integer") == 0) {
		ms->kind = kind[0] == 'n' ? CG_VALUE_NUMBER : CG_VALUE_INTEGER;
		ms->unit = cJSON_GetStringValue(attr(e, "unit"));
		if (!ms->unit || number_attr(e, "min", &ms->min) ||
		    number_attr(e, "max", &ms->max) || ms->min > ms->max)
			return complain(l, "/entries/%s needs unit, and min <= max", e->string);
	} else if (strcmp(kind, "code") == 0) {
		ms->kind = CG_VALUE_CODE;
		ms->values = attr(e, "values");
		if (!is_string_array(ms->values))
			return complain(l, "/entries/%s/values must list the codes", e->string);
	} else if (strcmp(kind, "boolean") == 0) {
		ms->kind = CG_VALUE_BOOLEAN;
	} else {
		return complain(l, "/entries/%s/value must be number, integer, code or boolean",
		                e->string);
	}
	if (ms->kind >= CG_VALUE_CODE && attr(e, "unit"))
		return complain(l, "/entries/%s: a %s measure has no unit", e->string, kind);
	ms->methods = attr(e, "methods");
	if (ms->methods && !is_string_array(ms->methods))
		return complain(l, "/entries/%s/methods must be an array of strings", e->string);
	ms->event_types = attr(e, "eventTypes");
	if (ms->event_types && !is_string_array(ms->event_types))
		return complain(l, "/entries/%s/eventTypes must be an array of strings", e->string);
	if (grade) {
		double lo, hi;

		if (number_attr(grade, "min", &lo) || number_attr(grade, "max", &hi) || lo > hi ||
		    lo != floor(lo) || hi != floor(hi) || lo < 0 || hi > 100)
			return complain(l, "/entries/%s/grade needs whole min <= max", e->string);
		ms->has_grade = 1;
		ms->grade_min = (int)lo;
		ms->grade_max = (int)hi;
	}
	return CG_OK;
}

static enum cg_err
build_measures(struct loader *l, const cJSON *doc, struct cg_mappings *m)
{
	const cJSON *entries = attr(doc, "entries");
	const cJSON *e;
	size_t n = 0;
	enum cg_err result;

	if (!cJSON_IsString(attr(doc, "localSystem")))
		return complain(l, "/localSystem must be a string");
	cJSON_ArrayForEach(e, entries) n++;
	if (n == 0)
		return complain(l, "/entries is empty");
	m->measures = calloc(n, sizeof(*m->measures));
	if (!m->measures)
		return CG_ENOMEM;
	cJSON_ArrayForEach(e, entries)
	{
		for (size_t k = 0; k < m->nmeasures; k++)
			if (strcmp(m->measures[k].key, e->string) == 0)
				return complain(l, "/entries/%s appears twice", e->string);
		result = build_measure(l, e, &m->measures[m->nmeasures]);
		if (result)
			return result;
		m->nmeasures++;
	}
	qsort(m->measures, m->nmeasures, sizeof(m->measures[0]), measure_cmp);
	return CG_OK;
}

static void
name_file(struct loader *l, int doc)
{
	snprintf(l->file, sizeof(l->file), "%s/%s", l->dir, doc_files[doc]);
}

enum cg_err
cg_mappings_load(const char *dir, struct cg_mappings **out, char **why)
{
	struct cg_mappings *m;
	struct loader l;
	enum cg_err result = CG_OK;
	size_t i;

	*out = NULL;
	*why = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CG_ENOMEM;
	cg_buf_init(&l.why, CG_BUF_MAX_MESSAGE);
	l.dir = dir;
	{
		static _Atomic unsigned long loads;

		m->generation = ++loads;
	}
	m->dir = strdup(dir);
	if (!m->dir) {
		result = CG_ENOMEM;
		goto fail;
	}
	for (i = 0; i < DOC__COUNT; i++) {
		result = load_doc(&l, doc_files[i], &m->docs[i]);
		if (result)
			goto fail;
	}
	name_file(&l, DOC_MEASURES);
	result = build_measures(&l, m->docs[DOC_MEASURES], m);
	if (result)
		goto fail;
	name_file(&l, DOC_INDICATIONS);
	result = build_table(&l, m->docs[DOC_INDICATIONS], "indication category", &m->indications);
	if (!result)
		result = check_indications(&l, &m->indications);
	if (result)
		goto fail;
	name_file(&l, DOC_CELL_TYPES);
	result = build_table(&l, m->docs[DOC_CELL_TYPES], "cell type", &m->cell_types);
	if (!result)
		result = check_cell_types(&l, &m->cell_types);
	if (result)
		goto fail;
	name_file(&l, DOC_TISSUE_SOURCES);
	result = build_table(&l, m->docs[DOC_TISSUE_SOURCES], "tissue source", &m->tissue_sources);
	if (result)
		goto fail;
	name_file(&l, DOC_DONOR_TYPES);
	result = build_table(&l, m->docs[DOC_DONOR_TYPES], "donor type", &m->donor_types);
	if (!result)
		result = check_donor_types(&l, &m->donor_types);
	if (result)
		goto fail;
	name_file(&l, DOC_BODY_SITES);
	result = build_table(&l, m->docs[DOC_BODY_SITES], "body site", &m->body_sites);
	if (result)
		goto fail;
	name_file(&l, DOC_ROUTES);
	result = build_table(&l, m->docs[DOC_ROUTES], "route", &m->routes);
	if (!result)
		result = check_routes(&l, &m->routes, &m->body_sites);
	if (result)
		goto fail;
	m->record_fhir = m->docs[DOC_RECORD_FHIR];
	m->canonical_base = cJSON_GetStringValue(
	        cJSON_GetObjectItemCaseSensitive(m->record_fhir, "canonicalBase"));
	snprintf(l.file, sizeof(l.file), "%s/fhir-r4/structure.json", dir);
	{
		char *fwhy = NULL;

		result = cg_fhir_structure_load(l.file, &m->fhir, &fwhy);
		if (result) {
			complain(&l, "%s", fwhy ? fwhy : cg_strerror(result));
			free(fwhy);
			goto fail;
		}
	}
	cg_buf_free(&l.why);
	*out = m;
	return CG_OK;
fail:
	if (result == CG_ENOMEM)
		cg_buf_free(&l.why);
	*why = l.why.p ? cg_buf_take(&l.why) : strdup(cg_strerror(result));
	cg_mappings_free(m);
	return result;
}

void
cg_mappings_free(struct cg_mappings *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < DOC__COUNT; i++)
		cJSON_Delete(m->docs[i]);
	cg_fhir_structure_free(m->fhir);
	free(m->indications.v);
	free(m->cell_types.v);
	free(m->tissue_sources.v);
	free(m->donor_types.v);
	free(m->routes.v);
	free(m->body_sites.v);
	free(m->measures);
	free(m->dir);
	free(m);
}

static int
is_dir_with_tables(const char *dir)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, doc_files[DOC_MEASURES]);

	return n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0;
}

char *
cg_mappings_default_dir(void)
{
	const char *env = getenv("CELLGATE_MAPPINGS");
	char exe[PATH_MAX];
	char cand[PATH_MAX + 64];
	ssize_t n;

	if (env && env[0])
		return strdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%s/../share/cellgate/mappings", exe);
			if (is_dir_with_tables(cand))
				return strdup(cand);
		}
	}
	if (CG_SOURCE_MAPPINGS_DIR[0] && is_dir_with_tables(CG_SOURCE_MAPPINGS_DIR))
		return strdup(CG_SOURCE_MAPPINGS_DIR);
	return NULL;
}

const struct cg_term *
cg_term_find(const struct cg_term_table *t, const char *key)
{
	struct cg_term probe = {key, NULL};

	return t->n ? bsearch(&probe, t->v, t->n, sizeof(t->v[0]), term_cmp) : NULL;
}

const struct cg_measure *
cg_measure_find(const struct cg_mappings *m, const char *key)
{
	struct cg_measure probe;

	probe.key = key;
	return m->nmeasures ? bsearch(&probe, m->measures, m->nmeasures, sizeof(m->measures[0]),
	                              measure_cmp)
	                    : NULL;
}

const char *
cg_term_str(const struct cg_term *c, const char *name)
{
	return cJSON_GetStringValue(attr(c->attrs, name));
}

bool
cg_term_has_flag(const struct cg_term *c, const char *name)
{
	return cJSON_IsTrue(attr(c->attrs, name));
}

enum cg_cell_kind
cg_cell_kind(const struct cg_term *cell_type)
{
	const char *kind = cg_term_str(cell_type, "kind");

	return kind && strcmp(kind, "extracellular-vesicles") == 0 ? CG_VESICLES : CG_CELLS;
}

/* Glob with '*' only, which is all the tables need. */
static int
glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

bool
cg_indication_has_icd10cm(const struct cg_term *indication, const char *icd10cm)
{
	const cJSON *g;

	cJSON_ArrayForEach(g, attr(indication->attrs, "icd10cm")) if (glob_match(g->valuestring,
	                                                                         icd10cm)) return 1;
	return 0;
}

enum cg_err
cg_term_table_list(const struct cg_term_table *t, struct cg_buf *b)
{
	size_t i;
	enum cg_err result = CG_OK;

	for (i = 0; i < t->n && !result; i++)
		result = cg_buf_printf(b, "%s%s", i ? ", " : "", t->v[i].key);
	return result;
}
