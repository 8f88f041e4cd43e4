/*
 * map_to_fhir.c: a record as a FHIR R4 transaction Bundle; see map.h and
 * docs/mapping.md for the element-by-element table.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "check.h"
#include "map.h"
#include "map_internal.h"
#include "uuid.h"

#define SNOMED  "http://snomed.info/sct"
#define ICD10CM "http://hl7.org/fhir/sid/icd-10-cm"
#define UCUM    "http://unitsofmeasure.org"

/* Adds {"system", "code", "display"} to the array codings. */
static cJSON *
add_coding(cJSON *codings, const char *system, const char *code, const char *display)
{
	cJSON *c = cJSON_CreateObject();

	if (!c || !cJSON_AddItemToArray(codings, c))
		return NULL;
	cJSON_AddStringToObject(c, "system", system);
	cJSON_AddStringToObject(c, "code", code);
	if (display)
		cJSON_AddStringToObject(c, "display", display);
	return c;
}

/* A CodeableConcept with one coding (and optional text) as member name. */
static cJSON *
add_concept(cJSON *obj, const char *name, const char *system, const char *code, const char *display)
{
	cJSON *cc = cJSON_AddObjectToObject(obj, name);
	cJSON *codings = cc ? cJSON_AddArrayToObject(cc, "coding") : NULL;

	if (!codings || !add_coding(codings, system, code, display))
		return NULL;
	return cc;
}

/* ---- the generic extension encoding (mappings/record-fhir.json) --------- */

static int
add_value(cJSON *ext, const char *type, const cJSON *value)
{
	char name[40];

	snprintf(name, sizeof(name), "value%c%s", type[0] - 32, type + 1);
	return cJSON_AddItemToObject(ext, name, cJSON_Duplicate(value, 1)) ? 0 : -1;
}

static int encode_members(const cJSON *members, const cJSON *obj, cJSON *into);

/* One sub-extension named name: nested members, or a value of type. */
static int
one_extension(const char *type, const cJSON *members, const char *name, const cJSON *value,
              cJSON *into)
{
	cJSON *ext = cJSON_CreateObject();

	if (!ext || !cJSON_AddItemToArray(into, ext))
		return -1;
	cJSON_AddStringToObject(ext, "url", name);
	if (members) {
		cJSON *sub = cJSON_AddArrayToObject(ext, "extension");

		if (!sub || encode_members(members, value, sub))
			return -1;
		/* All of the object went to standard elements (source.system, say):
		 * FHIR has no empty extensions, so there is none. */
		if (!sub->child)
			cJSON_Delete(cJSON_DetachItemViaPointer(into, ext));
		return 0;
	}
	return add_value(ext, type, value);
}

/* One record member as one sub-extension, or one per element of a list. */
static int
encode_member(const cJSON *spec, const char *name, const cJSON *value, cJSON *into)
{
	const char *type = cg_map_spec_type(spec);
	const cJSON *members = cJSON_IsObject(spec) ? cg_json_member(spec, "members") : NULL;
	const cJSON *it;

	if (!cg_map_spec_repeats(spec))
		return one_extension(type, members, name, value, into);
	cJSON_ArrayForEach(it, value) if (one_extension(type, members, name, it, into)) return -1;
	return 0;
}

static int
encode_members(const cJSON *members, const cJSON *obj, cJSON *into)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, members)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(m, 0));
		const cJSON *spec = cJSON_GetArrayItem(m, 1);
		const cJSON *value = cg_json_member(obj, name);

		if (value && encode_member(spec, name, value, into))
			return -1;
	}
	return 0;
}

/* The extension `key` of record-fhir.json, filled from rec, added to res. */
static int
add_extension(struct cg_map_ctx *x, cJSON *res, const char *key, const cJSON *rec)
{
	const cJSON *def = cg_json_member(cg_json_member(x->m->record_fhir, "extensions"), key);
	cJSON *exts = cJSON_AddArrayToObject(res, "extension"), *ext, *sub;
	char url[512];

	if (!def || !exts)
		return -1;
	ext = cJSON_CreateObject();
	if (!ext || !cJSON_AddItemToArray(exts, ext))
		return -1;
	cg_map_url(x, "StructureDefinition/", key, url, sizeof(url));
	cJSON_AddStringToObject(ext, "url", url);
	sub = cJSON_AddArrayToObject(ext, "extension");
	return sub ? encode_members(cg_json_member(def, "members"), rec, sub) : -1;
}

