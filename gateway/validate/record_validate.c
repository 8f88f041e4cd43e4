/*
 * record_validate.c: the rules of the stem-cell treatment record v1.0.
 *
 * The walk is driven by member tables, one per object of the contract.
 * members() resolves an object against its table in one pass over its
 * children: that pass is also where unknown members (typos) and duplicate
 * member names (which cJSON keeps silently) are caught, so no part of a
 * record escapes both checks. Facts that rules across sections need (birth
 * date, administration start, weight, product kind...) are gathered first,
 * quietly; each section then reports its own problems once.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "record_internal.h"
#include "record_validate.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sexes[] = {"male", "female", "other", "unknown", NULL};
static const char *const id_types[] = {"MR", "REGISTRY", "NATIONAL", NULL};
static const char *const populations[] = {"adult", "pediatric", NULL};
static const char *const procedure_types[] = {"primary-pci", "cabg", "other", NULL};
static const char *const hla_statuses[] = {"matched", "mismatched", "haploidentical", "not-tested",
                                           NULL};
static const char *const manipulations[] = {"none",
                                            "ex-vivo-expansion",
                                            "selection",
                                            "preconditioned",
                                            "genetically-modified",
                                            "cryopreserved",
                                            NULL};
static const char *const admin_statuses[] = {"completed", "in-progress",      "not-done",
                                             "stopped",   "entered-in-error", NULL};
static const char *const vital_statuses[] = {"alive", "dead", "unknown", NULL};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- facts ------------------------------------------------------------ */

/* Reads, without reporting anything, what rules across sections need. The
 * sections report the same values' own problems. */
static void
gather(struct cg_record_walk *v, const cJSON *rec)
{
	const cJSON *patient = cg_json_member(rec, "patient");
	const cJSON *product = cg_json_member(rec, "product");
	const char *s;

	s = cJSON_GetStringValue(cg_json_member(patient, "birthDate"));
	v->has_birth = s && cg_date_parse(s, &v->birth) == 0;
	s = cJSON_GetStringValue(cg_json_member(cg_json_member(rec, "administration"), "start"));
	v->has_start = s && cg_datetime_parse(s, &v->start) == 0;
	{
		const cJSON *w = cg_json_member(patient, "weightKg");

		v->has_weight = cJSON_IsNumber(w) && isfinite(w->valuedouble) &&
		                w->valuedouble > 0 && w->valuedouble <= 400;
		v->weight = v->has_weight ? w->valuedouble : 0;
	}
	s = cJSON_GetStringValue(cg_json_member(cg_json_member(rec, "indication"), "population"));
	v->pediatric = !s ? -1 : strcmp(s, "pediatric") == 0 ? 1 : strcmp(s, "adult") == 0 ? 0 : -1;
	s = cJSON_GetStringValue(cg_json_member(product, "cellType"));
	v->cell_type = s ? cg_term_find(&v->m->cell_types, s) : NULL;
	s = cJSON_GetStringValue(cg_json_member(product, "tissueSource"));
	v->tissue = s ? cg_term_find(&v->m->tissue_sources, s) : NULL;
	s = cJSON_GetStringValue(cg_json_member(product, "donorType"));
	v->donor = s ? cg_term_find(&v->m->donor_types, s) : NULL;
}

/* A date that must not come before the birth date nor after administration. */
static void
date_between_birth_and_start(struct cg_record_walk *v, const cJSON *n, const char *name,
                             const struct cg_date *d, const char *what)
{
	if (v->has_birth && cg_date_cmp(d, &v->birth) < 0)
		cg_check_issue(&v->c, CG_C_DATE_ORDER, n, name, 0, "%s is before patient.birthDate",
		               what);
	if (v->has_start && cg_date_cmp(d, &v->start.date) > 0)
		cg_check_issue(&v->c, CG_C_DATE_ORDER, n, name, 0,
		               "%s is after administration.start", what);
}

/* ---- sections --------------------------------------------------------- */

enum { SRC_SYSTEM, SRC_RECORDREF, SRC__N };
static const struct cg_member source_spec[] = {{"system", 1}, {"recordRef", 0}};

static void
check_source(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[SRC__N];
	size_t mark;

	if (cg_check_members(&v->c, n, "source", source_spec, SRC__N, f))
		return;
	mark = cg_check_push_key(&v->c, "source");
	if (f[SRC_SYSTEM])
		cg_check_uri(&v->c, f[SRC_SYSTEM], "system");
	if (f[SRC_RECORDREF])
		cg_check_string(&v->c, f[SRC_RECORDREF], "recordRef");
	cg_check_pop(&v->c, mark);
}

