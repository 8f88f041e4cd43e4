/* consent_fhir.c: research consent from Consent resources and the record
 * extension; see consent_fhir.h for the rules. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "consent_fhir.h"
#include "datetime.h"
#include "json_member.h"
#include "map_internal.h"
#include "order_key.h"

#define SCOPE_SYSTEM "http://terminology.hl7.org/CodeSystem/consentscope"
#define DAY_MS       86400000LL
/* the patients one input may be about; more: no consent is read (refused) */
#define MAX_PATIENTS 64

/* What the input's consent says so far: the Consent resources' verdict and
 * the extension's, kept apart because the resource decides when it counts. */
struct tally {
	int consents, refused;     /* research Consents that count; one refuses */
	cJSON *permitted, *denied; /* registries (string arrays) */
	char date[11];
	int exts, ext_refused; /* Procedures with the consent extension */
	cJSON *ext_registries; /* the ones every such Procedure names */
	char ext_date[11];
	int oom;
};

static const char *
text(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cg_json_member(o, name));
}

static int
names(const cJSON *list, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, list)
	{
		if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
			return 1;
	}
	return 0;
}

/* Adds s to list once; a failure marks the tally (the answer is then NULL). */
static void
add_name(struct tally *t, cJSON *list, const char *s)
{
	cJSON *v;

	if (!s || names(list, s))
		return;
	v = cJSON_CreateString(s);
	if (!v || !cJSON_AddItemToArray(list, v)) {
		cJSON_Delete(v);
		t->oom = 1;
	}
}

/* Keeps in list the names that other names (named 1) or does not (0). */
static void
filter(cJSON *list, const cJSON *other, int named)
{
	cJSON *r, *next;

	for (r = list->child; r; r = next) {
		next = r->next;
		if (names(other, r->valuestring) != named)
			cJSON_Delete(cJSON_DetachItemViaPointer(list, r));
	}
}

/* Keeps the later of two YYYY-MM-DD dates in keep (text order is date
 * order); s may be a date-time, whose date part counts. */
static void
later_date(char keep[11], const char *s)
{
	struct cg_date d;
	char day[11];

	if (!s || strlen(s) < 10)
		return;
	memcpy(day, s, 10);
	day[10] = 0;
	if (cg_date_parse(day, &d) == 0 && strcmp(day, keep) > 0)
		memcpy(keep, day, sizeof(day));
}

static int
research_scope(const cJSON *scope)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cg_json_member(scope, "coding"))
	{
		const char *sys = text(c, "system"), *code = text(c, "code");

		if (sys && code && !strcmp(sys, SCOPE_SYSTEM) && !strcmp(code, "research"))
			return 1;
	}
	return 0;
}

/* A Period bound as milliseconds since the epoch: a date-time as the instant
 * it names, a date as its first (a start) or last (an end) millisecond in
 * UTC. -1 when s is neither (a partial date such as "2024" included): the
 * caller then cannot say the period covers now. */
static int
bound_ms(const char *s, int end, long long *out)
{
	struct cg_datetime t;
	long long ms;

	if (cg_date_or_datetime_parse(s, &t) != 0)
		return -1;
	ms = (long long)cg_date_days(&t.date) * DAY_MS;
	if (!t.has_time) {
		*out = end ? ms + DAY_MS - 1 : ms;
		return 0;
	}
	ms += ((long long)t.hour * 3600 + t.minute * 60 + t.second) * 1000 + t.nanos / 1000000;
	*out = ms - (long long)t.offset_minutes * 60000;
	return 0;
}

static int
period_covers(const cJSON *period, long long now_ms)
{
	const char *start = text(period, "start"), *end = text(period, "end");
	long long at;

	if (start && (bound_ms(start, 0, &at) || at > now_ms))
		return 0;
	if (end && (bound_ms(end, 1, &at) || at < now_ms))
		return 0;
	return 1;
}

/* The registries a provision names: actor[].reference.identifier.value. */
static void
add_actors(struct tally *t, cJSON *list, const cJSON *provision)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, cg_json_member(provision, "actor"))
	{
		add_name(t, list,
		         text(cg_json_member(cg_json_member(a, "reference"), "identifier"),
		              "value"));
	}
}