/* ---- Procedure -------------------------------------------------------- */

static cJSON *
identifier(const char *system, const char *value)
{
	cJSON *id = cJSON_CreateObject();

	cJSON_AddStringToObject(id, "system", system);
	cJSON_AddStringToObject(id, "value", value);
	return id;
}

static cJSON *
subject(const cJSON *rec)
{
	const cJSON *first = cJSON_GetArrayItem(
	        cg_json_member(cg_json_member(rec, "patient"), "identifiers"), 0);
	cJSON *ref = cJSON_CreateObject();

	cJSON_AddItemToObject(ref, "identifier",
	                      identifier(cJSON_GetStringValue(cg_json_member(first, "system")),
	                                 cJSON_GetStringValue(cg_json_member(first, "value"))));
	return ref;
}

static const char *
str(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *v = cg_json_member(obj, a);

	return cJSON_GetStringValue(b ? cg_json_member(v, b) : v);
}

static cJSON *
procedure(struct cg_map_ctx *x, const cJSON *rec)
{
	const cJSON *ind = cg_json_member(rec, "indication");
	const cJSON *prod = cg_json_member(rec, "product");
	const cJSON *adm = cg_json_member(rec, "administration");
	const struct cg_term *cell = cg_term_find(&x->m->cell_types, str(prod, "cellType", NULL));
	const char *site = str(adm, "bodySite", NULL);
	cJSON *p = cJSON_CreateObject(), *a, *cc, *codings;
	char url[512];

	cJSON_AddStringToObject(p, "resourceType", "Procedure");
	if (add_extension(x, p, "stemcell-record", rec))
		goto fail;
	a = cJSON_AddArrayToObject(p, "identifier");
	cJSON_AddItemToArray(a,
	                     identifier(str(rec, "source", "system"), str(rec, "recordId", NULL)));
	cJSON_AddStringToObject(p, "status", str(adm, "status", NULL));
	if (!add_concept(p, "category", SNOMED, "77465005", "Transplantation"))
		goto fail;
	/* code: SNOMED CT where a concept exists, always our own code as well. */
	cc = cJSON_AddObjectToObject(p, "code");
	codings = cJSON_AddArrayToObject(cc, "coding");
	{
		const cJSON *pc = cg_json_member(cell->attrs, "procedureCode");

		if (pc)
			add_coding(codings, str(pc, "system", NULL), str(pc, "code", NULL),
			           str(pc, "display", NULL));
	}
	snprintf(url, sizeof(url), "%s", cg_map_cs(x, CG_MAP_CS_CELL_TYPE));
	add_coding(codings, url, cell->key, cg_term_str(cell, "display"));
	cJSON_AddStringToObject(cc, "text", cg_term_str(cell, "display"));
	cJSON_AddItemToObject(p, "subject", subject(rec));
	if (cg_json_member(adm, "end")) {
		cJSON *period = cJSON_AddObjectToObject(p, "performedPeriod");

		cJSON_AddStringToObject(period, "start", str(adm, "start", NULL));
		cJSON_AddStringToObject(period, "end", str(adm, "end", NULL));
	} else {
		cJSON_AddStringToObject(p, "performedDateTime", str(adm, "start", NULL));
	}
	if (cg_json_member(adm, "performer")) {
		cJSON *perf = cJSON_CreateObject(), *actor;

		cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "performer"), perf);
		actor = cJSON_AddObjectToObject(perf, "actor");
		cJSON_AddItemToObject(actor, "identifier",
		                      identifier(str(adm, "performer", "system"),
		                                 str(adm, "performer", "value")));
	}
	cc = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "reasonCode"), cc);
	codings = cJSON_AddArrayToObject(cc, "coding");
	add_coding(codings, ICD10CM, str(ind, "icd10cm", NULL), NULL);
	if (str(ind, "snomed", NULL))
		add_coding(codings, SNOMED, str(ind, "snomed", NULL), NULL);
	if (site) {
		const struct cg_term *bs = cg_term_find(&x->m->body_sites, site);

		cc = cJSON_CreateObject();
		cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "bodySite"), cc);
		codings = cJSON_AddArrayToObject(cc, "coding");
		if (cg_term_str(bs, "snomed"))
			add_coding(codings, SNOMED, cg_term_str(bs, "snomed"),
			           cg_term_str(bs, "display"));
		snprintf(url, sizeof(url), "%s", cg_map_cs(x, CG_MAP_CS_BODY_SITE));
		add_coding(codings, url, site, cg_term_str(bs, "display"));
	}
	cc = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "usedCode"), cc);
	add_coding(cJSON_AddArrayToObject(cc, "coding"), SNOMED, "419758009", "Stem cell");
	cJSON_AddStringToObject(cc, "text", cg_term_str(cell, "display"));
	return p;