enum { ID_SYSTEM, ID_VALUE, ID_TYPE, ID__N };
static const struct cg_member identifier_spec[] = {{"system", 1}, {"value", 1}, {"type", 0}};

static void
check_patient_identifiers(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *it;
	struct cg_dup *dups;
	size_t i = 0, count, mark;

	if (!cg_check_array(&v->c, n, "identifiers"))
		return;
	/* The same identifier (system and value) twice is a copy-paste slip. */
	dups = cg_dups_of(n, "system", &count);
	if (!dups) {
		v->c.err = CG_ENOMEM;
		return;
	}
	for (it = n->child; it; it = it->next, i++) {
		dups[i].b = cJSON_GetStringValue(cg_json_member(it, "value"));
		if (!dups[i].b)
			dups[i].a = NULL; /* no value: takes no part */
	}
	if (cg_dups_mark(dups, count))
		v->c.err = CG_ENOMEM;
	mark = cg_check_push_key(&v->c, "identifiers");
	i = 0;
	cJSON_ArrayForEach(it, n)
	{
		const cJSON *f[ID__N];
		size_t im = cg_check_push_index(&v->c, i);

		if (cg_check_members(&v->c, it, NULL, identifier_spec, ID__N, f) == 0) {
			if (f[ID_SYSTEM])
				cg_check_uri(&v->c, f[ID_SYSTEM], "system");
			if (f[ID_VALUE])
				cg_check_string(&v->c, f[ID_VALUE], "value");
			if (f[ID_TYPE])
				cg_check_enum(&v->c, f[ID_TYPE], "type", id_types);
			if (dups[i].dup)
				cg_check_issue(
				        &v->c, CG_C_DUPLICATE_ITEM, it, NULL, 0,
				        "the same identifier (system and value) is listed twice");
		}
		cg_check_pop(&v->c, im);
		i++;
	}
	cg_check_pop(&v->c, mark);
	free(dups);
}

enum { PAT_IDENTIFIERS, PAT_BIRTHDATE, PAT_SEX, PAT_WEIGHT, PAT__N };
static const struct cg_member patient_spec[] = {
        {"identifiers", 1}, {"birthDate", 1}, {"sex", 1}, {"weightKg", 0}};

static void
check_patient(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[PAT__N];
	size_t mark;
	double w;

	if (cg_check_members(&v->c, n, "patient", patient_spec, PAT__N, f))
		return;
	mark = cg_check_push_key(&v->c, "patient");
	if (f[PAT_IDENTIFIERS])
		check_patient_identifiers(v, f[PAT_IDENTIFIERS]);
	if (f[PAT_BIRTHDATE]) {
		struct cg_date b;

		if (cg_check_date(&v->c, f[PAT_BIRTHDATE], "birthDate", &b) == 0) {
			if (cg_date_cmp(&b, v->today) > 0)
				cg_check_issue(&v->c, CG_C_FUTURE_DATE, f[PAT_BIRTHDATE],
				               "birthDate", 0, "birthDate is in the future");
			if (v->has_start && cg_date_cmp(&v->start.date, &b) >= 0 &&
			    cg_age_years(&b, &v->start.date) > 120)
				cg_check_issue(&v->c, CG_C_AGE_LIMIT, f[PAT_BIRTHDATE], "birthDate",
				               0, "age at administration is over 120 years");
		}
	}
	if (f[PAT_SEX])
		cg_check_enum(&v->c, f[PAT_SEX], "sex", sexes);
	if (f[PAT_WEIGHT])
		cg_check_range(&v->c, f[PAT_WEIGHT], "weightKg", 0, 1, 400, &w);
	cg_check_pop(&v->c, mark);
}

enum { RP_TYPE, RP_DATE, RP__N };
static const struct cg_member related_spec[] = {{"type", 1}, {"date", 1}};

enum { IND_CATEGORY, IND_POPULATION, IND_ICD10CM, IND_SNOMED, IND_DIAGNOSIS, IND_RELATED, IND__N };
static const struct cg_member indication_spec[] = {{"category", 1},      {"population", 0},
                                                   {"icd10cm", 1},       {"snomed", 0},
                                                   {"diagnosisDate", 0}, {"relatedProcedure", 0}};

