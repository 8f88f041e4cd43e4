/*
 * map_to_fhir.c: a record as a FHIR R4 transaction Bundle; see map.h and
 * docs/mapping.md for the element-by-element table. The Bundle is written
 * as text as it is made (json_write.h): no tree, no second pass.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "check.h"
#include "json_write.h"
#include "map.h"
#include "map_internal.h"
#include "provenance.h"
#include "uuid.h"

#define SNOMED  "http://snomed.info/sct"
#define ICD10CM "http://hl7.org/fhir/sid/icd-10-cm"
#define UCUM    "http://unitsofmeasure.org"

static const char *
str(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *v = cg_json_member(obj, a);

	return cJSON_GetStringValue(b ? cg_json_member(v, b) : v);
}

/* {"system", "code", "display"?} as an array element. */
static void
coding(struct cg_jw *w, const char *system, const char *code, const char *display)
{
	cg_jw_object(w, NULL);
	cg_jw_string(w, "system", system);
	cg_jw_string(w, "code", code);
	if (display)
		cg_jw_string(w, "display", display);
	cg_jw_end(w);
}

/* A CodeableConcept with one coding, and text if given, as member key (or
 * as an array element when key is NULL). */
static void
codeable(struct cg_jw *w, const char *key, const char *system, const char *code,
         const char *display, const char *text)
{
	cg_jw_object(w, key);
	cg_jw_array(w, "coding");
	coding(w, system, code, display);
	cg_jw_end(w);
	if (text)
		cg_jw_string(w, "text", text);
	cg_jw_end(w);
}

static void
identifier(struct cg_jw *w, const char *key, const char *system, const char *value)
{
	cg_jw_object(w, key);
	cg_jw_string(w, "system", system);
	cg_jw_string(w, "value", value);
	cg_jw_end(w);
}

/* ---- the generic extension encoding (mappings/record-fhir.json) --------- */

static int has_members(const struct cg_ext_spec *s, const cJSON *obj);
static void encode_members(struct cg_jw *w, const struct cg_ext_spec *s, const cJSON *obj);

/* One sub-extension for member s: nested members, or a value. */
static void
one_extension(struct cg_jw *w, const struct cg_ext_spec *s, const cJSON *value)
{
	/* All of an object may have gone to standard elements (source.system):
	 * FHIR has no empty extensions, so there is none. */
	if (!s->value_key && !has_members(s, value))
		return;
	cg_jw_object(w, NULL);
	cg_jw_raw_members(w, s->url_member);
	if (!s->value_key) {
		cg_jw_array(w, "extension");
		encode_members(w, s, value);
		cg_jw_end(w);
	} else {
		cg_jw_value(w, s->value_key, value);
	}
	cg_jw_end(w);
}

static int
has_members(const struct cg_ext_spec *s, const cJSON *obj)
{
	size_t i;

	for (i = 0; i < s->nmembers; i++)
		if (cg_json_member(obj, s->members[i].name))
			return 1;
	return 0;
}

static void
encode_members(struct cg_jw *w, const struct cg_ext_spec *s, const cJSON *obj)
{
	const cJSON *next = cJSON_IsObject(obj) ? obj->child : NULL, *value, *it;
	size_t i;

	for (i = 0; i < s->nmembers; i++) {
		const struct cg_ext_spec *m = &s->members[i];

		/* Records mostly list members in the table's order: try the member
		 * after the last one found before searching them all. */
		if (next && next->string[0] == m->name[0] && !strcmp(next->string, m->name))
			value = next;
		else
			value = cg_json_member(obj, m->name);
		if (!value)
			continue;
		next = value->next;
		if (!m->repeats)
			one_extension(w, m, value);
		else
			cJSON_ArrayForEach(it, value) one_extension(w, m, it);
	}
}

/* "extension": [one extension of record-fhir.json, filled from rec] */
static void
extension(struct cg_jw *w, const char *url, const struct cg_ext_spec *members, const cJSON *rec)
{
	cg_jw_array(w, "extension");
	cg_jw_object(w, NULL);
	cg_jw_string(w, "url", url);
	cg_jw_array(w, "extension");
	encode_members(w, members, rec);
	cg_jw_end(w);
	cg_jw_end(w);
	cg_jw_end(w);
}

/* ---- Procedure -------------------------------------------------------- */

static void
subject(struct cg_jw *w, const cJSON *rec)
{
	const cJSON *first = cJSON_GetArrayItem(
	        cg_json_member(cg_json_member(rec, "patient"), "identifiers"), 0);

	cg_jw_object(w, "subject");
	identifier(w, "identifier", str(first, "system", NULL), str(first, "value", NULL));
	cg_jw_end(w);
}