static void
read_consent(struct tally *t, const cJSON *c, long long now_ms)
{
	const char *status = text(c, "status");
	const cJSON *p = cg_json_member(c, "provision"), *n;
	const char *type = text(p, "type");

	if (!status || !research_scope(cg_json_member(c, "scope")))
		return;
	if (!strcmp(status, "rejected") || !strcmp(status, "inactive")) {
		t->refused = 1;
	} else if (strcmp(status, "active") != 0) {
		return; /* draft, proposed, entered-in-error: not (or no longer) said */
	} else if (!type || strcmp(type, "permit") != 0 ||
	           !period_covers(cg_json_member(p, "period"), now_ms)) {
		t->refused = 1;
	} else {
		add_actors(t, t->permitted, p);
		cJSON_ArrayForEach(n, cg_json_member(p, "provision"))
		{
			const char *nt = text(n, "type");

			if (nt && !strcmp(nt, "deny"))
				add_actors(t, t->denied, n);
		}
	}
	t->consents++;
	later_date(t->date, text(c, "dateTime"));
}

/* The value of the sub-extension url of ext, or NULL. */
static const cJSON *
sub_value(const cJSON *ext, const char *url, const char *value_key)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cg_json_member(ext, "extension"))
	{
		const char *u = text(e, "url");

		if (u && !strcmp(u, url))
			return cg_json_member(e, value_key);
	}
	return NULL;
}

/* The consent sub-extension of a Procedure's record extension, as
 * map_to_fhir.c writes it: research (valueBoolean), registries (one
 * valueString each), date (valueDate). */
static void
read_extension(struct tally *t, const cJSON *proc, const char *record_url)
{
	const cJSON *e, *s, *consent = NULL;
	cJSON *mine;

	cJSON_ArrayForEach(e, cg_json_member(proc, "extension"))
	{
		const char *u = text(e, "url");

		if (u && !strcmp(u, record_url)) {
			cJSON_ArrayForEach(s, cg_json_member(e, "extension"))
			{
				const char *su = text(s, "url");

				if (su && !strcmp(su, "consent"))
					consent = s;
			}
			break;
		}
	}
	if (!consent)
		return;
	if (!cJSON_IsTrue(sub_value(consent, "research", "valueBoolean")))
		t->ext_refused = 1;
	mine = cJSON_CreateArray();
	if (!mine) {
		t->oom = 1;
		return;
	}
	cJSON_ArrayForEach(s, cg_json_member(consent, "extension"))
	{
		const char *su = text(s, "url");

		if (su && !strcmp(su, "registries"))
			add_name(t, mine, text(s, "valueString"));
	}
	if (t->exts++ == 0) {
		cJSON_Delete(t->ext_registries);
		t->ext_registries = mine;
	} else {
		/* a registry another Procedure does not name is not covered */
		filter(t->ext_registries, mine, 1);
		cJSON_Delete(mine);
	}
	later_date(t->ext_date, cJSON_GetStringValue(sub_value(consent, "date", "valueDate")));
}

static void
read_resource(struct tally *t, const cJSON *res, const char *record_url, long long now_ms)
{
	const char *rt = text(res, "resourceType");

	if (!rt)
		return;
	if (!strcmp(rt, "Consent"))
		read_consent(t, res, now_ms);
	else if (!strcmp(rt, "Procedure"))
		read_extension(t, res, record_url);
}