static void
check_indication(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[IND__N];
	const struct cg_term *cat = NULL;
	const char *icd = NULL;
	struct cg_date d;
	size_t mark;

	if (cg_check_members(&v->c, n, "indication", indication_spec, IND__N, f))
		return;
	mark = cg_check_push_key(&v->c, "indication");
	if (f[IND_CATEGORY])
		cat = cg_check_term(&v->c, f[IND_CATEGORY], "category", &v->m->indications);
	if (f[IND_POPULATION] &&
	    cg_check_enum(&v->c, f[IND_POPULATION], "population", populations) >= 0 &&
	    v->has_birth && v->has_start && cg_date_cmp(&v->start.date, &v->birth) >= 0) {
		int age = cg_age_years(&v->birth, &v->start.date);

		if (v->pediatric == 1 && age >= 18)
			cg_check_issue(
			        &v->c, CG_C_POPULATION_AGE, f[IND_POPULATION], "population", 0,
			        "population is pediatric but the patient is %d at administration",
			        age);
		else if (v->pediatric == 0 && age < 18)
			cg_check_issue(
			        &v->c, CG_C_POPULATION_AGE, f[IND_POPULATION], "population", 0,
			        "population is adult but the patient is %d at administration", age);
	}
	if (f[IND_ICD10CM]) {
		icd = cg_check_string(&v->c, f[IND_ICD10CM], "icd10cm");
		if (icd && !cg_icd10cm_is_well_formed(icd)) {
			cg_check_issue(
			        &v->c, CG_C_PATTERN, f[IND_ICD10CM], "icd10cm", 0,
			        "must be an ICD-10-CM code with its dot, such as I21.4 or J84.112");
			icd = NULL;
		}
	}
	if (cat && icd && !cg_indication_has_icd10cm(cat, icd)) {
		struct cg_buf globs;
		const cJSON *g;
		enum cg_err err = CG_OK;

		cg_buf_init(&globs, CG_BUF_MAX_MESSAGE);
		cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(cat->attrs, "icd10cm"))
		{
			err = cg_buf_printf(&globs, "%s%s", globs.len ? ", " : "", g->valuestring);
			if (err)
				break;
		}
		cg_check_issue(&v->c, CG_C_ICD10CM_CATEGORY, f[IND_ICD10CM], "icd10cm", 0,
		               "ICD-10-CM code does not belong to category %s (expected %s)",
		               cat->key, err || !globs.p ? "" : globs.p);
		cg_buf_free(&globs);
	}
	if (f[IND_SNOMED]) {
		const char *s = cg_check_string(&v->c, f[IND_SNOMED], "snomed");
		size_t i, len = s ? strlen(s) : 0;

		for (i = 0; i < len && is_digit(s[i]); i++)
			;
		if (s && (i != len || len < 6 || len > 18))
			cg_check_issue(&v->c, CG_C_PATTERN, f[IND_SNOMED], "snomed", 0,
			               "must be a SNOMED CT concept id: 6 to 18 digits");
		else if (s && !cg_snomed_id_is_valid(s))
			cg_check_issue(&v->c, CG_C_SNOMED_CHECK, f[IND_SNOMED], "snomed", 0,
			               "not a valid SNOMED CT concept id (check digit or partition "
			               "wrong)");
	}
	if (f[IND_DIAGNOSIS] && cg_check_date(&v->c, f[IND_DIAGNOSIS], "diagnosisDate", &d) == 0)
		date_between_birth_and_start(v, f[IND_DIAGNOSIS], "diagnosisDate", &d,
		                             "diagnosisDate");
	if (f[IND_RELATED]) {
		const cJSON *r[RP__N];

		if (cg_check_members(&v->c, f[IND_RELATED], "relatedProcedure", related_spec, RP__N,
		                     r) == 0) {
			size_t rm = cg_check_push_key(&v->c, "relatedProcedure");

			if (r[RP_TYPE])
				cg_check_enum(&v->c, r[RP_TYPE], "type", procedure_types);
			if (r[RP_DATE] && cg_check_date(&v->c, r[RP_DATE], "date", &d) == 0)
				date_between_birth_and_start(v, r[RP_DATE], "date", &d,
				                             "relatedProcedure.date");
			cg_check_pop(&v->c, rm);
		}
	}
	cg_check_pop(&v->c, mark);
}

