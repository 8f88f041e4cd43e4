/*
 * deidentify.c: Safe Harbor on a record; see deidentify.h and
 * docs/privacy.md, which has this table in words.
 *
 * The 18 identifiers of 164.514(b)(2)(i) that a record can carry, and what
 * becomes of them: names, addresses, contacts (none in a record); dates
 * (birthDate, diagnosis, procedures, collection, administration, outcomes,
 * events, vital status, consent) to the year or shifted; ages over 89 into
 * one category (the birth date that makes the patient 90 at the record's
 * latest date); medical record and other patient numbers (the
 * identifiers: a pseudonym in their place, policy.c); device and serial
 * numbers (product id, batch, lot, ISBT 128 DIN: removed); the record's own
 * ids (recordId, outcome ids, source.recordRef: keyed codes or removed);
 * free text (geneticModification, manufacturer, performer,
 * concomitantTherapy, causeOfDeath: removed or "redacted").
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "datetime.h"
#include "deidentify.h"
#include "json_member.h"

/* What the dates of one patient become. */
struct dates {
	const struct cg_policy *p;
	long shift;      /* days back (shift mode) */
	long floor_days; /* no date before the birth date of a patient of 90+ */
	int year_only;
};

struct run {
	const struct cg_policy *p;
	struct dates d;
	const char *source, *record_id; /* of the input, for the keyed codes */
	char *why;
	size_t whylen;
	int failed;
};

static const char *
text(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cg_json_member(o, name));
}

static void
fail(struct run *r, const char *msg)
{
	if (!r->failed)
		snprintf(r->why, r->whylen, "%s", msg);
	r->failed = 1;
}

/* A copy of member name of from into to, if present. */
static void
keep(cJSON *to, const cJSON *from, const char *name)
{
	const cJSON *v = cg_json_member(from, name);

	if (v)
		cJSON_AddItemToObject(to, name, cJSON_Duplicate(v, 1));
}

static void
keep_all(cJSON *to, const cJSON *from, const char *const *names)
{
	for (; *names; names++)
		keep(to, from, *names);
}

/* A date or date-time as the policy writes it, into out. */
static int
date_text(const struct dates *d, const char *in, char *out, size_t len)
{
	struct cg_datetime t;
	struct cg_date x;
	long days;

	if (!in || cg_date_or_datetime_parse(in, &t) != 0)
		return -1;
	days = cg_date_days(&t.date) - (d->year_only ? 0 : d->shift);
	if (days < d->floor_days)
		days = d->floor_days;
	cg_date_from_days(days, &x);
	if (d->year_only)
		snprintf(out, len, "%04d", x.year);
	else if (t.has_time) /* the time of day and offset as written */
		snprintf(out, len, "%04d-%02d-%02d%s", x.year, x.month, x.day, in + 10);
	else
		snprintf(out, len, "%04d-%02d-%02d", x.year, x.month, x.day);
	return 0;
}

static void
date(struct run *r, cJSON *to, const cJSON *from, const char *name)
{
	const cJSON *v = cg_json_member(from, name);
	char out[64];

	if (!v)
		return;
	if (date_text(&r->d, cJSON_GetStringValue(v), out, sizeof(out)) != 0) {
		fail(r, "a date that is not a date");
		return;
	}
	cJSON_AddStringToObject(to, name, out);
}

/* A code derived from the key for one of the record's own ids: 2 * n hex
 * digits, stable for the same input, unlinkable without the key. */
static void
keyed_code(struct run *r, const char *kind, const char *id, size_t n, char *out)
{
	const char *parts[5] = {kind, r->p->registry_id, r->source, r->record_id, id};
	unsigned char h[CG_HMAC_LEN];

	if (cg_secret_key_derive(r->p->key, parts, 5, h) != CG_OK) {
		fail(r, "an id too long to derive a code from");
		out[0] = 0;
		return;
	}
	cg_hex(h, n, out);
}

static cJSON *
section(cJSON *to, const char *name)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddItemToObject(to, name, s);
	return s;
}

/* The record's members that hold dates (the contract's table); a
 * recordId or an outcome value may look like a date and is not one. */