/* The labels of every resource the Bundle holds (map.h). */
static void
meta(struct cg_jw *w, const struct cg_map_opts *o)
{
	if (o)
		cg_map_meta(w, o);
}

static void
procedure(const struct cg_map_ctx *x, const struct cg_map_opts *o, struct cg_jw *w,
          const cJSON *rec)
{
	const cJSON *ind = cg_json_member(rec, "indication");
	const cJSON *prod = cg_json_member(rec, "product");
	const cJSON *adm = cg_json_member(rec, "administration");
	const struct cg_term *cell = cg_term_find(&x->m->cell_types, str(prod, "cellType", NULL));
	const char *site = str(adm, "bodySite", NULL);
	const cJSON *pc = cg_json_member(cell->attrs, "procedureCode");

	cg_jw_object(w, "resource");
	cg_jw_string(w, "resourceType", "Procedure");
	meta(w, o);
	extension(w, x->record_ext_url, &x->record_ext, rec);
	cg_jw_array(w, "identifier");
	identifier(w, NULL, str(rec, "source", "system"), str(rec, "recordId", NULL));
	cg_jw_end(w);
	cg_jw_string(w, "status", str(adm, "status", NULL));
	codeable(w, "category", SNOMED, "77465005", "Transplantation", NULL);
	/* code: SNOMED CT where a concept exists, always our own code as well. */
	cg_jw_object(w, "code");
	cg_jw_array(w, "coding");
	if (pc)
		coding(w, str(pc, "system", NULL), str(pc, "code", NULL), str(pc, "display", NULL));
	coding(w, cg_map_cs(x, CG_MAP_CS_CELL_TYPE), cell->key, cg_term_str(cell, "display"));
	cg_jw_end(w);
	cg_jw_string(w, "text", cg_term_str(cell, "display"));
	cg_jw_end(w);
	subject(w, rec);
	if (cg_json_member(adm, "end")) {
		cg_jw_object(w, "performedPeriod");
		cg_jw_string(w, "start", str(adm, "start", NULL));
		cg_jw_string(w, "end", str(adm, "end", NULL));
		cg_jw_end(w);
	} else {
		cg_jw_string(w, "performedDateTime", str(adm, "start", NULL));
	}
	if (cg_json_member(adm, "performer")) {
		cg_jw_array(w, "performer");
		cg_jw_object(w, NULL);
		cg_jw_object(w, "actor");
		identifier(w, "identifier", str(adm, "performer", "system"),
		           str(adm, "performer", "value"));
		cg_jw_end(w);
		cg_jw_end(w);
		cg_jw_end(w);
	}
	cg_jw_array(w, "reasonCode");
	cg_jw_object(w, NULL);
	cg_jw_array(w, "coding");
	coding(w, ICD10CM, str(ind, "icd10cm", NULL), NULL);
	if (str(ind, "snomed", NULL))
		coding(w, SNOMED, str(ind, "snomed", NULL), NULL);
	cg_jw_end(w);
	cg_jw_end(w);
	cg_jw_end(w);
	if (site) {
		const struct cg_term *bs = cg_term_find(&x->m->body_sites, site);

		cg_jw_array(w, "bodySite");
		cg_jw_object(w, NULL);
		cg_jw_array(w, "coding");
		if (cg_term_str(bs, "snomed"))
			coding(w, SNOMED, cg_term_str(bs, "snomed"), cg_term_str(bs, "display"));
		coding(w, cg_map_cs(x, CG_MAP_CS_BODY_SITE), site, cg_term_str(bs, "display"));
		cg_jw_end(w);
		cg_jw_end(w);
		cg_jw_end(w);
	}
	cg_jw_array(w, "usedCode");
	codeable(w, NULL, SNOMED, "419758009", "Stem cell", cg_term_str(cell, "display"));
	cg_jw_end(w);
	cg_jw_end(w);
}

/* ---- Observations ----------------------------------------------------- */

/* An outcome's members, found in one pass rather than one search each. */
struct outcome {
	const cJSON *measure, *timepoint, *method, *value, *status, *absent, *events, *grade;
};

static void
outcome_view(const cJSON *o, struct outcome *v)
{
	const cJSON *c;

	memset(v, 0, sizeof(*v));
	for (c = o->child; c; c = c->next) {
		const char *k = c->string;

		if (!strcmp(k, "measure"))
			v->measure = c;
		else if (!strcmp(k, "timepoint"))
			v->timepoint = c;
		else if (!strcmp(k, "method"))
			v->method = c;
		else if (!strcmp(k, "value"))
			v->value = c;
		else if (!strcmp(k, "status"))
			v->status = c;
		else if (!strcmp(k, "dataAbsentReason"))
			v->absent = c;
		else if (!strcmp(k, "events"))
			v->events = c;
		else if (!strcmp(k, "grade"))
			v->grade = c;
	}
}

