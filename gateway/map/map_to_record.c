/*
 * map_to_record.c: FHIR R4 back to a stem-cell treatment record; see map.h.
 *
 * Standard elements are read first, as any sender fills them; the extensions
 * of mappings/record-fhir.json fill in the rest. Every record member nothing
 * carries is reported (map-missing) with the FHIR element that would have
 * carried it, and the finished record is validated: a record with any issue
 * is not handed out.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "check.h"
#include "map.h"
#include "map_internal.h"
#include "record_validate.h"

#define SNOMED  "http://snomed.info/sct"
#define ICD10CM "http://hl7.org/fhir/sid/icd-10-cm"

struct back {
	const struct cg_map_ctx *x;
	struct cg_check c;
	const cJSON *patient; /* a Patient resource for the subject, if any */
};

static void
missing(struct back *b, const char *member, const char *carrier)
{
	cg_check_issue(&b->c, CG_C_MAP_MISSING, NULL, NULL, 0,
	               "no value for record member %s: the FHIR input would carry it in %s", member,
	               carrier);
}

static const char *
str(const cJSON *obj, const char *name)
{
	return cJSON_GetStringValue(cg_json_member(obj, name));
}

/* The code of the first coding of concept with that system, or NULL. */
static const char *
code_in(const cJSON *concept, const char *system)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cg_json_member(concept, "coding"))
	{
		const char *s = str(c, "system");

		if (s && !strcmp(s, system))
			return str(c, "code");
	}
	return NULL;
}

/* Adds a copy of value as member name of obj, if value is not NULL. */
static void
put(cJSON *obj, const char *name, const cJSON *value)
{
	if (value)
		cJSON_AddItemToObject(obj, name, cJSON_Duplicate(value, 1));
}

static void
put_str(cJSON *obj, const char *name, const char *value)
{
	if (value)
		cJSON_AddStringToObject(obj, name, value);
}

static cJSON *
section(cJSON *rec, const char *name)
{
	cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, name);

	return s ? s : cJSON_AddObjectToObject(rec, name);
}

/* ---- the generic extension decoding ----------------------------------- */

static const cJSON *
value_of(const cJSON *ext)
{
	const cJSON *m;

	for (m = ext->child; m; m = m->next)
		if (!strncmp(m->string, "value", 5))
			return m;
	return NULL;
}

static void decode_members(struct back *b, const struct cg_ext_spec *s, const cJSON *exts,
                           cJSON *into);

static void
decode_member(struct back *b, const struct cg_ext_spec *m, const cJSON *ext, cJSON *into)
{
	cJSON *item;

	if (!m->value_key) {
		item = cJSON_CreateObject();
		decode_members(b, m, cg_json_member(ext, "extension"), item);
	} else {
		const cJSON *v = value_of(ext);

		if (!v) {
			cg_check_issue(&b->c, CG_C_MAP_UNMAPPABLE, ext, NULL, 0,
			               "extension %s has no value", m->name);
			return;
		}
		item = cJSON_Duplicate(v, 1);
	}
	if (m->repeats) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(into, m->name);

		if (!list)
			list = cJSON_AddArrayToObject(into, m->name);
		cJSON_AddItemToArray(list, item);
	} else {
		cJSON_AddItemToObject(into, m->name, item);
	}
}

/* The sub-extensions exts, decoded into into with the compiled member table
 * s (map_internal.h). */
static void
decode_members(struct back *b, const struct cg_ext_spec *s, const cJSON *exts, cJSON *into)
{
	const cJSON *e;
	size_t i = 0, hint = 0;

	cJSON_ArrayForEach(e, exts)
	{
		const char *url = str(e, "url");
		size_t mark = cg_check_push_index(&b->c, i++), k, j = s->nmembers;

		/* Extensions mostly come in the table's order: look from the last
		 * match on, then wrap around. */
		for (k = 0; url && k < s->nmembers; k++) {
			size_t at = (hint + k) % s->nmembers;

			if (s->members[at].name[0] == url[0] && !strcmp(s->members[at].name, url)) {
				j = at;
				break;
			}
		}
		if (j < s->nmembers) {
			decode_member(b, &s->members[j], e, into);
			hint = j;
		} else {
			cg_check_issue(&b->c, CG_C_MAP_UNMAPPABLE, e, NULL, 0,
			               "sub-extension '%s' is not part of the record",
			               url ? url : "");
		}
		cg_check_pop(&b->c, mark);
	}
}

