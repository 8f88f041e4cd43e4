/*
 * test_fhir_rules.c: every rule of the FHIR structural validator, each with
 * inputs that break it (exact code and JSON pointer) and inputs that keep
 * it. Cases are edits of the samples in tests/data/fhir/, validated through
 * the whole pipeline (the resourceType sends them to the FHIR validator).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "support.h"

#define VALID CG_C__COUNT

enum base { OBS, PROC, BUNDLE };

struct fhir_case {
	const char *name;
	enum base base;
	struct test_op ops[6];
	enum cg_code code;
	const char *path;
	int only;
};

static const struct fhir_case cases[] = {
        {"Observation sample", OBS, {{0}}, VALID, NULL, 0},
        {"Procedure sample", PROC, {{0}}, VALID, NULL, 0},
        {"transaction Bundle sample", BUNDLE, {{0}}, VALID, NULL, 0},

        /* resourceType */
        {"unknown resourceType",
         OBS,
         {SET("/resourceType", "\"Observations\"")},
         CG_C_FHIR_RESOURCE_TYPE,
         "/resourceType",
         1},
        {"abstract resourceType",
         OBS,
         {SET("/resourceType", "\"DomainResource\"")},
         CG_C_FHIR_RESOURCE_TYPE,
         "/resourceType",
         1},
        {"resource in a Bundle without resourceType",
         BUNDLE,
         {DEL("/entry/1/resource/resourceType")},
         CG_C_FHIR_RESOURCE_TYPE,
         "/entry/1/resource/resourceType",
         1},

        /* elements and cardinality */
        {"unknown element",
         OBS,
         {SET("/methd", "{\"text\": \"x\"}")},
         CG_C_UNKNOWN_FIELD,
         "/methd",
         1},
        {"unknown element in a datatype",
         OBS,
         {SET("/code/codding", "[]")},
         CG_C_UNKNOWN_FIELD,
         "/code/codding",
         1},
        {"unknown element in a backbone element",
         BUNDLE,
         {SET("/entry/0/request/verb", "\"POST\"")},
         CG_C_UNKNOWN_FIELD,
         "/entry/0/request/verb",
         1},
        {"missing required element",
         OBS,
         {DEL("/status"), DEL("/_status")},
         CG_C_REQUIRED,
         "/status",
         1},
        {"missing required element in a backbone",
         BUNDLE,
         {DEL("/entry/0/request/url")},
         CG_C_REQUIRED,
         "/entry/0/request/url",
         1},
        {"present only through its extension",
         OBS,
         {DEL("/status"),
          SET("/_status",
              "{\"extension\": [{\"url\": \"http://x.org/e\", \"valueCode\": \"f\"}]}")},
         VALID,
         NULL,
         0},
        {"duplicate element",
         OBS,
         {ADD("/status", "\"final\"")},
         CG_C_JSON_DUPLICATE_KEY,
         "/status",
         1},
        {"array for a single element",
         OBS,
         {SET("/subject", "[{\"reference\": \"Patient/1\"}]")},
         CG_C_FHIR_CARDINALITY,
         "/subject",
         1},
        {"single value for a repeating element",
         OBS,
         {SET("/code/coding", "{\"system\": \"http://loinc.org\", \"code\": \"10230-1\"}")},
         CG_C_FHIR_CARDINALITY,
         "/code/coding",
         1},
        {"empty array", OBS, {SET("/note", "[]")}, CG_C_EMPTY, "/note", 1},
        {"empty object", OBS, {SET("/method", "{}")}, CG_C_EMPTY, "/method", 1},
        {"empty string", OBS, {SET("/method/text", "\"\"")}, CG_C_EMPTY, "/method/text", 1},
        {"null in an array", OBS, {SET("/category/1", "null")}, CG_C_TYPE, "/category/1", 1},
        {"object expected", OBS, {SET("/code", "\"10230-1\"")}, CG_C_TYPE, "/code", 1},

        /* choice types */
        {"two types of one choice",
         OBS,
         {SET("/effectivePeriod", "{\"start\": \"2024-09-04\"}")},
         CG_C_FHIR_CHOICE,
         "/effectivePeriod",
         1},
        {"choice type the element does not have",
         OBS,
         {SET("/effectiveString", "\"x\"")},
         CG_C_UNKNOWN_FIELD,
         "/effectiveString",
         0},
        {"another allowed choice",
         OBS,
         {DEL("/valueQuantity"), SET("/valueCodeableConcept", "{\"text\": \"II\"}")},
         VALID,
         NULL,
         0},

        /* primitives */
        {"id with a space", OBS, {SET("/id", "\"lvef m6\"")}, CG_C_FHIR_FORMAT, "/id", 1},
        {"id of 65 characters",
         OBS,
         {SET("/id", "\"12345678901234567890123456789012345678901234567890123456789012345\"")},
         CG_C_FHIR_FORMAT,
         "/id",
         1},
        {"dateTime without zone",
         OBS,
         {SET("/effectiveDateTime", "\"2024-09-04T10:00:00\"")},
         CG_C_FHIR_FORMAT,
         "/effectiveDateTime",
         1},
        {"dateTime partial", OBS, {SET("/effectiveDateTime", "\"2024-09\"")}, VALID, NULL, 0},
        {"dateTime with zone",
         OBS,
         {SET("/effectiveDateTime", "\"2024-09-04T10:00:00.5-05:00\"")},
         VALID,
         NULL,
         0},
        {"date that does not exist",
         OBS,
         {SET("/effectiveDateTime", "\"2023-02-29\"")},
         CG_C_FHIR_FORMAT,
         "/effectiveDateTime",
         1},
        {"instant without seconds",
         OBS,
         {SET("/issued", "\"2024-09-04T10:00Z\"")},
         CG_C_FHIR_FORMAT,
         "/issued",
         1},
        {"instant", OBS, {SET("/issued", "\"2024-09-04T10:00:00Z\"")}, VALID, NULL, 0},
        {"decimal as string",
         OBS,
         {SET("/valueQuantity/value", "\"38.5\"")},
         CG_C_TYPE,
         "/valueQuantity/value",
         1},
        {"integer not whole",
         OBS,
         {DEL("/valueQuantity"), SET("/valueInteger", "1.5")},
         CG_C_FHIR_FORMAT,
         "/valueInteger",
         1},
        {"integer past 32 bits",
         OBS,
         {DEL("/valueQuantity"), SET("/valueInteger", "3000000000")},
         CG_C_FHIR_FORMAT,
         "/valueInteger",
         1},
        {"boolean as string",
         OBS,
         {DEL("/valueQuantity"), SET("/valueBoolean", "\"true\"")},
         CG_C_TYPE,
         "/valueBoolean",
         1},
        {"code with double space",
         OBS,
         {SET("/valueQuantity/code", "\"m  L\"")},
         CG_C_FHIR_FORMAT,
         "/valueQuantity/code",
         1},
        {"uri with a space",
         OBS,
         {SET("/code/coding/0/system", "\"http://loinc org\"")},
         CG_C_FHIR_FORMAT,
         "/code/coding/0/system",
         1},
        {"xhtml not a div",
         OBS,
         {SET("/text/div", "\"<p>LVEF</p>\"")},
         CG_C_FHIR_FORMAT,
         "/text/div",
         1},
        {"extension on a complex element",
         OBS,
         {SET("/_code", "{\"id\": \"x\"}")},
         CG_C_UNKNOWN_FIELD,
         "/_code",
         1},
        {"extension without url",
         OBS,
         {SET("/_status/extension/0", "{\"valueString\": \"F\"}")},
         CG_C_REQUIRED,
         "/_status/extension/0/url",
         1},

        /* bindings */
        {"status outside its value set",
         OBS,
         {SET("/status", "\"done\"")},
         CG_C_FHIR_BINDING,
         "/status",
         1},
        {"status amended", OBS, {SET("/status", "\"amended\"")}, VALID, NULL, 0},
        {"Bundle type outside its value set",
         BUNDLE,
         {SET("/type", "\"transactions\"")},
         CG_C_FHIR_BINDING,
         "/type",
         0},
        {"request method outside its value set",
         BUNDLE,
         {SET("/entry/0/request/method", "\"post\"")},
         CG_C_FHIR_BINDING,
         "/entry/0/request/method",
         1},
        {"Procedure status",
         PROC,
         {SET("/status", "\"finished\"")},
         CG_C_FHIR_BINDING,
         "/status",
         1},

        /* references */
        {"reference to a type not allowed",
         OBS,
         {SET("/subject", "{\"reference\": \"Medication/1\"}")},
         CG_C_FHIR_REFERENCE,
         "/subject/reference",
         1},
        {"reference to a type that does not exist",
         OBS,
         {SET("/subject", "{\"reference\": \"Patients/1\"}")},
         CG_C_FHIR_REFERENCE,
         "/subject/reference",
         1},
        {"reference that is not one",
         OBS,
         {SET("/subject", "{\"reference\": \"patient 1\"}")},
         CG_C_FHIR_REFERENCE,
         "/subject/reference",
         1},
        {"reference to a Group",
         OBS,
         {SET("/subject", "{\"reference\": \"Group/g1\"}")},
         VALID,
         NULL,
         0},
        {"absolute reference",
         OBS,
         {SET("/subject", "{\"reference\": \"https://ehr.example.org/fhir/Patient/1\"}")},
         VALID,
         NULL,
         0},
        {"contained reference",
         PROC,
         {SET("/subject", "{\"reference\": \"#p1\"}")},
         VALID,
         NULL,
         0},
        {"Bundle reference to no entry",
         BUNDLE,
         {SET("/entry/1/resource/focus/0/reference",
              "\"urn:uuid:00000000-0000-4000-8000-000000000000\"")},
         CG_C_FHIR_REFERENCE,
         "/entry/1/resource/focus/0/reference",
         1},

        /* Bundle rules */
        {"transaction entry without request",
         BUNDLE,
         {DEL("/entry/1/request")},
         CG_C_FHIR_BUNDLE,
         "/entry/1/request",
         1},
        {"collection entries need no request",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request")},
         VALID,
         NULL,
         0},
        {"fullUrl twice",
         BUNDLE,
         {SET("/entry/1/fullUrl", "\"urn:uuid:5b3b5a7e-8f3a-4d2b-9c1e-1f2a3b4c5d6e\"")},
         CG_C_FHIR_BUNDLE,
         "/entry/1/fullUrl",
         0},
        {"relative fullUrl",
         BUNDLE,
         {SET("/entry/1/fullUrl", "\"Observation/1\"")},
         CG_C_FHIR_BUNDLE,
         "/entry/1/fullUrl",
         0},
        {"total outside a searchset", BUNDLE, {SET("/total", "2")}, CG_C_FHIR_BUNDLE, "/total", 1},
        {"response in a transaction",
         BUNDLE,
         {SET("/entry/0/response", "{\"status\": \"201\"}")},
         CG_C_FHIR_BUNDLE,
         "/entry/0/response",
         1},

        /* invariants */
        /* obs-6, obs-7 and dom-2 broken are the invariants' (fhir_invariants.c,
         * ctest fhir/invariants); the structure alone accepts them. */
        {"obs-6: dataAbsentReason alone",
         OBS,
         {DEL("/valueQuantity"), SET("/dataAbsentReason", "{\"text\": \"not done\"}")},
         VALID,
         NULL,
         0},
        {"component with another code",
         OBS,
         {SET("/component",
              "[{\"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": "
              "\"8867-4\"}]}, \"valueQuantity\": {\"value\": 1}}]")},
         VALID,
         NULL,
         0},
};

static char *bases[3];

static void
run_case(void **state)
{
	const struct fhir_case *c = *state;
	char *text = test_mutate(bases[c->base], c->ops);

	test_check_case(text, c->code, c->path, c->only);
	free(text);
}

int
main(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]), i;
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int failed;

	bases[OBS] = test_read_data("fhir/observation-lvef.json");
	bases[PROC] = test_read_data("fhir/procedure-msc.json");
	bases[BUNDLE] = test_read_data("fhir/bundle-transaction.json");
	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)(uintptr_t)&cases[i];
	}
	failed = _cmocka_run_group_tests("FHIR rules", tests, n, NULL, NULL);
	free(tests);
	for (i = 0; i < 3; i++)
		free(bases[i]);
	return failed;
}