static int
is_date_member(const char *name)
{
	static const char *const names[] = {
	        "birthDate", "diagnosisDate", "date",      "collectionDate",
	        "start",     "end",           "effective", NULL};
	size_t i;

	for (i = 0; name && names[i]; i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

/* The latest date of the record, walking every member. */
static void
latest_date(const cJSON *v, struct cg_date *max, int *found)
{
	const cJSON *c;
	struct cg_datetime t;

	cJSON_ArrayForEach(c, v)
	{
		if (cJSON_IsString(c) && is_date_member(c->string) &&
		    cg_date_or_datetime_parse(c->valuestring, &t) == 0 &&
		    (!*found || cg_date_cmp(&t.date, max) > 0)) {
			*max = t.date;
			*found = 1;
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			latest_date(c, max, found);
		}
	}
}

/* The patient's dates: the shift, and the birth date of one aged over 89
 * at the record's latest date (an administration, an outcome, a death, a
 * consent: any date that would give the age) moved to make them 90 then,
 * one category, below which no other date may fall. */
static void
plan_dates(struct run *r, const cJSON *rec)
{
	const cJSON *pat = cg_json_member(rec, "patient"), *id;
	const char *birth = text(pat, "birthDate");
	const char *start = text(cg_json_member(rec, "administration"), "start");
	const char *parts[4];
	unsigned char h[CG_HMAC_LEN];
	struct cg_date b, last;
	struct cg_datetime s;
	int found = 0;

	id = cJSON_GetArrayItem(cg_json_member(pat, "identifiers"), 0);
	parts[0] = "#date-shift";
	parts[1] = r->p->registry_id;
	parts[2] = text(id, "system");
	parts[3] = text(id, "value");
	r->d.p = r->p;
	r->d.year_only = r->p->dates == CG_DATES_YEAR;
	r->d.floor_days = -1000000000L;
	if (cg_secret_key_derive(r->p->key, parts, 4, h) != CG_OK) {
		fail(r, "an identifier too long to derive a date shift from");
		return;
	}
	r->d.shift = 1 + (long)(((unsigned long)h[0] << 24 | (unsigned long)h[1] << 16 |
	                         (unsigned long)h[2] << 8 | h[3]) %
	                        (unsigned long)(r->p->shift_days > 0 ? r->p->shift_days : 1));
	latest_date(rec, &last, &found);
	if (!birth || cg_date_parse(birth, &b) || !found) {
		fail(r, "a record without a birth date");
		return;
	}
	if (cg_age_years(&b, &last) >= 90) {
		struct cg_date c;

		/* 90 years before the latest date as it is written out
		 * (shifted), in the calendar: shifting after would be off by
		 * the leap days between. */
		cg_date_from_days(cg_date_days(&last) - (r->d.year_only ? 0 : r->d.shift), &c);
		c.year -= 90;
		if (c.month == 2 && c.day == 29)
			c.day = 28;
		r->d.floor_days = cg_date_days(&c);
		/* A date more than 90 years after the administration (an error
		 * of the sender's, most likely) would put the birth after it:
		 * no consistent record can hide that age. Refused, not sent. */
		if (start && cg_datetime_parse(start, &s) == 0 &&
		    r->d.floor_days > cg_date_days(&s.date) - (r->d.year_only ? 0 : r->d.shift))
			fail(r, "a date of the record lies more than 90 years after its "
			        "administration: "
			        "it cannot be de-identified consistently");
	}
}

static void
patient(struct run *r, cJSON *out, const cJSON *in)
{
	cJSON *p = section(out, "patient");
	struct dates d = r->d;
	const char *birth = text(in, "birthDate");
	char buf[32];

	/* filled by policy.c with the pseudonym */
	cJSON_AddItemToObject(p, "identifiers", cJSON_CreateArray());
	/* The birth date is to the year, except for a destination of records
	 * (whose format has full dates only) in shift mode. The floor makes a
	 * patient over 89 exactly 90. */
	if (!r->p->record_form)
		d.year_only = 1;
	if (date_text(&d, birth, buf, sizeof(buf)) != 0)
		fail(r, "a birth date that is not a date");
	else
		cJSON_AddStringToObject(p, "birthDate", buf);
	keep(p, in, "sex");
	keep(p, in, "weightKg");
}

static void
indication(struct run *r, cJSON *out, const cJSON *in)
{
	static const char *const kept[] = {"category", "population", "icd10cm", "snomed", NULL};
	const cJSON *rp = cg_json_member(in, "relatedProcedure");
	cJSON *s = section(out, "indication");

	keep_all(s, in, kept);
	date(r, s, in, "diagnosisDate");
	if (rp) {
		cJSON *t = section(s, "relatedProcedure");

		keep(t, rp, "type");
		date(r, t, rp, "date");
	}
}

static void
product(struct run *r, cJSON *out, const cJSON *in)
{
	static const char *const kept[] = {"cellType", "tissueSource", "donorType",
	                                   "hlaMatch", "manipulation", "viabilityPercent",
	                                   NULL};
	cJSON *s = section(out, "product"), *ids = section(s, "identifiers");

	/* Product ids, batches, lots and DINs are device and serial numbers
	 * (an autologous product's batch is the patient's); the ISBT 128
	 * product code names a kind of product and stays. */
	keep(ids, cg_json_member(in, "identifiers"), "isbt128ProductCode");
	if (!cJSON_GetArraySize(ids))
		cJSON_AddStringToObject(ids, "productId", "redacted");
	keep_all(s, in, kept);
	if (cg_json_member(in, "geneticModification"))
		cJSON_AddStringToObject(s, "geneticModification", "redacted");
	date(r, s, in, "collectionDate");
}

static void
administration(struct run *r, cJSON *out, const cJSON *in)
{
	static const char *const kept[] = {"status",
	                                   "route",
	                                   "bodySite",
	                                   "dose",
	                                   "numberOfInjections",
	                                   "infusionNumber",
	                                   "entireProductInfused",
	                                   NULL};
	cJSON *s = section(out, "administration");

	keep_all(s, in, kept);
	date(r, s, in, "start");
	date(r, s, in, "end");
}

static void
outcome(struct run *r, cJSON *list, const cJSON *in)
{
	static const char *const kept[] = {"measure", "method",           "value", "unit", "status",
	                                   "grade",   "dataAbsentReason", NULL};
	const cJSON *tp = cg_json_member(in, "timepoint"), *ev;
	cJSON *o = cJSON_CreateObject(), *t, *events;
	char id[33];

	cJSON_AddItemToArray(list, o);
	keyed_code(r, "#outcome", text(in, "id"), 8, id);
	cJSON_AddStringToObject(o, "id", id);
	keep_all(o, in, kept);
	t = section(o, "timepoint");
	keep(t, tp, "label");
	date(r, t, tp, "effective");
	keep(t, tp, "daysFromAdministration");
	if (!cg_json_member(in, "events"))
		return;
	events = cJSON_CreateArray();
	cJSON_AddItemToObject(o, "events", events);
	cJSON_ArrayForEach(ev, cg_json_member(in, "events"))
	{
		cJSON *e = cJSON_CreateObject();

		cJSON_AddItemToArray(events, e);
		keep(e, ev, "type");
		date(r, e, ev, "date");
	}
}

enum cg_err
cg_deidentify_record(const struct cg_policy *p, const cJSON *rec, cJSON **out, char *why,
                     size_t whylen)
{
	const cJSON *src = cg_json_member(rec, "source"), *o, *v;
	struct run r;
	cJSON *res, *s;
	char rid[41];

	*out = NULL;
	if (!p->key) {
		snprintf(why, whylen, "safe-harbor needs the destination's key");
		return CG_EINVAL;
	}
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.why = why;
	r.whylen = whylen;
	r.source = text(src, "system");
	r.record_id = text(rec, "recordId");
	res = cJSON_CreateObject();
	if (!res)
		return CG_ENOMEM;
	plan_dates(&r, rec);
	keep(res, rec, "schemaVersion");
	keyed_code(&r, "#record", "", 20, rid);
	cJSON_AddStringToObject(res, "recordId", rid);
	/* The sending system names the hospital, not the patient; its own
	 * reference for the record is another record number. */
	s = section(res, "source");
	keep(s, src, "system");
	patient(&r, res, cg_json_member(rec, "patient"));
	indication(&r, res, cg_json_member(rec, "indication"));
	product(&r, res, cg_json_member(rec, "product"));
	administration(&r, res, cg_json_member(rec, "administration"));
	if ((v = cg_json_member(rec, "outcomes")) != NULL) {
		cJSON *list = cJSON_CreateArray();

		cJSON_AddItemToObject(res, "outcomes", list);
		cJSON_ArrayForEach(o, v) outcome(&r, list, o);
	}
	if ((v = cg_json_member(rec, "vitalStatus")) != NULL) {
		s = section(res, "vitalStatus");
		keep(s, v, "status");
		date(&r, s, v, "date");
	}
	if ((v = cg_json_member(rec, "consent")) != NULL) {
		s = section(res, "consent");
		keep(s, v, "research");
		keep(s, v, "registries");
		date(&r, s, v, "date");
	}
	if (r.failed) {
		cJSON_Delete(res);
		return CG_EINVAL;
	}
	*out = res;
	return CG_OK;
}