/* The extension at url of a resource, decoded into rec with the member
 * table of record-fhir.json (1 when present). */
static int
read_extension(struct back *b, const cJSON *res, const char *url, const struct cg_ext_spec *members,
               cJSON *rec)
{
	const cJSON *e;
	size_t i = 0;

	cJSON_ArrayForEach(e, cg_json_member(res, "extension"))
	{
		const char *u = str(e, "url");

		if (u && !strcmp(u, url)) {
			size_t m1 = cg_check_push_key(&b->c, "extension");

			cg_check_push_index(&b->c, i);
			cg_check_push_key(&b->c, "extension");
			decode_members(b, members, cg_json_member(e, "extension"), rec);
			cg_check_pop(&b->c, m1);
			return 1;
		}
		i++;
	}
	return 0;
}

/* ---- members in contract order ----------------------------------------- */

/* Appends node c to the list from *head to *tail (prev and next). */
static void
append_node(cJSON **head, cJSON **tail, cJSON *c)
{
	c->prev = *tail;
	c->next = NULL;
	if (*tail)
		(*tail)->next = c;
	else
		*head = c;
	*tail = c;
}

/* Puts obj's members in the order the list names (at most 32), the others
 * after them in their own order. Relinks the nodes in place: no copy, no
 * allocation. */
static void
reorder(cJSON *obj, const char *const *order)
{
	cJSON *slot[32] = {NULL}, *rest = NULL, *rest_tail = NULL, *c, *next, *head = NULL,
	      *tail = NULL;
	size_t i, n;

	if (!cJSON_IsObject(obj) || !obj->child)
		return;
	for (n = 0; order[n] && n < 32; n++)
		;
	for (c = obj->child; c; c = next) {
		next = c->next;
		for (i = 0; i < n; i++)
			if (c->string[0] == order[i][0] && !strcmp(c->string, order[i]))
				break;
		if (i < n && !slot[i])
			slot[i] = c;
		else
			append_node(&rest, &rest_tail, c);
	}
	for (i = 0; i < n; i++)
		if (slot[i])
			append_node(&head, &tail, slot[i]);
	for (c = rest; c; c = next) {
		next = c->next;
		append_node(&head, &tail, c);
	}
	/* cJSON's convention: the first node's prev is the last node. */
	head->prev = tail;
	obj->child = head;
}

static void
contract_order(cJSON *rec)
{
	static const char *const top[] = {
	        "schemaVersion",  "recordId", "source",      "patient", "indication", "product",
	        "administration", "outcomes", "vitalStatus", "consent", NULL};
	static const char *const source[] = {"system", "recordRef", NULL};
	static const char *const patient[] = {"identifiers", "birthDate", "sex", "weightKg", NULL};
	static const char *const indication[] = {"category", "population",    "icd10cm",
	                                         "snomed",   "diagnosisDate", "relatedProcedure",
	                                         NULL};
	static const char *const product[] = {"identifiers",
	                                      "cellType",
	                                      "tissueSource",
	                                      "donorType",
	                                      "hlaMatch",
	                                      "manipulation",
	                                      "geneticModification",
	                                      "manufacturer",
	                                      "collectionDate",
	                                      "viabilityPercent",
	                                      NULL};
	static const char *const admin[] = {"status",
	                                    "start",
	                                    "end",
	                                    "route",
	                                    "bodySite",
	                                    "dose",
	                                    "numberOfInjections",
	                                    "infusionNumber",
	                                    "entireProductInfused",
	                                    "performer",
	                                    "concomitantTherapy",
	                                    NULL};
	static const char *const outcome[] = {"id",     "measure", "timepoint", "method",
	                                      "value",  "unit",    "status",    "dataAbsentReason",
	                                      "events", "grade",   NULL};
	static const char *const timepoint[] = {"label", "effective", "daysFromAdministration",
	                                        NULL};
	cJSON *o;

	reorder(rec, top);
	reorder(cg_json_member(rec, "source") ? cJSON_GetObjectItemCaseSensitive(rec, "source")
	                                      : NULL,
	        source);
	reorder(cJSON_GetObjectItemCaseSensitive(rec, "patient"), patient);
	reorder(cJSON_GetObjectItemCaseSensitive(rec, "indication"), indication);
	reorder(cJSON_GetObjectItemCaseSensitive(rec, "product"), product);
	reorder(cJSON_GetObjectItemCaseSensitive(rec, "administration"), admin);
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(rec, "outcomes"))
	{
		reorder(o, outcome);
		reorder(cJSON_GetObjectItemCaseSensitive(o, "timepoint"), timepoint);
	}
}