static void
observation(const struct cg_map_ctx *x, const struct cg_map_opts *opts, struct cg_jw *w,
            const cJSON *rec, const cJSON *o, const char *oid, const char *subject_focus)
{
	struct outcome v;
	const struct cg_measure *ms;
	const cJSON *value, *tp, *events, *grade;

	outcome_view(o, &v);
	ms = cg_measure_find(x->m, v.measure->valuestring);
	value = v.value;
	tp = v.timepoint;
	events = v.events;
	grade = v.grade;

	cg_jw_object(w, "resource");
	cg_jw_string(w, "resourceType", "Observation");
	meta(w, opts);
	extension(w, x->timepoint_ext_url, &x->timepoint_ext, tp);
	cg_jw_array(w, "identifier");
	identifier(w, NULL, str(rec, "source", "system"), oid);
	cg_jw_end(w);
	cg_jw_string(w, "status", v.status->valuestring);
	/* category and code: the same text for every outcome of a measure,
	 * written once per context (map_common.c). */
	cg_jw_raw_members(w, x->measure_json[ms - x->m->measures]);
	/* subject and focus: the same for every Observation of the record. */
	cg_jw_raw_members(w, subject_focus);
	cg_jw_string(w, "effectiveDateTime", str(tp, "effective", NULL));
	if (value) {
		switch (ms->kind) {
		case CG_VALUE_NUMBER:
		case CG_VALUE_INTEGER:
			cg_jw_object(w, "valueQuantity");
			cg_jw_value(w, "value", value);
			cg_jw_string(w, "unit", ms->unit);
			cg_jw_string(w, "system", UCUM);
			cg_jw_string(w, "code", ms->unit);
			cg_jw_end(w);
			break;
		case CG_VALUE_CODE:
			codeable(w, "valueCodeableConcept", cg_map_cs(x, CG_MAP_CS_MEASURE_VALUE),
			         value->valuestring, NULL, value->valuestring);
			break;
		case CG_VALUE_BOOLEAN:
			cg_jw_bool(w, "valueBoolean", cJSON_IsTrue(value));
			break;
		}
	}
	if (v.absent)
		codeable(w, "dataAbsentReason",
		         "http://terminology.hl7.org/CodeSystem/data-absent-reason",
		         v.absent->valuestring, NULL, NULL);
	if (v.method)
		codeable(w, "method", cg_map_cs(x, CG_MAP_CS_METHOD), v.method->valuestring, NULL,
		         v.method->valuestring);
	if (events || grade) {
		const cJSON *ev;

		cg_jw_array(w, "component");
		cJSON_ArrayForEach(ev, events)
		{
			cg_jw_object(w, NULL);
			codeable(w, "code", cg_map_cs(x, CG_MAP_CS_MACE_EVENT),
			         str(ev, "type", NULL), NULL, NULL);
			cg_jw_string(w, "valueDateTime", str(ev, "date", NULL));
			cg_jw_end(w);
		}
		if (grade) {
			cg_jw_object(w, NULL);
			codeable(w, "code", cg_map_cs(x, CG_MAP_CS_MEASURE_VALUE), "ctcae-grade",
			         "CTCAE grade", NULL);
			cg_jw_value(w, "valueInteger", grade);
			cg_jw_end(w);
		}
		cg_jw_end(w);
	}
	cg_jw_end(w);
}

/* ---- Bundle ----------------------------------------------------------- */

/* fullUrl: urn:uuid: and the version 5 UUID of type|system|value. */
static enum cg_err
full_url(struct cg_buf *name, const char *type, const char *system, const char *value, char out[64])
{
	char uuid[CG_UUID_STRLEN + 1];
	enum cg_err result;

	cg_buf_reset(name);
	result = cg_buf_addstr(name, type);
	if (!result)
		result = cg_buf_addc(name, '|');
	if (!result)
		result = cg_buf_addstr(name, system);
	if (!result)
		result = cg_buf_addc(name, '|');
	if (!result)
		result = cg_buf_addstr(name, value);
	if (!result)
		result = cg_uuid_v5(name->p, name->len, uuid);
	if (!result)
		snprintf(out, 64, "urn:uuid:%s", uuid);
	return result;
}

/* The request of an entry: a conditional create, so that a resend of the
 * same record creates nothing. */
static void
request(struct cg_jw *w, struct cg_buf *cond, const char *type, const char *system,
        const char *value)
{
	cg_jw_object(w, "request");
	cg_jw_string(w, "method", "POST");
	cg_jw_string(w, "url", type);
	cg_buf_reset(cond);
	if (cg_buf_addstr(cond, "identifier=") || cg_map_query_escape(cond, system) ||
	    cg_buf_addc(cond, '|') || cg_map_query_escape(cond, value))
		w->err = CG_ENOMEM;
	cg_jw_string(w, "ifNoneExist", cond->p);
	cg_jw_end(w);
}