fail:
	cJSON_Delete(p);
	return NULL;
}

/* ---- Observations ----------------------------------------------------- */

static cJSON *
observation(struct cg_map_ctx *x, const cJSON *rec, const cJSON *o, const char *proc_url)
{
	const struct cg_measure *ms = cg_measure_find(x->m, str(o, "measure", NULL));
	const cJSON *value = cg_json_member(o, "value"), *tp = cg_json_member(o, "timepoint");
	cJSON *obs = cJSON_CreateObject(), *a, *comps = NULL, *ref;
	struct cg_buf idv;
	char url[512];

	cJSON_AddStringToObject(obs, "resourceType", "Observation");
	if (add_extension(x, obs, "stemcell-timepoint", tp))
		goto fail;
	cg_buf_init(&idv, 4096);
	cg_buf_printf(&idv, "%s/%s", str(rec, "recordId", NULL), str(o, "id", NULL));
	a = cJSON_AddArrayToObject(obs, "identifier");
	cJSON_AddItemToArray(a, identifier(str(rec, "source", "system"), idv.p ? idv.p : ""));
	cg_buf_free(&idv);
	cJSON_AddStringToObject(obs, "status", str(o, "status", NULL));
	a = cJSON_AddArrayToObject(obs, "category");
	{
		cJSON *cc = cJSON_CreateObject();

		cJSON_AddItemToArray(a, cc);
		add_coding(cJSON_AddArrayToObject(cc, "coding"),
		           "http://terminology.hl7.org/CodeSystem/observation-category",
		           cJSON_GetStringValue(cg_json_member(ms->attrs, "category")), NULL);
	}
	cg_map_measure_system(x, ms, url, sizeof(url));
	add_concept(obs, "code", url, ms->code,
	            cJSON_GetStringValue(cg_json_member(ms->attrs, "display")));
	cJSON_AddItemToObject(obs, "subject", subject(rec));
	ref = cJSON_CreateObject();
	cJSON_AddStringToObject(ref, "reference", proc_url);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(obs, "focus"), ref);
	cJSON_AddStringToObject(obs, "effectiveDateTime", str(tp, "effective", NULL));
	if (value) {
		switch (ms->kind) {
		case CG_VALUE_NUMBER:
		case CG_VALUE_INTEGER: {
			cJSON *q = cJSON_AddObjectToObject(obs, "valueQuantity");

			cJSON_AddItemToObject(q, "value", cJSON_Duplicate(value, 0));
			cJSON_AddStringToObject(q, "unit", ms->unit);
			cJSON_AddStringToObject(q, "system", UCUM);
			cJSON_AddStringToObject(q, "code", ms->unit);
			break;
		}
		case CG_VALUE_CODE: {
			cJSON *cc;

			snprintf(url, sizeof(url), "%s", cg_map_cs(x, CG_MAP_CS_MEASURE_VALUE));
			cc = add_concept(obs, "valueCodeableConcept", url, value->valuestring,
			                 NULL);
			cJSON_AddStringToObject(cc, "text", value->valuestring);
			break;
		}
		case CG_VALUE_BOOLEAN:
			cJSON_AddBoolToObject(obs, "valueBoolean", cJSON_IsTrue(value));
			break;
		}
	}
	if (str(o, "dataAbsentReason", NULL))
		add_concept(obs, "dataAbsentReason",
		            "http://terminology.hl7.org/CodeSystem/data-absent-reason",
		            str(o, "dataAbsentReason", NULL), NULL);
	if (str(o, "method", NULL)) {
		cJSON *cc;

		snprintf(url, sizeof(url), "%s", cg_map_cs(x, CG_MAP_CS_METHOD));
		cc = add_concept(obs, "method", url, str(o, "method", NULL), NULL);
		cJSON_AddStringToObject(cc, "text", str(o, "method", NULL));
	}
	{
		const cJSON *ev;

		cJSON_ArrayForEach(ev, cg_json_member(o, "events"))
		{
			cJSON *c = cJSON_CreateObject();

			if (!comps)
				comps = cJSON_AddArrayToObject(obs, "component");
			cJSON_AddItemToArray(comps, c);
			snprintf(url, sizeof(url), "%s", cg_map_cs(x, CG_MAP_CS_MACE_EVENT));
			add_concept(c, "code", url, str(ev, "type", NULL), NULL);
			cJSON_AddStringToObject(c, "valueDateTime", str(ev, "date", NULL));
		}
	}
	if (cg_json_member(o, "grade")) {
		cJSON *c = cJSON_CreateObject();

		if (!comps)
			comps = cJSON_AddArrayToObject(obs, "component");
		cJSON_AddItemToArray(comps, c);
		snprintf(url, sizeof(url), "%s", cg_map_cs(x, CG_MAP_CS_MEASURE_VALUE));
		add_concept(c, "code", url, "ctcae-grade", "CTCAE grade");
		cJSON_AddItemToObject(c, "valueInteger",
		                      cJSON_Duplicate(cg_json_member(o, "grade"), 0));
	}
	return obs;