static const struct cg_member product_ids_spec[] = {
        {"productId", 0}, {"batch", 0}, {"lot", 0}, {"isbt128Din", 0}, {"isbt128ProductCode", 0}};

enum { HLA_STATUS, HLA_MATCHED, HLA_EVALUATED, HLA__N };
static const struct cg_member hla_spec[] = {{"status", 1}, {"matched", 0}, {"evaluated", 0}};

enum {
	PR_IDENTIFIERS,
	PR_CELLTYPE,
	PR_TISSUE,
	PR_DONOR,
	PR_HLA,
	PR_MANIPULATION,
	PR_GENETIC,
	PR_MANUFACTURER,
	PR_COLLECTION,
	PR_VIABILITY,
	PR__N
};
static const struct cg_member product_spec[] = {
        {"identifiers", 1},         {"cellType", 1},     {"tissueSource", 1},
        {"donorType", 1},           {"hlaMatch", 0},     {"manipulation", 0},
        {"geneticModification", 0}, {"manufacturer", 0}, {"collectionDate", 0},
        {"viabilityPercent", 0}};

static void
check_hla(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[HLA__N];
	long matched = -1, evaluated = -1;
	size_t mark;

	if (cg_check_members(&v->c, n, "hlaMatch", hla_spec, HLA__N, f))
		return;
	mark = cg_check_push_key(&v->c, "hlaMatch");
	if (f[HLA_STATUS])
		cg_check_enum(&v->c, f[HLA_STATUS], "status", hla_statuses);
	if (f[HLA_MATCHED] && cg_check_integer(&v->c, f[HLA_MATCHED], "matched", 0,
	                                       CG_CHECK_MAX_SAFE_INTEGER, &matched))
		matched = -1;
	if (f[HLA_EVALUATED] && cg_check_integer(&v->c, f[HLA_EVALUATED], "evaluated", 0,
	                                         CG_CHECK_MAX_SAFE_INTEGER, &evaluated))
		evaluated = -1;
	if (matched >= 0 && evaluated >= 0 && matched > evaluated)
		cg_check_issue(&v->c, CG_C_HLA_COUNTS, f[HLA_MATCHED], "matched", 0,
		               "matched (%ld) is greater than evaluated (%ld)", matched, evaluated);
	cg_check_pop(&v->c, mark);
	if (v->donor && !cg_term_has_flag(v->donor, "allogeneic"))
		cg_check_issue(&v->c, CG_C_HLA_DONOR, n, "hlaMatch", 0,
		               "hlaMatch applies to allogeneic donors only, and donorType is %s",
		               v->donor->key);
}

static void
check_manipulation(struct cg_record_walk *v, const cJSON *n, const cJSON *genetic)
{
	const cJSON *it, *none = NULL;
	size_t i = 0, count = 0, none_at = 0, mark;
	unsigned seen = 0; /* one bit per manipulation code: the list is closed */
	int modified = 0;

	if (!cg_check_array(&v->c, n, "manipulation"))
		return;
	mark = cg_check_push_key(&v->c, "manipulation");
	cJSON_ArrayForEach(it, n)
	{
		size_t im = cg_check_push_index(&v->c, i);
		int k = cg_check_enum(&v->c, it, NULL, manipulations);

		if (k >= 0) {
			count++;
			if (seen & (1u << k))
				cg_check_issue(&v->c, CG_C_DUPLICATE_ITEM, it, NULL, 0,
				               "'%s' is listed twice", manipulations[k]);
			seen |= 1u << k;
			if (k == 0) {
				none = it;
				none_at = i;
			}
			if (!strcmp(manipulations[k], "genetically-modified"))
				modified = 1;
		}
		cg_check_pop(&v->c, im);
		i++;
	}
	if (none && count > 1) {
		size_t im = cg_check_push_index(&v->c, none_at);

		cg_check_issue(&v->c, CG_C_MANIPULATION_CONFLICT, none, NULL, 0,
		               "'none' cannot be combined with other manipulations");
		cg_check_pop(&v->c, im);
	}
	cg_check_pop(&v->c, mark);
	if (modified && !genetic)
		cg_check_issue(&v->c, CG_C_REQUIRED, NULL, "geneticModification", 0,
		               "geneticModification is required when manipulation includes "
		               "genetically-modified");
}