/* The Provenance entry (provenance.h): its identifiers and policy in the
 * mapping's canonical base unless the caller named another. */
static void
provenance(const struct cg_map_ctx *x, const struct cg_map_opts *o, struct cg_jw *w,
           const struct cg_provenance_targets *t)
{
	struct cg_provenance_in in = *o->provenance;

	if (!in.canonical_base)
		in.canonical_base = x->base;
	cg_provenance_write(w, &in, t, o, 1);
}

enum cg_err
cg_map_record_to_fhir(const cJSON *rec, const struct cg_mappings *m, const struct cg_map_opts *o,
                      struct cg_buf *out)
{
	const struct cg_map_ctx *x = cg_map_ctx_get(m, o);
	struct cg_jw w;
	struct cg_buf oid, scratch, common;
	struct cg_jw cw;
	const char *subject_focus = "";
	struct cg_uuid_prefix prefix;
	const cJSON *oc;
	const char *system = str(rec, "source", "system"), *rid = str(rec, "recordId", NULL);
	char proc_url[64], obs_url[64];
	struct cg_provenance_targets targets;
	enum cg_err result;

	if (!x)
		return CG_ENOMEM;
	cg_provenance_targets_init(&targets);
	cg_jw_init(&w, out);
	cg_buf_init(&scratch, CG_BUF_MAX_SCRATCH);
	result = full_url(&scratch, "Procedure", system, rid, proc_url);
	if (result) {
		cg_buf_free(&scratch);
		cg_provenance_targets_free(&targets);
		return result;
	}
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "resourceType", "Bundle");
	cg_jw_string(&w, "type", "transaction");
	cg_jw_array(&w, "entry");
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "fullUrl", proc_url);
	if (o && o->provenance && cg_provenance_target(&targets, proc_url))
		w.err = CG_ENOMEM;
	procedure(x, o, &w, rec);
	request(&w, &scratch, "Procedure", system, rid);
	cg_jw_end(&w);
	/* "subject" and "focus" of the Observations, as ready text. */
	cg_buf_init(&common, CG_BUF_MAX_SCRATCH);
	cg_jw_init(&cw, &common);
	cg_jw_object(&cw, NULL);
	subject(&cw, rec);
	cg_jw_array(&cw, "focus");
	cg_jw_object(&cw, NULL);
	cg_jw_string(&cw, "reference", proc_url);
	cg_jw_end(&cw);
	cg_jw_end(&cw);
	cg_jw_end(&cw);
	if (cw.err || common.len < 2) {
		w.err = cw.err ? cw.err : CG_ENOMEM;
	} else {
		common.p[common.len - 1] = '\0';
		subject_focus = common.p + 1;
	}
	/* Every Observation's UUID name starts "Observation|system|recordId/":
	 * that part is hashed once. */
	cg_buf_init(&oid, CG_BUF_MAX_SCRATCH);
	cg_buf_reset(&scratch);
	if (cg_buf_addstr(&scratch, "Observation|") || cg_buf_addstr(&scratch, system) ||
	    cg_buf_addc(&scratch, '|') || cg_buf_addstr(&scratch, rid) ||
	    cg_buf_addc(&scratch, '/'))
		w.err = CG_ENOMEM;
	else
		cg_uuid_v5_prefix(&prefix, scratch.p, scratch.len);
	cJSON_ArrayForEach(oc, cg_json_member(rec, "outcomes"))
	{
		const char *id = str(oc, "id", NULL);
		char uuid[CG_UUID_STRLEN + 1];

		if (w.err)
			break;
		cg_buf_reset(&oid);
		if (cg_buf_addstr(&oid, rid) || cg_buf_addc(&oid, '/') || cg_buf_addstr(&oid, id)) {
			w.err = CG_ENOMEM;
			break;
		}
		cg_uuid_v5_suffix(&prefix, id, strlen(id), uuid);
		snprintf(obs_url, sizeof(obs_url), "urn:uuid:%s", uuid);
		cg_jw_object(&w, NULL);
		cg_jw_string(&w, "fullUrl", obs_url);
		observation(x, o, &w, rec, oc, oid.p, subject_focus);
		if (o && o->provenance && cg_provenance_target(&targets, obs_url))
			w.err = CG_ENOMEM;
		request(&w, &scratch, "Observation", system, oid.p);
		cg_jw_end(&w);
	}
	cg_buf_free(&oid);
	cg_buf_free(&scratch);
	cg_buf_free(&common);
	if (o && o->provenance && !w.err)
		provenance(x, o, &w, &targets);
	cg_provenance_targets_free(&targets);
	cg_jw_end(&w);
	cg_jw_end(&w);
	return w.err;
}