/* The record-shaped answer; NULL when neither place said anything. */
static cJSON *
verdict(struct tally *t)
{
	cJSON *out, *regs = NULL;
	int research;
	const char *date;

	if (t->consents) {
		research = !t->refused && !(t->exts && t->ext_refused);
		date = t->date;
		if (research) {
			regs = t->permitted;
			t->permitted = NULL;
			filter(regs, t->denied, 0);
		}
	} else if (t->exts) {
		research = !t->ext_refused;
		date = t->ext_date;
		if (research) {
			regs = t->ext_registries;
			t->ext_registries = NULL;
		}
	} else {
		return NULL;
	}
	if (!regs)
		regs = cJSON_CreateArray();
	out = cJSON_CreateObject();
	if (!out || !regs || t->oom || !cJSON_AddBoolToObject(out, "research", research) ||
	    !cJSON_AddItemToObject(out, "registries", regs)) {
		cJSON_Delete(out);
		cJSON_Delete(regs);
		return NULL;
	}
	if (date[0] && !cJSON_AddStringToObject(out, "date", date)) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

/* The patient res is about, as its ordering key (order_key.h): a reference
 * to a Patient entry of the Bundle (its fullUrl, or Patient/id) is that
 * Patient's identifier, so that a Procedure and a Consent referring to one
 * Patient are about one patient. -1 when it names none. */
static int
patient_of(const cJSON *entries, const cJSON *res, char out[CG_UUID_STRLEN + 1])
{
	const cJSON *ref = cg_json_member(res, "subject"), *e;
	const char *url;

	if (!ref)
		ref = cg_json_member(res, "patient");
	url = text(ref, "reference");
	if (url && !cg_json_member(ref, "identifier")) {
		cJSON_ArrayForEach(e, entries)
		{
			const cJSON *r = cg_json_member(e, "resource");
			const char *rt = text(r, "resourceType"), *fu = text(e, "fullUrl");
			const char *id = text(r, "id");

			if (!rt || strcmp(rt, "Patient") != 0)
				continue;
			if ((fu && !strcmp(fu, url)) ||
			    (id && !strncmp(url, "Patient/", 8) && !strcmp(url + 8, id)))
				return cg_order_key(r, out) == CG_OK ? 0 : -1;
		}
	}
	return cg_order_key(res, out) == CG_OK ? 0 : -1;
}

/* What the input says about one patient's consent (key NULL: every
 * resource counts, an input about no patient but through its Consents). */
static cJSON *
one_patient(const cJSON *fhir, const cJSON *entries, const char *key, const char *record_url,
            long long now_ms)
{
	char k[CG_UUID_STRLEN + 1];
	struct tally t;
	const cJSON *e;
	cJSON *out = NULL;

	memset(&t, 0, sizeof(t));
	t.permitted = cJSON_CreateArray();
	t.denied = cJSON_CreateArray();
	if (t.permitted && t.denied) {
		if (entries) {
			cJSON_ArrayForEach(e, entries)
			{
				const cJSON *r = cg_json_member(e, "resource");

				if (!key || (patient_of(entries, r, k) == 0 && !strcmp(k, key)))
					read_resource(&t, r, record_url, now_ms);
			}
		} else {
			read_resource(&t, fhir, record_url, now_ms);
		}
		out = verdict(&t);
	}
	cJSON_Delete(t.permitted);
	cJSON_Delete(t.denied);
	cJSON_Delete(t.ext_registries);
	return out;
}

/* into keeps what both say: research if both give it, the registries both
 * name, the later date. */
static void
both(cJSON *into, const cJSON *v)
{
	cJSON *regs = cJSON_GetObjectItemCaseSensitive(into, "registries");
	const char *d = text(v, "date"), *mine = text(into, "date");
	char date[11] = "";

	if (!cJSON_IsTrue(cg_json_member(v, "research"))) {
		filter(regs, NULL, 1); /* none left, even if the next line fails */
		cJSON_ReplaceItemInObjectCaseSensitive(into, "research", cJSON_CreateFalse());
	}
	filter(regs, cg_json_member(v, "registries"), 1);
	if (mine)
		later_date(date, mine);
	later_date(date, d);
	if (date[0] && (!mine || strcmp(mine, date) != 0)) {
		cJSON_DeleteItemFromObjectCaseSensitive(into, "date");
		cJSON_AddStringToObject(into, "date", date);
	}
}

cJSON *
cg_consent_from_fhir(const cJSON *fhir, const struct cg_mappings *m, const char *canonical_base,
                     long long now_ms)
{
	struct cg_map_opts o;
	const struct cg_map_ctx *x;
	const char *rt = text(fhir, "resourceType");
	const cJSON *entries = NULL, *e;
	char(*keys)[CG_UUID_STRLEN + 1];
	char k[CG_UUID_STRLEN + 1];
	size_t n = 0, i;
	cJSON *out = NULL, *v;

	memset(&o, 0, sizeof(o));
	o.canonical_base = canonical_base;
	x = cg_map_ctx_get(m, &o);

	if (!x || !rt)
		return NULL;
	if (!strcmp(rt, "Bundle"))
		entries = cg_json_member(fhir, "entry");
	/* The patients the input is about: each needs a consent of their own,
	 * and a Consent counts for the patient it names only. */
	keys = malloc(MAX_PATIENTS * sizeof(*keys));
	if (!keys)
		return NULL;
	if (entries) {
		cJSON_ArrayForEach(e, entries)
		{
			const cJSON *r = cg_json_member(e, "resource");
			const char *t = text(r, "resourceType");

			if (!t || !strcmp(t, "Consent") || patient_of(entries, r, k) != 0)
				continue;
			for (i = 0; i < n && strcmp(keys[i], k) != 0; i++)
				;
			if (i < n)
				continue;
			if (n == MAX_PATIENTS) {
				free(keys);
				return NULL; /* fails closed */
			}
			memcpy(keys[n++], k, sizeof(k));
		}
	}
	if (!n) {
		out = one_patient(fhir, entries, NULL, x->record_ext_url, now_ms);
	} else {
		for (i = 0; i < n; i++) {
			v = one_patient(fhir, entries, keys[i], x->record_ext_url, now_ms);
			if (!v) { /* this patient's input says nothing: none given */
				cJSON_Delete(out);
				out = NULL;
				break;
			}
			if (!out) {
				out = v;
			} else {
				both(out, v);
				cJSON_Delete(v);
			}
		}
	}
	free(keys);
	return out;
}