static void
check_product(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[PR__N];
	size_t mark;
	struct cg_date d;
	double x;

	if (cg_check_members(&v->c, n, "product", product_spec, PR__N, f))
		return;
	mark = cg_check_push_key(&v->c, "product");
	if (f[PR_IDENTIFIERS]) {
		const cJSON *ids[COUNT(product_ids_spec)];
		size_t i, present = 0;

		if (cg_check_members(&v->c, f[PR_IDENTIFIERS], "identifiers", product_ids_spec,
		                     COUNT(product_ids_spec), ids) == 0) {
			size_t im = cg_check_push_key(&v->c, "identifiers");

			for (i = 0; i < COUNT(product_ids_spec); i++)
				if (ids[i]) {
					present++;
					cg_check_string(&v->c, ids[i], product_ids_spec[i].name);
				}
			cg_check_pop(&v->c, im);
			if (!present)
				cg_check_issue(&v->c, CG_C_REQUIRED, f[PR_IDENTIFIERS],
				               "identifiers", 0,
				               "at least one of productId, batch, lot, isbt128Din, "
				               "isbt128ProductCode is required");
		}
	}
	if (f[PR_CELLTYPE])
		cg_check_term(&v->c, f[PR_CELLTYPE], "cellType", &v->m->cell_types);
	if (f[PR_TISSUE])
		cg_check_term(&v->c, f[PR_TISSUE], "tissueSource", &v->m->tissue_sources);
	if (f[PR_DONOR])
		cg_check_term(&v->c, f[PR_DONOR], "donorType", &v->m->donor_types);
	/* The contract's rule: tissue source ipsc if and only if iPSC-derived. */
	if (v->cell_type && v->tissue &&
	    (strcmp(v->tissue->key, "ipsc") == 0) !=
	            (strcmp(v->cell_type->key, "ipsc-derived") == 0))
		cg_check_issue(&v->c, CG_C_IPSC_SOURCE, f[PR_TISSUE], "tissueSource", 0,
		               strcmp(v->tissue->key, "ipsc") == 0
		                       ? "tissueSource ipsc requires cellType ipsc-derived"
		                       : "cellType ipsc-derived requires tissueSource ipsc");
	if (f[PR_HLA])
		check_hla(v, f[PR_HLA]);
	if (f[PR_MANIPULATION])
		check_manipulation(v, f[PR_MANIPULATION], f[PR_GENETIC]);
	if (f[PR_GENETIC] && cg_check_string(&v->c, f[PR_GENETIC], "geneticModification")) {
		int modified = 0;
		const cJSON *it =
		        cJSON_IsArray(f[PR_MANIPULATION]) ? f[PR_MANIPULATION]->child : NULL;

		for (; it; it = it->next)
			if (cJSON_IsString(it) && !strcmp(it->valuestring, "genetically-modified"))
				modified = 1;
		if (!modified)
			cg_check_issue(
			        &v->c, CG_C_NOT_APPLICABLE, f[PR_GENETIC], "geneticModification", 0,
			        "geneticModification is given but manipulation does not include "
			        "genetically-modified");
	}
	if (f[PR_MANUFACTURER])
		cg_check_string(&v->c, f[PR_MANUFACTURER], "manufacturer");
	if (f[PR_COLLECTION] && cg_check_date(&v->c, f[PR_COLLECTION], "collectionDate", &d) == 0)
		date_between_birth_and_start(v, f[PR_COLLECTION], "collectionDate", &d,
		                             "collectionDate");
	if (f[PR_VIABILITY])
		cg_check_range(&v->c, f[PR_VIABILITY], "viabilityPercent", 0, 0, 100, &x);
	cg_check_pop(&v->c, mark);
}

enum { DOSE_CELLS_TOTAL, DOSE_CELLS_PER_KG, DOSE_PARTICLES, DOSE_PROTEIN, DOSE__N };
static const struct cg_member dose_spec[] = {
        {"cellsTotal", 0}, {"cellsPerKg", 0}, {"particles", 0}, {"proteinMicrograms", 0}};

