/*
 * test_mappings.c: the code tables load, answer look-ups, and a broken table
 * stops cellgate with the file and the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "fhir_structure.h"
#include "mappings.h"
#include "support.h"

static void
lookups(void **state)
{
	const struct cg_mappings *m = test_mappings();
	const struct cg_measure *lvef = cg_measure_find(m, "lvef");
	const struct cg_term *cardio = cg_term_find(&m->indications, "cardiomyopathy");
	const struct cg_term *other = cg_term_find(&m->indications, "other");

	(void)state;
	assert_non_null(lvef);
	assert_string_equal(lvef->code, "10230-1");
	assert_string_equal(lvef->unit, "%");
	assert_int_equal(lvef->kind, CG_VALUE_NUMBER);
	assert_non_null(lvef->methods);
	assert_int_equal(cg_measure_find(m, "meld")->kind, CG_VALUE_INTEGER);
	assert_true(cg_measure_find(m, "adverse-event")->has_grade);
	assert_null(cg_measure_find(m, "LVEF"));
	assert_true(cg_indication_has_icd10cm(cardio, "I42.0"));
	assert_true(cg_indication_has_icd10cm(cardio, "I25.5"));
	assert_false(cg_indication_has_icd10cm(cardio, "I25.51"));
	assert_false(cg_indication_has_icd10cm(cardio, "I42"));
	assert_true(cg_indication_has_icd10cm(other, "A00.0"));
	assert_int_equal(cg_cell_kind(cg_term_find(&m->cell_types, "msc-exosome-ev")), CG_VESICLES);
	assert_int_equal(cg_cell_kind(cg_term_find(&m->cell_types, "bm-mnc")), CG_CELLS);
	assert_false(cg_term_has_flag(cg_term_find(&m->donor_types, "syngeneic"), "allogeneic"));
	assert_string_equal(cg_term_str(cg_term_find(&m->routes, "intracoronary"), "snomed"),
	                    "372463005");
}

/* Every SNOMED CT id in the tables has a valid check digit. */
static void
table_snomed_ids_are_well_formed(void **state)
{
	const struct cg_mappings *m = test_mappings();
	const struct cg_term_table *tables[] = {&m->routes, &m->body_sites, &m->donor_types};
	size_t t, i;

	(void)state;
	for (t = 0; t < 3; t++)
		for (i = 0; i < tables[t]->n; i++) {
			const char *id = cg_term_str(&tables[t]->v[i], "snomed");

			if (id && !cg_snomed_id_is_valid(id))
				fail_msg("%s %s: bad SNOMED id %s", tables[t]->name,
				         tables[t]->v[i].key, id);
		}
}

static void
identifier_forms(void **state)
{
	(void)state;
	assert_true(cg_snomed_id_is_valid("22298006"));
	assert_true(cg_snomed_id_is_valid("80891009"));
	assert_true(cg_snomed_id_is_valid("419758009"));
	assert_false(cg_snomed_id_is_valid("22298007"));
	assert_false(cg_snomed_id_is_valid("02298006"));
	assert_false(cg_snomed_id_is_valid("12345"));
	assert_true(cg_icd10cm_is_well_formed("I21.4"));
	assert_true(cg_icd10cm_is_well_formed("J84.112"));
	assert_true(cg_icd10cm_is_well_formed("C4A.10"));
	assert_true(cg_icd10cm_is_well_formed("S72.001A"));
	assert_true(cg_icd10cm_is_well_formed("I42"));
	assert_false(cg_icd10cm_is_well_formed("I21."));
	assert_false(cg_icd10cm_is_well_formed("I214"));
	assert_false(cg_icd10cm_is_well_formed("I21.12345"));
	assert_false(cg_icd10cm_is_well_formed("121.4"));
}