/* ---- Procedure -------------------------------------------------------- */

static const char *
indication_of(const struct cg_mappings *m, const char *icd)
{
	size_t i;

	for (i = 0; icd && i < m->indications.n; i++)
		if (strcmp(m->indications.v[i].key, "other") != 0 &&
		    cg_indication_has_icd10cm(&m->indications.v[i], icd))
			return m->indications.v[i].key;
	return icd ? "other" : NULL;
}

static void
from_procedure(struct back *b, const cJSON *p, cJSON *rec)
{
	const struct cg_mappings *m = b->x->m;
	const cJSON *id = cJSON_GetArrayItem(cg_json_member(p, "identifier"), 0);
	const cJSON *reason = cJSON_GetArrayItem(cg_json_member(p, "reasonCode"), 0);
	const cJSON *site = cJSON_GetArrayItem(cg_json_member(p, "bodySite"), 0);
	const cJSON *period = cg_json_member(p, "performedPeriod");
	const cJSON *perf =
	        cg_json_member(cJSON_GetArrayItem(cg_json_member(p, "performer"), 0), "actor");
	int ours = read_extension(b, p, b->x->record_ext_url, &b->x->record_ext, rec);
	cJSON *source = section(rec, "source"), *patient = section(rec, "patient");
	cJSON *ind = section(rec, "indication"), *prod = section(rec, "product");
	cJSON *adm = section(rec, "administration");
	char url[512];
	const char *s;

	if (!ours)
		put_str(rec, "schemaVersion", "1.0");
	/* recordId and source.system: the business identifier. */
	if (str(id, "system") && str(id, "value")) {
		put_str(source, "system", str(id, "system"));
		put_str(rec, "recordId", str(id, "value"));
	} else {
		missing(b, "recordId, source.system", "Procedure.identifier (system and value)");
	}
	if (!cg_json_member(patient, "identifiers")) {
		const cJSON *pid = cg_json_member(cg_json_member(p, "subject"), "identifier");

		if (str(pid, "system") && str(pid, "value")) {
			cJSON *list = cJSON_AddArrayToObject(patient, "identifiers"), *one;

			one = cJSON_CreateObject();
			cJSON_AddItemToArray(list, one);
			put_str(one, "system", str(pid, "system"));
			put_str(one, "value", str(pid, "value"));
		} else {
			missing(b, "patient.identifiers", "Procedure.subject.identifier");
		}
	}
	if (b->patient && !ours) {
		/* A sender without our extension may still send the Patient. */
		put_str(patient, "birthDate", str(b->patient, "birthDate"));
		put_str(patient, "sex", str(b->patient, "gender"));
	}
	if (!cg_json_member(patient, "birthDate"))
		missing(b, "patient.birthDate",
		        "Patient.birthDate (the subject) or extension stemcell-record: "
		        "patient.birthDate");
	if (!cg_json_member(patient, "sex"))
		missing(b, "patient.sex",
		        "Patient.gender (the subject) or extension stemcell-record: patient.sex");
	/* The indication: ICD-10-CM and SNOMED CT in reasonCode. */
	s = code_in(reason, ICD10CM);
	if (s)
		put_str(ind, "icd10cm", s);
	else
		missing(b, "indication.icd10cm", "Procedure.reasonCode.coding (ICD-10-CM)");
	put_str(ind, "snomed", code_in(reason, SNOMED));
	if (!cg_json_member(ind, "category") && s)
		put_str(ind, "category", indication_of(m, s));
	/* The product: Procedure.code. */
	snprintf(url, sizeof(url), "%s", cg_map_cs(b->x, CG_MAP_CS_CELL_TYPE));
	s = code_in(cg_json_member(p, "code"), url);
	if (!s && (s = code_in(cg_json_member(p, "code"), SNOMED)) && strcmp(s, "234336002") != 0)
		s = NULL;
	if (s && !strcmp(s, "234336002"))
		s = "hsc-cd34";
	if (s)
		put_str(prod, "cellType", s);
	else
		missing(b, "product.cellType", "Procedure.code.coding (stemcell-cell-type)");
	if (!cg_json_member(prod, "identifiers"))
		missing(b, "product.identifiers", "extension stemcell-record: product.identifiers");
	if (!cg_json_member(prod, "tissueSource"))
		missing(b, "product.tissueSource",
		        "extension stemcell-record: product.tissueSource");
	if (!cg_json_member(prod, "donorType"))
		missing(b, "product.donorType", "extension stemcell-record: product.donorType");
	/* The administration. */
	s = str(p, "status");
	if (s && (!strcmp(s, "preparation") || !strcmp(s, "on-hold") || !strcmp(s, "unknown")))
		cg_check_issue(&b->c, CG_C_MAP_UNMAPPABLE, cg_json_member(p, "status"), "status", 0,
		               "Procedure.status %s has no administration.status", s);
	else
		put_str(adm, "status", s);
	if (period) {
		put_str(adm, "start", str(period, "start"));
		put_str(adm, "end", str(period, "end"));
	} else {
		put_str(adm, "start", str(p, "performedDateTime"));
	}
	if (!cg_json_member(adm, "start"))
		missing(b, "administration.start",
		        "Procedure.performedDateTime or performedPeriod.start");
	if (!cg_json_member(adm, "route"))
		missing(b, "administration.route",
		        "extension stemcell-record: administration.route");
	if (!cg_json_member(adm, "dose"))
		missing(b, "administration.dose", "extension stemcell-record: administration.dose");
	snprintf(url, sizeof(url), "%s", cg_map_cs(b->x, CG_MAP_CS_BODY_SITE));
	s = code_in(site, url);
	if (!s && (s = code_in(site, SNOMED))) {
		size_t i;
		const char *snomed = s;

		for (s = NULL, i = 0; i < m->body_sites.n; i++)
			if (cg_term_str(&m->body_sites.v[i], "snomed") &&
			    !strcmp(cg_term_str(&m->body_sites.v[i], "snomed"), snomed))
				s = m->body_sites.v[i].key;
	}
	put_str(adm, "bodySite", s);
	if (perf) {
		const cJSON *pid = cg_json_member(perf, "identifier");
		cJSON *o = cJSON_AddObjectToObject(adm, "performer");

		put_str(o, "system", str(pid, "system"));
		put_str(o, "value", str(pid, "value"));
	}
}