static void
check_dose(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[DOSE__N];
	double val[DOSE__N];
	int ok[DOSE__N];
	size_t i, mark;

	if (cg_check_members(&v->c, n, "dose", dose_spec, DOSE__N, f))
		return;
	mark = cg_check_push_key(&v->c, "dose");
	for (i = 0; i < DOSE__N; i++)
		ok[i] = f[i] &&
		        cg_check_range(&v->c, f[i], dose_spec[i].name, 0, 1, 1e300, &val[i]) == 0;
	cg_check_pop(&v->c, mark);
	if (v->cell_type && cg_cell_kind(v->cell_type) == CG_VESICLES) {
		if (!f[DOSE_PARTICLES] && !f[DOSE_PROTEIN])
			cg_check_issue(&v->c, CG_C_DOSE_KIND, n, "dose", 0,
			               "a %s dose needs particles or proteinMicrograms",
			               v->cell_type->key);
		for (i = DOSE_CELLS_TOTAL; i <= DOSE_CELLS_PER_KG; i++)
			if (f[i]) {
				mark = cg_check_push_key(&v->c, "dose");
				cg_check_issue(&v->c, CG_C_DOSE_KIND, f[i], dose_spec[i].name, 0,
				               "%s is a vesicle product: cell counts do not apply",
				               v->cell_type->key);
				cg_check_pop(&v->c, mark);
			}
		return;
	}
	if (v->cell_type) {
		if (!f[DOSE_CELLS_TOTAL] && !f[DOSE_CELLS_PER_KG])
			cg_check_issue(&v->c, CG_C_DOSE_KIND, n, "dose", 0,
			               "a cell product dose needs cellsTotal or cellsPerKg");
		for (i = DOSE_PARTICLES; i <= DOSE_PROTEIN; i++)
			if (f[i]) {
				mark = cg_check_push_key(&v->c, "dose");
				cg_check_issue(&v->c, CG_C_DOSE_KIND, f[i], dose_spec[i].name, 0,
				               "%s applies to vesicle products, not to %s",
				               dose_spec[i].name, v->cell_type->key);
				cg_check_pop(&v->c, mark);
			}
	}
	mark = cg_check_push_key(&v->c, "dose");
	if (v->pediatric == 1 && ok[DOSE_CELLS_TOTAL] && !f[DOSE_CELLS_PER_KG] && !v->has_weight)
		cg_check_issue(&v->c, CG_C_PEDIATRIC_DOSE, f[DOSE_CELLS_TOTAL], "cellsTotal", 0,
		               "pediatric dose given as cellsTotal only: add cellsPerKg or "
		               "patient.weightKg (pediatric doses are per kg)");
	if (ok[DOSE_CELLS_TOTAL] && ok[DOSE_CELLS_PER_KG] && v->has_weight) {
		double expect = val[DOSE_CELLS_PER_KG] * v->weight;

		if (fabs(val[DOSE_CELLS_TOTAL] - expect) > 0.05 * val[DOSE_CELLS_TOTAL])
			cg_check_issue(
			        &v->c, CG_C_DOSE_MISMATCH, f[DOSE_CELLS_TOTAL], "cellsTotal", 0,
			        "cellsTotal differs from cellsPerKg x patient.weightKg (%.3g) by "
			        "more than 5 %%",
			        expect);
	}
	cg_check_pop(&v->c, mark);
}

enum { PERF_SYSTEM, PERF_VALUE, PERF__N };
static const struct cg_member performer_spec[] = {{"system", 1}, {"value", 1}};

enum {
	AD_STATUS,
	AD_START,
	AD_END,
	AD_ROUTE,
	AD_BODYSITE,
	AD_DOSE,
	AD_INJECTIONS,
	AD_INFUSION,
	AD_ENTIRE,
	AD_PERFORMER,
	AD_CONCOMITANT,
	AD__N
};
static const struct cg_member admin_spec[] = {{"status", 1},
                                              {"start", 1},
                                              {"end", 0},
                                              {"route", 1},
                                              {"bodySite", 0},
                                              {"dose", 1},
                                              {"numberOfInjections", 0},
                                              {"infusionNumber", 0},
                                              {"entireProductInfused", 0},
                                              {"performer", 0},
                                              {"concomitantTherapy", 0}};