/* Copies the real tables to a temporary folder and spoils one file. */
static char *
spoiled(const char *file, const char *content)
{
	char tmpl[] = "/tmp/cg-mappings-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char cmd[4096];
	FILE *f;

	assert_non_null(dir);
	snprintf(cmd, sizeof(cmd), "cp -r %s/. %s/", CG_TEST_MAPPINGS, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/%s", dir, file);
	if (content) {
		f = fopen(cmd, "w");
		assert_non_null(f);
		fputs(content, f);
		fclose(f);
	} else {
		unlink(cmd);
	}
	return strdup(dir);
}

static void
remove_dir(char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static void
broken_tables(void **state)
{
	static const struct {
		const char *file;
		const char *content;
		const char *says;
	} cases[] = {
	        {"measures.json", NULL, "measures.json: cannot read"},
	        {"measures.json", "{\"entries\": {\n  \"lvef\": {,}}}",
	         "measures.json: 2:12: not valid JSON"},
	        {"measures.json",
	         "{\"localSystem\": \"x\", \"entries\": {\"lvef\": {\"system\": "
	         "\"http://loinc.org\", "
	         "\"code\": \"1\", \"display\": \"x\", \"category\": \"imaging\", \"value\": "
	         "\"number\", "
	         "\"unit\": \"%\", \"min\": 10, \"max\": 0}}}",
	         "/entries/lvef needs unit, and min <= max"},
	        {"indications.json", "{\"entries\": {\"copd\": {\"display\": \"COPD\"}}}",
	         "/entries/copd/icd10cm"},
	        {"cell-types.json",
	         "{\"entries\": {\"msc\": {\"display\": \"MSC\", \"kind\": \"x\"}}}",
	         "/entries/msc/kind"},
	        {"routes.json",
	         "{\"entries\": {\"pv\": {\"display\": \"PV\", \"bodySite\": \"nowhere\"}}}",
	         "/entries/pv/bodySite"},
	        {"donor-types.json", "{\"entries\": {}}", "/entries is empty"},
	        {"record-fhir.json", "{\"extensions\": {}}", "needs canonicalBase"},
	        {"fhir-r4/structure.json", "{\"types\": 1}", "structure.json"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = spoiled(cases[i].file, cases[i].content);
		struct cg_mappings *m = NULL;
		char *why = NULL;

		assert_int_equal(cg_mappings_load(dir, &m, &why), CG_EMAPPINGS);
		assert_null(m);
		assert_non_null(why);
		if (!strstr(why, cases[i].says))
			fail_msg("case %zu: '%s' does not say '%s'", i, why, cases[i].says);
		free(why);
		remove_dir(dir);
	}
}

/* Every issue code maps to a code of FHIR's IssueType value set, so that
 * OperationOutcomes cellgate writes are valid. */
static void
issue_types_are_fhir_codes(void **state)
{
	const struct cg_mappings *m = test_mappings();
	const struct cg_fhir_type *t = cg_fhir_type(m->fhir, "OperationOutcome");
	const struct cg_fhir_context *ctx = cg_fhir_context(m->fhir, "OperationOutcome.issue");
	const struct cg_fhir_type *type;
	const struct cg_fhir_element *code;
	size_t idx = 0;
	int c;

	(void)state;
	assert_non_null(t);
	assert_non_null(ctx);
	code = cg_fhir_child(ctx, "code", &type, &idx);
	assert_non_null(code);
	assert_non_null(code->binding);
	for (c = 0; c < CG_C__COUNT; c++)
		if (!cg_fhir_valueset_has(code->binding, NULL, cg_code_fhir_type((enum cg_code)c)))
			fail_msg("%s: '%s' is not an IssueType", cg_code_name((enum cg_code)c),
			         cg_code_fhir_type((enum cg_code)c));
}

/* Type names fill fixed buffers (an item's type, a file name, a URL): the
 * loader refuses a table with a name that would not fit, and the real table's
 * longest name fits. */
static void
type_names_fit(void **state)
{
	static const char head[] = "{\"types\":{\"", tail[] = "\":{\"kind\":\"resource\","
	                                                      "\"elements\":{}}},\"valueSets\":{}}";
	struct cg_fhir_structure *s = NULL;
	char name[CG_FHIR_TYPE_NAME_MAX + 1], path[64] = "/tmp/cg-structure-XXXXXX", *why = NULL;
	int fd;
	FILE *f;

	(void)state;
	memset(name, 'A', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "%s%s%s", head, name, tail);
	fclose(f);
	assert_int_equal(cg_fhir_structure_load(path, &s, &why), CG_EMAPPINGS);
	assert_null(s);
	assert_non_null(why);
	assert_non_null(strstr(why, "CG_FHIR_TYPE_NAME_MAX"));
	free(why);
	why = NULL;
	/* One shorter fits. */
	name[CG_FHIR_TYPE_NAME_MAX - 1] = '\0';
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s%s%s", head, name, tail);
	fclose(f);
	assert_int_equal(cg_fhir_structure_load(path, &s, &why), CG_OK);
	assert_non_null(cg_fhir_type(s, name));
	cg_fhir_structure_free(s);
	unlink(path);
	/* The real table: MedicinalProductUndesirableEffect and all. */
	{
		char real[4096];

		snprintf(real, sizeof(real), "%s/fhir-r4/structure.json", CG_TEST_MAPPINGS);
		assert_int_equal(cg_fhir_structure_load(real, &s, &why), CG_OK);
		assert_non_null(cg_fhir_type(s, "MedicinalProductUndesirableEffect"));
		cg_fhir_structure_free(s);
	}
}

/* The core profile R4 gives an element's type (SimpleQuantity, whose sqty-1
 * the invariants evaluate there) is loaded onto the element, for that type
 * only; a table whose profiles name a type the element does not have is
 * refused. */
static void
profiles_of_types(void **state)
{
	const struct cg_mappings *m = test_mappings();
	const struct cg_fhir_type *quantity = cg_fhir_type(m->fhir, "Quantity");
	const struct cg_fhir_type *simple = cg_fhir_type(m->fhir, "SimpleQuantity");
	const struct cg_fhir_type *type;
	const struct cg_fhir_element *el;
	struct cg_fhir_structure *s = NULL;
	char path[64] = "/tmp/cg-structure-XXXXXX", *why = NULL;
	size_t idx = 0;
	int fd;
	FILE *f;

	(void)state;
	assert_non_null(quantity);
	assert_non_null(simple);
	el = cg_fhir_child(cg_fhir_context(m->fhir, "Observation.referenceRange"), "low", &type,
	                   &idx);
	assert_non_null(el);
	assert_ptr_equal(el->profile, simple);
	assert_ptr_equal(el->profiled, quantity);
	idx = 0;
	el = cg_fhir_child(cg_fhir_context(m->fhir, "Observation"), "valueQuantity", &type, &idx);
	assert_non_null(el);
	assert_null(el->profile);
	idx = 0;
	el = cg_fhir_child(cg_fhir_context(m->fhir, "Dosage.doseAndRate"), "doseRange", &type,
	                   &idx);
	assert_non_null(el);
	assert_ptr_equal(el->profiled, quantity); /* its Quantity, not its Range */
	assert_ptr_not_equal(type, quantity);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "{\"types\":{\"Quantity\":{\"kind\":\"complex-type\",\"elements\":{}},"
	           "\"R\":{\"kind\":\"resource\",\"elements\":{\"q\":{\"min\":0,\"max\":"
	           "\"1\",\"type\":[\"Quantity\"],\"profiles\":{\"Range\":\"Quantity\"}}}}},"
	           "\"valueSets\":{}}");
	fclose(f);
	assert_int_equal(cg_fhir_structure_load(path, &s, &why), CG_EMAPPINGS);
	assert_null(s);
	assert_non_null(why);
	assert_non_null(strstr(why, "R.q: profiles"));
	free(why);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(lookups),
	        cmocka_unit_test(table_snomed_ids_are_well_formed),
	        cmocka_unit_test(identifier_forms),
	        cmocka_unit_test(broken_tables),
	        cmocka_unit_test(issue_types_are_fhir_codes),
	        cmocka_unit_test(type_names_fit),
	        cmocka_unit_test(profiles_of_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