/* ---- Observations ----------------------------------------------------- */

static const struct cg_measure *
measure_of(struct back *b, const cJSON *code)
{
	const cJSON *c;
	size_t i;

	cJSON_ArrayForEach(c, cg_json_member(code, "coding"))
	{
		const char *system = str(c, "system"), *value = str(c, "code");

		if (!system || !value)
			continue;
		for (i = 0; i < b->x->m->nmeasures; i++) {
			const struct cg_measure *ms = &b->x->m->measures[i];

			if (!strcmp(value, ms->code) &&
			    !strcmp(system, cg_map_measure_system_url(b->x, ms)))
				return ms;
		}
	}
	return NULL;
}

/* An Observation's members, found in one pass rather than one search each. */
struct obs_view {
	const cJSON *code, *identifier, *id, *effective, *method, *quantity, *boolean, *concept,
	        *status, *absent, *component;
};

static void
obs_view(const cJSON *obs, struct obs_view *v)
{
	static const struct {
		const char *name;
		size_t off;
	} names[] = {
	        {"code", offsetof(struct obs_view, code)},
	        {"identifier", offsetof(struct obs_view, identifier)},
	        {"id", offsetof(struct obs_view, id)},
	        {"effectiveDateTime", offsetof(struct obs_view, effective)},
	        {"method", offsetof(struct obs_view, method)},
	        {"valueQuantity", offsetof(struct obs_view, quantity)},
	        {"valueBoolean", offsetof(struct obs_view, boolean)},
	        {"valueCodeableConcept", offsetof(struct obs_view, concept)},
	        {"status", offsetof(struct obs_view, status)},
	        {"dataAbsentReason", offsetof(struct obs_view, absent)},
	        {"component", offsetof(struct obs_view, component)},
	};
	const cJSON *c;
	size_t i;

	memset(v, 0, sizeof(*v));
	for (c = obs->child; c; c = c->next)
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (c->string[0] == names[i].name[0] && !strcmp(c->string, names[i].name)) {
				*(const cJSON **)(void *)((char *)v + names[i].off) = c;
				break;
			}
}