static void
check_administration(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[AD__N];
	struct cg_datetime t;
	size_t mark;
	long k;
	int b;

	if (cg_check_members(&v->c, n, "administration", admin_spec, AD__N, f))
		return;
	mark = cg_check_push_key(&v->c, "administration");
	if (f[AD_STATUS])
		cg_check_enum(&v->c, f[AD_STATUS], "status", admin_statuses);
	if (f[AD_START] && cg_check_datetime(&v->c, f[AD_START], "start", &t) == 0 &&
	    v->has_birth && cg_date_cmp(&t.date, &v->birth) < 0)
		cg_check_issue(&v->c, CG_C_DATE_ORDER, f[AD_START], "start", 0,
		               "start is before patient.birthDate");
	if (f[AD_END] && cg_check_datetime(&v->c, f[AD_END], "end", &t) == 0 && v->has_start &&
	    cg_datetime_cmp(&t, &v->start) < 0)
		cg_check_issue(&v->c, CG_C_DATE_ORDER, f[AD_END], "end", 0, "end is before start");
	if (f[AD_ROUTE])
		cg_check_term(&v->c, f[AD_ROUTE], "route", &v->m->routes);
	if (f[AD_BODYSITE])
		cg_check_term(&v->c, f[AD_BODYSITE], "bodySite", &v->m->body_sites);
	if (f[AD_DOSE])
		check_dose(v, f[AD_DOSE]);
	if (f[AD_INJECTIONS])
		cg_check_integer(&v->c, f[AD_INJECTIONS], "numberOfInjections", 1,
		                 CG_CHECK_MAX_SAFE_INTEGER, &k);
	if (f[AD_INFUSION])
		cg_check_integer(&v->c, f[AD_INFUSION], "infusionNumber", 1,
		                 CG_CHECK_MAX_SAFE_INTEGER, &k);
	if (f[AD_ENTIRE])
		cg_check_bool(&v->c, f[AD_ENTIRE], "entireProductInfused", &b);
	if (f[AD_PERFORMER]) {
		const cJSON *p[PERF__N];

		if (cg_check_members(&v->c, f[AD_PERFORMER], "performer", performer_spec, PERF__N,
		                     p) == 0) {
			size_t pm = cg_check_push_key(&v->c, "performer");

			if (p[PERF_SYSTEM])
				cg_check_uri(&v->c, p[PERF_SYSTEM], "system");
			if (p[PERF_VALUE])
				cg_check_string(&v->c, p[PERF_VALUE], "value");
			cg_check_pop(&v->c, pm);
		}
	}
	if (f[AD_CONCOMITANT] && cg_check_array(&v->c, f[AD_CONCOMITANT], "concomitantTherapy")) {
		const cJSON *it;
		size_t i = 0, cm = cg_check_push_key(&v->c, "concomitantTherapy");

		cJSON_ArrayForEach(it, f[AD_CONCOMITANT])
		{
			size_t im = cg_check_push_index(&v->c, i++);

			cg_check_string(&v->c, it, NULL);
			cg_check_pop(&v->c, im);
		}
		cg_check_pop(&v->c, cm);
	}
	cg_check_pop(&v->c, mark);
}

enum { VS_STATUS, VS_DATE, VS_CAUSE, VS__N };
static const struct cg_member vital_spec[] = {{"status", 1}, {"date", 1}, {"causeOfDeath", 0}};

static void
check_vital(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[VS__N];
	struct cg_date d;
	int status = -1;
	size_t mark;

	if (cg_check_members(&v->c, n, "vitalStatus", vital_spec, VS__N, f))
		return;
	mark = cg_check_push_key(&v->c, "vitalStatus");
	if (f[VS_STATUS])
		status = cg_check_enum(&v->c, f[VS_STATUS], "status", vital_statuses);
	if (f[VS_DATE] && cg_check_date(&v->c, f[VS_DATE], "date", &d) == 0 && v->has_birth &&
	    cg_date_cmp(&d, &v->birth) < 0)
		cg_check_issue(&v->c, CG_C_DATE_ORDER, f[VS_DATE], "date", 0,
		               "date is before patient.birthDate");
	if (f[VS_CAUSE] && cg_check_string(&v->c, f[VS_CAUSE], "causeOfDeath") && status >= 0 &&
	    strcmp(vital_statuses[status], "dead") != 0)
		cg_check_issue(&v->c, CG_C_VITAL_STATUS, f[VS_CAUSE], "causeOfDeath", 0,
		               "causeOfDeath is given but status is %s", vital_statuses[status]);
	cg_check_pop(&v->c, mark);
}

enum { CO_RESEARCH, CO_REGISTRIES, CO_DATE, CO__N };
static const struct cg_member consent_spec[] = {{"research", 1}, {"registries", 0}, {"date", 0}};