fail:
	cJSON_Delete(obs);
	return NULL;
}

/* ---- Bundle ----------------------------------------------------------- */

static int
add_entry(cJSON *entries, const char *type, const char *system, const char *value, cJSON *resource,
          char full_url[64])
{
	cJSON *e = cJSON_CreateObject(), *req;
	struct cg_buf name, cond;
	char uuid[CG_UUID_STRLEN + 1];
	enum cg_err result;

	if (!e || !cJSON_AddItemToArray(entries, e)) {
		cJSON_Delete(resource);
		return -1;
	}
	cg_buf_init(&name, 8192);
	cg_buf_printf(&name, "%s|%s|%s", type, system, value);
	result = name.p ? cg_uuid_v5(name.p, name.len, uuid) : CG_ENOMEM;
	cg_buf_free(&name);
	if (result) {
		cJSON_Delete(resource);
		return -1;
	}
	snprintf(full_url, 64, "urn:uuid:%s", uuid);
	cJSON_AddStringToObject(e, "fullUrl", full_url);
	cJSON_AddItemToObject(e, "resource", resource);
	req = cJSON_AddObjectToObject(e, "request");
	cJSON_AddStringToObject(req, "method", "POST");
	cJSON_AddStringToObject(req, "url", type);
	/* Conditional create: a resend of the same record creates nothing. */
	cg_buf_init(&cond, 8192);
	cg_buf_addstr(&cond, "identifier=");
	cg_map_query_escape(&cond, system);
	cg_buf_addc(&cond, '|');
	cg_map_query_escape(&cond, value);
	cJSON_AddStringToObject(req, "ifNoneExist", cond.p ? cond.p : "");
	cg_buf_free(&cond);
	return 0;
}

enum cg_err
cg_map_record_to_fhir(const cJSON *rec, const struct cg_mappings *m, const struct cg_map_opts *o,
                      cJSON **out)
{
	struct cg_map_ctx x;
	cJSON *bundle = cJSON_CreateObject(), *entries, *res;
	const cJSON *oc;
	const char *system = str(rec, "source", "system"), *rid = str(rec, "recordId", NULL);
	char proc_url[64], obs_url[64];
	struct cg_buf oid;

	*out = NULL;
	cg_map_ctx_init(&x, m, o);
	if (!bundle)
		return CG_ENOMEM;
	cJSON_AddStringToObject(bundle, "resourceType", "Bundle");
	cJSON_AddStringToObject(bundle, "type", "transaction");
	entries = cJSON_AddArrayToObject(bundle, "entry");
	res = procedure(&x, rec);
	if (!res || add_entry(entries, "Procedure", system, rid, res, proc_url))
		goto fail;
	cg_buf_init(&oid, 8192);
	cJSON_ArrayForEach(oc, cg_json_member(rec, "outcomes"))
	{
		cg_buf_reset(&oid);
		cg_buf_printf(&oid, "%s/%s", rid, str(oc, "id", NULL));
		res = observation(&x, rec, oc, proc_url);
		if (!res || !oid.p ||
		    add_entry(entries, "Observation", system, oid.p, res, obs_url)) {
			cg_buf_free(&oid);
			goto fail;
		}
	}
	cg_buf_free(&oid);
	*out = bundle;
	return CG_OK;
fail:
	cJSON_Delete(bundle);
	return CG_ENOMEM;
}