static void
from_observation(struct back *b, const cJSON *obs, const char *record_id, cJSON *out)
{
	struct obs_view v;
	const struct cg_measure *ms;
	const cJSON *id, *comp;
	const char *idv, *s;
	size_t rl = record_id ? strlen(record_id) : 0;
	cJSON *tp = cJSON_CreateObject();

	obs_view(obs, &v);
	ms = measure_of(b, v.code);
	id = cJSON_GetArrayItem(v.identifier, 0);
	idv = str(id, "value");
	/* The outcome id: after "recordId/" in the identifier, else the resource id. */
	if (idv && record_id && !strncmp(idv, record_id, rl) && idv[rl] == '/')
		put_str(out, "id", idv + rl + 1);
	else if (cJSON_GetStringValue(v.id))
		put_str(out, "id", v.id->valuestring);
	else
		missing(b, "outcomes[].id",
		        "Observation.identifier (recordId/id) or Observation.id");
	if (ms)
		put_str(out, "measure", ms->key);
	else
		missing(b, "outcomes[].measure",
		        "Observation.code (LOINC or stemcell-outcome-measure)");
	read_extension(b, obs, b->x->timepoint_ext_url, &b->x->timepoint_ext, tp);
	put_str(tp, "effective", cJSON_GetStringValue(v.effective));
	if (!cg_json_member(tp, "effective"))
		missing(b, "outcomes[].timepoint.effective", "Observation.effectiveDateTime");
	if (!cg_json_member(tp, "label"))
		missing(b, "outcomes[].timepoint.label", "extension stemcell-timepoint: label");
	cJSON_AddItemToObject(out, "timepoint", tp);
	put_str(out, "method", code_in(v.method, cg_map_cs(b->x, CG_MAP_CS_METHOD)));
	if (v.quantity) {
		put(out, "value", cg_json_member(v.quantity, "value"));
		put_str(out, "unit",
		        str(v.quantity, "code") ? str(v.quantity, "code")
		                                : str(v.quantity, "unit"));
	} else if (v.boolean) {
		put(out, "value", v.boolean);
	} else if (v.concept) {
		put_str(out, "value", code_in(v.concept, cg_map_cs(b->x, CG_MAP_CS_MEASURE_VALUE)));
		if (!cg_json_member(out, "value"))
			missing(b, "outcomes[].value",
			        "valueCodeableConcept.coding (stemcell-outcome-value)");
	}
	put_str(out, "status", cJSON_GetStringValue(v.status));
	put_str(out, "dataAbsentReason",
	        code_in(v.absent, "http://terminology.hl7.org/CodeSystem/data-absent-reason"));
	cJSON_ArrayForEach(comp, v.component)
	{
		const cJSON *code = cg_json_member(comp, "code");

		if ((s = code_in(code, cg_map_cs(b->x, CG_MAP_CS_MACE_EVENT))) != NULL) {
			cJSON *events = cJSON_GetObjectItemCaseSensitive(out, "events"), *ev;

			if (!events)
				events = cJSON_AddArrayToObject(out, "events");
			ev = cJSON_CreateObject();
			cJSON_AddItemToArray(events, ev);
			put_str(ev, "type", s);
			put_str(ev, "date", str(comp, "valueDateTime"));
			continue;
		}
		s = code_in(code, cg_map_cs(b->x, CG_MAP_CS_MEASURE_VALUE));
		if (s && !strcmp(s, "ctcae-grade"))
			put(out, "grade", cg_json_member(comp, "valueInteger"));
	}
}

/* ---- Bundle ----------------------------------------------------------- */

/* The subject's Patient: contained in the Procedure, or the one Patient
 * entry of the Bundle. */
static const cJSON *
find_patient(const cJSON *proc, const cJSON *entries)
{
	const cJSON *c, *e, *found = NULL;
	const char *ref = str(cg_json_member(proc, "subject"), "reference");
	size_t n = 0;

	cJSON_ArrayForEach(
	        c, cg_json_member(proc, "contained")) if (ref && ref[0] == '#' && str(c, "id") &&
	                                                  !strcmp(str(c, "id"), ref + 1)) return c;
	cJSON_ArrayForEach(e, entries)
	{
		const cJSON *r = cg_json_member(e, "resource");

		if (str(r, "resourceType") && !strcmp(str(r, "resourceType"), "Patient")) {
			found = r;
			n++;
		}
	}
	return n == 1 ? found : NULL;
}

/* 1 when obs points at the Procedure by focus or partOf (one pass over
 * its members: this runs for every Observation of every Bundle). */