static void
check_registries(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *it;
	struct cg_dup *dups;
	size_t i = 0, count, mark;

	dups = cg_dups_of(n, NULL, &count);
	if (!dups) {
		v->c.err = CG_ENOMEM;
		return;
	}
	mark = cg_check_push_key(&v->c, "registries");
	cJSON_ArrayForEach(it, n)
	{
		size_t im = cg_check_push_index(&v->c, i);

		if (cg_check_string(&v->c, it, NULL) && dups[i].dup)
			cg_check_issue(&v->c, CG_C_DUPLICATE_ITEM, it, NULL, 0,
			               "registry is listed twice");
		cg_check_pop(&v->c, im);
		i++;
	}
	cg_check_pop(&v->c, mark);
	free(dups);
}

static void
check_consent(struct cg_record_walk *v, const cJSON *n)
{
	const cJSON *f[CO__N];
	struct cg_date d;
	size_t mark;
	int b;

	if (cg_check_members(&v->c, n, "consent", consent_spec, CO__N, f))
		return;
	mark = cg_check_push_key(&v->c, "consent");
	if (f[CO_RESEARCH])
		cg_check_bool(&v->c, f[CO_RESEARCH], "research", &b);
	if (f[CO_REGISTRIES] && cg_check_array(&v->c, f[CO_REGISTRIES], "registries"))
		check_registries(v, f[CO_REGISTRIES]);
	if (f[CO_DATE] && cg_check_date(&v->c, f[CO_DATE], "date", &d) == 0 && v->has_birth &&
	    cg_date_cmp(&d, &v->birth) < 0)
		cg_check_issue(&v->c, CG_C_DATE_ORDER, f[CO_DATE], "date", 0,
		               "date is before patient.birthDate");
	cg_check_pop(&v->c, mark);
}

enum {
	R_SCHEMA,
	R_RECORDID,
	R_SOURCE,
	R_PATIENT,
	R_INDICATION,
	R_PRODUCT,
	R_ADMINISTRATION,
	R_OUTCOMES,
	R_VITAL,
	R_CONSENT,
	R__N
};
static const struct cg_member record_spec[] = {
        {"schemaVersion", 1}, {"recordId", 1}, {"source", 1},         {"patient", 1},
        {"indication", 1},    {"product", 1},  {"administration", 1}, {"outcomes", 0},
        {"vitalStatus", 0},   {"consent", 0}};

enum cg_err
cg_record_validate(const cJSON *rec, const struct cg_mappings *m, const struct cg_date *today,
                   struct cg_diag *d)
{
	const cJSON *f[R__N];
	struct cg_record_walk v;

	memset(&v, 0, offsetof(struct cg_record_walk, c));
	cg_check_init(&v.c, d);
	v.m = m;
	v.today = today;
	if (!cJSON_IsObject(rec)) {
		cg_check_issue(&v.c, CG_C_TYPE, rec, NULL, 0,
		               "a record must be a JSON object, not %s", cg_json_type_name(rec));
		goto out;
	}
	gather(&v, rec);
	if (cg_check_members(&v.c, rec, NULL, record_spec, R__N, f))
		goto out;
	if (f[R_SCHEMA]) {
		const char *s = cg_check_string(&v.c, f[R_SCHEMA], "schemaVersion");

		if (s && strcmp(s, "1.0") != 0)
			cg_check_issue(&v.c, CG_C_ENUM, f[R_SCHEMA], "schemaVersion", 0,
			               "schemaVersion must be \"1.0\" (the version this cellgate "
			               "implements)");
	}
	if (f[R_RECORDID])
		cg_check_id(&v.c, f[R_RECORDID], "recordId");
	if (f[R_SOURCE])
		check_source(&v, f[R_SOURCE]);
	if (f[R_PATIENT])
		check_patient(&v, f[R_PATIENT]);
	if (f[R_INDICATION])
		check_indication(&v, f[R_INDICATION]);
	if (f[R_PRODUCT])
		check_product(&v, f[R_PRODUCT]);
	if (f[R_ADMINISTRATION])
		check_administration(&v, f[R_ADMINISTRATION]);
	if (f[R_OUTCOMES])
		cg_record_check_outcomes(&v, f[R_OUTCOMES]);
	if (f[R_VITAL])
		check_vital(&v, f[R_VITAL]);
	if (f[R_CONSENT])
		check_consent(&v, f[R_CONSENT]);
out:
	cg_check_free(&v.c);
	return v.c.err;
}
