/*
 * record_outcomes.c: the outcome measurements of a record (/outcomes): each
 * measure's value type, unit, range, method, events and grade come from
 * mappings/measures.json; the timepoint rules tie them to the administration.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "record_internal.h"

static const char *const timepoints[] = {"baseline", "day-0",    "day-7",    "day-30", "month-3",
                                         "month-6",  "month-12", "month-24", "other",  NULL};
static const char *const outcome_statuses[] = {"preliminary",      "final", "amended", "corrected",
                                               "entered-in-error", NULL};
static const char *const absent_reasons[] = {"unknown", "not-performed", "asked-declined", "error",
                                             NULL};

enum { EV_TYPE, EV_DATE, EV__N };
static const struct cg_member event_spec[] = {{"type", 1}, {"date", 1}};

enum { TP_LABEL, TP_EFFECTIVE, TP_DAYS, TP__N };
static const struct cg_member timepoint_spec[] = {
        {"label", 1}, {"effective", 1}, {"daysFromAdministration", 0}};

enum {
	OC_ID,
	OC_MEASURE,
	OC_TIMEPOINT,
	OC_METHOD,
	OC_VALUE,
	OC_UNIT,
	OC_STATUS,
	OC_ABSENT,
	OC_EVENTS,
	OC_GRADE,
	OC__N
};
static const struct cg_member outcome_spec[] = {
        {"id", 1},   {"measure", 1}, {"timepoint", 1},        {"method", 0}, {"value", 0},
        {"unit", 0}, {"status", 1},  {"dataAbsentReason", 0}, {"events", 0}, {"grade", 0}};

static void
check_timepoint(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[TP__N];
	struct cg_datetime eff;
	int label = -1, have_eff = 0;
	long days;
	size_t mark;

	if (cg_check_members(&v->c, n, "timepoint", timepoint_spec, TP__N, f))
		return;
	mark = cg_check_push_key(&v->c, "timepoint");
	if (f[TP_LABEL])
		label = cg_check_enum(&v->c, f[TP_LABEL], "label", timepoints);
	if (f[TP_EFFECTIVE] &&
	    cg_check_date_or_datetime(&v->c, f[TP_EFFECTIVE], "effective", &eff) == 0) {
		have_eff = 1;
		if (v->has_birth && cg_date_cmp(&eff.date, &v->birth) < 0)
			cg_check_issue(&v->c, CG_C_DATE_ORDER, f[TP_EFFECTIVE], "effective", 0,
			               "effective is before patient.birthDate");
		if (label == 0 && v->has_start && cg_datetime_cmp(&eff, &v->start) > 0 &&
		    cg_date_cmp(&eff.date, &v->start.date) > 0)
			cg_check_issue(
			        &v->c, CG_C_DATE_ORDER, f[TP_EFFECTIVE], "effective", 0,
			        "a baseline measurement must not be after the administration date");
	}
	if (f[TP_DAYS] &&
	    cg_check_integer(&v->c, f[TP_DAYS], "daysFromAdministration",
	                     -CG_CHECK_MAX_SAFE_INTEGER, CG_CHECK_MAX_SAFE_INTEGER, &days) == 0 &&
	    have_eff && v->has_start) {
		long actual = cg_date_days(&eff.date) - cg_date_days(&v->start.date);

		if (labs(actual - days) > 1)
			cg_check_issue(
			        &v->c, CG_C_DAYS_MISMATCH, f[TP_DAYS], "daysFromAdministration", 0,
			        "daysFromAdministration is %ld but effective is %ld days from "
			        "administration.start",
			        days, actual);
	}
	cg_check_pop(&v->c, mark);
}

static void
check_events(struct cg_record_walk *v, const cJSON *n, const struct cg_measure *ms)
{
	const cJSON *it;
	size_t i = 0, mark;

	if (!cg_check_array(&v->c, n, "events"))
		return;
	mark = cg_check_push_key(&v->c, "events");
	cJSON_ArrayForEach(it, n)
	{
		const cJSON *f[EV__N];
		size_t im = cg_check_push_index(&v->c, i++);
		struct cg_date d;

		if (cg_check_members(&v->c, it, NULL, event_spec, EV__N, f) == 0) {
			if (f[EV_TYPE])
				cg_check_enum_json(&v->c, f[EV_TYPE], "type", ms->event_types,
				                   NULL);
			if (f[EV_DATE] && cg_check_date(&v->c, f[EV_DATE], "date", &d) == 0 &&
			    v->has_birth && cg_date_cmp(&d, &v->birth) < 0)
				cg_check_issue(&v->c, CG_C_DATE_ORDER, f[EV_DATE], "date", 0,
				               "event date is before patient.birthDate");
		}
		cg_check_pop(&v->c, im);
	}
	cg_check_pop(&v->c, mark);
}

static void
check_value(struct cg_record_walk *v, const cJSON *n, const struct cg_measure *ms)
{
	double x;
	long k;
	int b;

	switch (ms->kind) {
	case CG_VALUE_NUMBER:
		if (cg_check_number(&v->c, n, "value", &x) == 0 && (x < ms->min || x > ms->max))
			cg_check_issue(&v->c, CG_C_RANGE, n, "value", 0,
			               "%s must be from %g to %g %s", ms->key, ms->min, ms->max,
			               ms->unit);
		break;
	case CG_VALUE_INTEGER:
		cg_check_integer(&v->c, n, "value", ms->min, ms->max, &k);
		break;
	case CG_VALUE_CODE:
		cg_check_enum_json(&v->c, n, "value", ms->values, NULL);
		break;
	case CG_VALUE_BOOLEAN:
		cg_check_bool(&v->c, n, "value", &b);
		break;
	}
}

static void
check_outcome(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[OC__N];
	const struct cg_measure *ms = NULL;
	const char *mname = NULL;

	if (cg_check_members(&v->c, n, NULL, outcome_spec, OC__N, f))
		return;
	if (f[OC_ID])
		cg_check_id(&v->c, f[OC_ID], "id");
	if (f[OC_MEASURE] && (mname = cg_check_string(&v->c, f[OC_MEASURE], "measure"))) {
		ms = cg_measure_find(v->m, mname);
		if (!ms) {
			struct cg_buf all;
			enum cg_err err = CG_OK;
			size_t i;
			char shown[80];

			cg_buf_init(&all, CG_BUF_MAX_MESSAGE);
			for (i = 0; i < v->m->nmeasures && !err; i++)
				err = cg_buf_printf(&all, "%s%s", i ? ", " : "",
				                    v->m->measures[i].key);
			cg_check_issue(&v->c, CG_C_ENUM, f[OC_MEASURE], "measure", 0,
			               "'%s' is not a known measure; expected one of: %s",
			               cg_check_clip(mname, shown, sizeof(shown)),
			               err || !all.p ? "" : all.p);
			cg_buf_free(&all);
		}
	}
	if (f[OC_TIMEPOINT])
		check_timepoint(v, f[OC_TIMEPOINT]);
	if (f[OC_STATUS])
		cg_check_enum(&v->c, f[OC_STATUS], "status", outcome_statuses);
	if (f[OC_ABSENT])
		cg_check_enum(&v->c, f[OC_ABSENT], "dataAbsentReason", absent_reasons);
	if (!f[OC_VALUE] == !f[OC_ABSENT])
		cg_check_issue(&v->c, CG_C_VALUE_ABSENT, f[OC_VALUE] ? f[OC_ABSENT] : n,
		               f[OC_VALUE] ? "dataAbsentReason" : "value", 0,
		               f[OC_VALUE] ? "give either value or dataAbsentReason, not both"
		                           : "an outcome needs value or dataAbsentReason");
	if (!ms)
		return; /* the rest depends on the measure */
	if (f[OC_VALUE])
		check_value(v, f[OC_VALUE], ms);
	if (ms->kind <= CG_VALUE_INTEGER) {
		const char *u = f[OC_UNIT] ? cg_check_string(&v->c, f[OC_UNIT], "unit") : NULL;
		char shown[80];

		if (!f[OC_UNIT] && f[OC_VALUE])
			cg_check_issue(&v->c, CG_C_REQUIRED, n, "unit", 0,
			               "%s values need unit \"%s\"", ms->key, ms->unit);
		else if (u && strcmp(u, ms->unit) != 0)
			cg_check_issue(
			        &v->c, CG_C_UNIT, f[OC_UNIT], "unit", 0,
			        "unit '%s' is wrong for %s: use \"%s\" (UCUM, case-sensitive)",
			        cg_check_clip(u, shown, sizeof(shown)), ms->key, ms->unit);
	} else if (f[OC_UNIT]) {
		cg_check_issue(&v->c, CG_C_NOT_ALLOWED, f[OC_UNIT], "unit", 0,
		               "%s values have no unit", ms->key);
	}
	if (f[OC_METHOD]) {
		if (ms->methods)
			cg_check_enum_json(&v->c, f[OC_METHOD], "method", ms->methods, NULL);
		else
			cg_check_issue(&v->c, CG_C_NOT_ALLOWED, f[OC_METHOD], "method", 0,
			               "method is not recorded for %s", ms->key);
	}
	if (f[OC_EVENTS]) {
		if (!ms->event_types) {
			cg_check_issue(&v->c, CG_C_NOT_ALLOWED, f[OC_EVENTS], "events", 0,
			               "events are recorded for mace only, not for %s", ms->key);
		} else {
			check_events(v, f[OC_EVENTS], ms);
			if (cJSON_IsFalse(f[OC_VALUE]) && cJSON_IsArray(f[OC_EVENTS]) &&
			    f[OC_EVENTS]->child)
				cg_check_issue(&v->c, CG_C_MACE_EVENTS, f[OC_EVENTS], "events", 0,
				               "events are listed but value is false (no MACE)");
		}
	}
	if (f[OC_GRADE]) {
		long g;

		if (!ms->has_grade)
			cg_check_issue(&v->c, CG_C_NOT_ALLOWED, f[OC_GRADE], "grade", 0,
			               "grade is recorded for adverse-event only, not for %s",
			               ms->key);
		else
			cg_check_integer(&v->c, f[OC_GRADE], "grade", ms->grade_min, ms->grade_max,
			                 &g);
	}
}

void
cg_record_check_outcomes(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *it;
	struct cg_dup *dups;
	size_t i = 0, count, mark;

	if (!cg_check_array(&v->c, n, "outcomes"))
		return;
	dups = cg_dups_of(n, "id", &count);
	if (!dups) {
		v->c.err = CG_ENOMEM;
		return;
	}
	mark = cg_check_push_key(&v->c, "outcomes");
	cJSON_ArrayForEach(it, n)
	{
		size_t im = cg_check_push_index(&v->c, i);

		check_outcome(v, it);
		if (dups[i].dup)
			cg_check_issue(&v->c, CG_C_DUPLICATE_ID, cg_json_member(it, "id"), "id", 0,
			               "outcome id is already used by an earlier outcome");
		cg_check_pop(&v->c, im);
		i++;
	}
	cg_check_pop(&v->c, mark);
	free(dups);
}