static int
refers_to(const cJSON *obs, const char *full_url, const char *local)
{
	const cJSON *c, *r;

	for (c = obs->child; c; c = c->next) {
		if (!((c->string[0] == 'f' && !strcmp(c->string, "focus")) ||
		      (c->string[0] == 'p' && !strcmp(c->string, "partOf"))))
			continue;
		cJSON_ArrayForEach(r, c)
		{
			const char *ref = str(r, "reference");

			if (ref && ((full_url && !strcmp(ref, full_url)) ||
			            (local && !strcmp(ref, local))))
				return 1;
		}
	}
	return 0;
}

enum cg_err
cg_map_fhir_to_record(const cJSON *fhir, const struct cg_mappings *m, const struct cg_map_opts *o,
                      cJSON **out, struct cg_diag *d)
{
	struct back b;
	const cJSON *entries, *e, *proc = NULL;
	const char *proc_url = NULL;
	char local[160];
	cJSON *rec = NULL, *outcomes = NULL;
	size_t nproc = 0, nentry = 0, proc_at = 0, i = 0;
	enum cg_err result;

	*out = NULL;
	b.x = cg_map_ctx_get(m, o);
	cg_check_init(&b.c, d);
	if (!b.x)
		return CG_ENOMEM;
	if (!strcmp(str(fhir, "resourceType") ? str(fhir, "resourceType") : "", "Procedure")) {
		proc = fhir;
		entries = NULL;
	} else if (!strcmp(str(fhir, "resourceType") ? str(fhir, "resourceType") : "", "Bundle")) {
		entries = cg_json_member(fhir, "entry");
		cJSON_ArrayForEach(e, entries)
		{
			const cJSON *r = cg_json_member(e, "resource");

			if (str(r, "resourceType") &&
			    !strcmp(str(r, "resourceType"), "Procedure")) {
				proc = r;
				proc_url = str(e, "fullUrl");
				proc_at = nentry;
				nproc++;
			}
			nentry++;
		}
		if (nproc != 1) {
			cg_check_issue(&b.c, CG_C_MAP_UNMAPPABLE, fhir, NULL, 0,
			               "a record is one administration: the Bundle has %zu "
			               "Procedures, not one",
			               nproc);
			goto done;
		}
	} else {
		cg_check_issue(&b.c, CG_C_MAP_UNMAPPABLE, fhir, NULL, 0,
		               "a record comes from a Bundle or a Procedure");
		goto done;
	}
	rec = cJSON_CreateObject();
	if (!rec) {
		b.c.err = CG_ENOMEM;
		goto done;
	}
	b.patient = find_patient(proc, entries);
	{
		size_t m1 = entries ? cg_check_push_key(&b.c, "entry") : b.c.depth;

		if (entries) {
			cg_check_push_index(&b.c, proc_at);
			cg_check_push_key(&b.c, "resource");
		}
		from_procedure(&b, proc, rec);
		cg_check_pop(&b.c, m1);
	}
	snprintf(local, sizeof(local), "Procedure/%s", str(proc, "id") ? str(proc, "id") : "");
	cJSON_ArrayForEach(e, entries)
	{
		const cJSON *r = cg_json_member(e, "resource");
		size_t m1, m2, m3;

		if (!str(r, "resourceType") || strcmp(str(r, "resourceType"), "Observation") != 0 ||
		    !refers_to(r, proc_url, str(proc, "id") ? local : NULL)) {
			i++;
			continue;
		}
		if (!outcomes)
			outcomes = cJSON_AddArrayToObject(rec, "outcomes");
		m1 = cg_check_push_key(&b.c, "entry");
		m2 = cg_check_push_index(&b.c, i++);
		m3 = cg_check_push_key(&b.c, "resource");
		{
			cJSON *oc = cJSON_CreateObject();

			cJSON_AddItemToArray(outcomes, oc);
			from_observation(&b, r, str(rec, "recordId"), oc);
		}
		cg_check_pop(&b.c, m3);
		cg_check_pop(&b.c, m2);
		cg_check_pop(&b.c, m1);
	}
	contract_order(rec);
	/* What came out must be a valid record, or nothing comes out. */
	if (d->errors == 0) {
		struct cg_date today;

		cg_date_today(&today);
		result = cg_record_validate(rec, m, &today, d);
		if (result)
			b.c.err = result;
	}
done:
	if (b.c.err || d->errors) {
		cJSON_Delete(rec);
		rec = NULL;
	}
	*out = rec;
	cg_check_free(&b.c);
	return b.c.err;
}
