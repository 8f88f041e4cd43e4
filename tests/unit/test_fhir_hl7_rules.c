/*
 * test_fhir_hl7_rules.c: the rules the HL7 reference validator applies
 * beyond the invariants (issue 15), each with an input that breaks it
 * (exact code and JSON pointer) and one that keeps it: narrative XHTML,
 * Bundle entries and references, Attachments. Cases are edits of the
 * samples in tests/data/fhir/, validated through the whole pipeline, as in
 * test_fhir_rules.c.
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
#define DIV   "<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">"

#define EHR "https://ehr.example.org/fhir/"
#define U0  "urn:uuid:5b3b5a7e-8f3a-4d2b-9c1e-1f2a3b4c5d6e"
#define U1  "urn:uuid:0c2d1e4f-6a7b-4c8d-9e0f-a1b2c3d4e5f6"
#define U9  "urn:uuid:00000000-0000-4000-8000-000000000000"
#define PROC_P1                                                                                    \
	"{\"resourceType\": \"Procedure\", \"id\": \"p1\", \"status\": \"completed\", "            \
	"\"subject\": {\"reference\": \"Patient/1\"}}"
/* A Composition whose section refers to ref (JSON text). */
#define COMPOSITION(ref)                                                                           \
	"{\"resourceType\": \"Composition\", \"status\": \"final\", \"type\": {\"text\": \"x\"}, " \
	"\"date\": \"2024-09-05\", \"author\": [{\"display\": \"a\"}], \"title\": \"t\", "         \
	"\"section\": [{\"title\": \"s\", \"entry\": [{\"reference\": " ref "}]}]}"
/* Patient.photo: "hello" as data, with the size and hash given. */
#define PHOTO(size, hash)                                                                          \
	"[{\"contentType\": \"text/plain\", \"data\": \"aGVsbG8=\", \"size\": " size               \
	", \"hash\": \"" hash "\"}]"

enum base { OBS, PROC, BUNDLE };

struct fhir_case {
	const char *name;
	enum base base;
	struct test_op ops[10];
	enum cg_code code;
	const char *path;
	int only;
};

static const struct fhir_case cases[] = {
        /* narrative */
        {"narrative with formatting",
         OBS,
         {SET("/text/div", "\"" DIV "<p>LVEF <b>38.5 %</b></p><ul><li>CMR</li></ul></div>\"")},
         VALID,
         NULL,
         0},
        {"narrative with a script",
         OBS,
         {SET("/text/div", "\"" DIV "<script>alert(1)</script>x</div>\"")},
         CG_C_FHIR_NARRATIVE,
         "/text/div",
         1},
        {"narrative with an event attribute",
         OBS,
         {SET("/text/div", "\"" DIV "<p onclick=\\\"x()\\\">x</p></div>\"")},
         CG_C_FHIR_NARRATIVE,
         "/text/div",
         1},
        {"narrative with a javascript: link",
         OBS,
         {SET("/text/div", "\"" DIV "<a href=\\\"javascript:x()\\\">x</a></div>\"")},
         CG_C_FHIR_NARRATIVE,
         "/text/div",
         1},
        {"narrative not well-formed",
         OBS,
         {SET("/text/div", "\"" DIV "<p>x</div>\"")},
         CG_C_FHIR_NARRATIVE,
         "/text/div",
         1},
        {"narrative without its namespace",
         OBS,
         {SET("/text/div", "\"<div>x</div>\"")},
         CG_C_FHIR_NARRATIVE,
         "/text/div",
         1},
        {"narrative empty",
         OBS,
         {SET("/text/div", "\"" DIV " </div>\"")},
         CG_C_FHIR_NARRATIVE,
         "/text/div",
         1},
        {"narrative of a contained resource",
         PROC,
         {SET("/contained/0/text",
              "{\"status\": \"generated\", \"div\": \"" DIV "<form>x</form></div>\"}")},
         CG_C_FHIR_NARRATIVE,
         "/contained/0/text/div",
         1},
        {"narrative in a Bundle entry",
         BUNDLE,
         {SET("/entry/0/resource/text",
              "{\"status\": \"generated\", \"div\": \"" DIV "a&nbsp;b</div>\"}")},
         CG_C_FHIR_NARRATIVE,
         "/entry/0/resource/text/div",
         1},
        {"narrative with an external image",
         OBS,
         {SET("/text/div", "\"" DIV "<img src=\\\"https://example.org/a.png\\\"/></div>\"")},
         CG_C_FHIR_NARRATIVE_WARNING,
         "/text/div",
         1},
        {"narrative with a contained image",
         OBS,
         {SET("/text/div", "\"" DIV "<img src=\\\"#pic\\\"/></div>\"")},
         VALID,
         NULL,
         0},
        /* Bundles: fullUrl and id */
        {"RESTful fullUrl of the resource",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/fullUrl", "\"" EHR "Procedure/p1\""), SET("/entry/0/resource/id", "\"p1\""),
          SET("/entry/1/resource/focus/0/reference", "\"" EHR "Procedure/p1\"")},
         VALID,
         NULL,
         0},
        {"RESTful fullUrl with another id",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/fullUrl", "\"" EHR "Procedure/p1\""), SET("/entry/0/resource/id", "\"p2\""),
          SET("/entry/1/resource/focus/0/reference", "\"" EHR "Procedure/p1\"")},
         CG_C_FHIR_BUNDLE,
         "/entry/0/fullUrl",
         1},
        {"RESTful fullUrl of another type",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/fullUrl", "\"" EHR "Observation/p1\""),
          SET("/entry/0/resource/id", "\"p1\""), DEL("/entry/1/resource/focus")},
         CG_C_FHIR_BUNDLE,
         "/entry/0/fullUrl",
         1},
        {"RESTful fullUrl without id",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/fullUrl", "\"" EHR "Procedure/p1\""), DEL("/entry/1/resource/focus")},
         CG_C_FHIR_BUNDLE,
         "/entry/0/resource/id",
         1},
        {"urn:uuid fullUrl with any id",
         BUNDLE,
         {SET("/entry/0/resource/id", "\"p1\"")},
         VALID,
         NULL,
         0},

        /* Bundles: identities */
        {"the same Type/id twice",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/resource/id", "\"p1\""), SET("/entry/1/resource", PROC_P1)},
         CG_C_FHIR_BUNDLE,
         "/entry/1/resource",
         1},
        {"the same Type/id in two versions",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/resource/id", "\"p1\""), SET("/entry/1/resource", PROC_P1),
          SET("/entry/0/resource/meta", "{\"versionId\": \"1\"}"),
          SET("/entry/1/resource/meta", "{\"versionId\": \"2\"}")},
         VALID,
         NULL,
         0},
        {"the same Type/id in a transaction's POSTs",
         BUNDLE,
         {SET("/entry/0/resource/id", "\"p1\""), SET("/entry/1/resource", PROC_P1)},
         VALID,
         NULL,
         0},
        {"a transaction changing one resource twice",
         BUNDLE,
         {SET("/entry/0/request", "{\"method\": \"PUT\", \"url\": \"Procedure/p1\"}"),
          SET("/entry/1/request", "{\"method\": \"DELETE\", \"url\": \"Procedure/p1\"}")},
         CG_C_FHIR_BUNDLE,
         "/entry/1/request",
         1},

        /* Bundles: references */
        {"urn:uuid no entry has, in a collection",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/1/resource/focus/0/reference", "\"" U9 "\"")},
         CG_C_FHIR_REFERENCE_UNRESOLVED,
         "/entry/1/resource/focus/0/reference",
         1},
        {"urn:uuid no entry has, in a batch",
         BUNDLE,
         {SET("/type", "\"batch\""), SET("/entry/1/resource/focus/0/reference", "\"" U9 "\"")},
         CG_C_FHIR_REFERENCE_UNRESOLVED,
         "/entry/1/resource/focus/0/reference",
         1},
        {"relative reference against a RESTful fullUrl",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/fullUrl", "\"" EHR "Procedure/p1\""), SET("/entry/0/resource/id", "\"p1\""),
          SET("/entry/1/fullUrl", "\"" EHR "Observation/o1\""),
          SET("/entry/1/resource/id", "\"o1\""),
          SET("/entry/1/resource/focus/0/reference", "\"Procedure/p1\"")},
         VALID,
         NULL,
         0},
        {"reference naming another type than it resolves to",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/fullUrl", "\"" EHR "Observation/p1\""),
          SET("/entry/0/resource/id", "\"p1\""),
          SET("/entry/1/resource/focus/0/reference", "\"" EHR "Observation/p1\"")},
         CG_C_FHIR_REFERENCE,
         "/entry/1/resource/focus/0/reference",
         0},
        {"reference to two versions",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/1/fullUrl", "\"" U0 "\""),
          SET("/entry/0/resource/meta", "{\"versionId\": \"1\"}"),
          SET("/entry/1/resource/meta", "{\"versionId\": \"2\"}")},
         CG_C_FHIR_REFERENCE,
         "/entry/1/resource/focus/0/reference",
         1},
        {"version-specific reference",
         BUNDLE,
         {SET("/type", "\"collection\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/1/fullUrl", "\"" U0 "\""),
          SET("/entry/0/resource/meta", "{\"versionId\": \"1\"}"),
          SET("/entry/1/resource/meta", "{\"versionId\": \"2\"}"),
          SET("/entry/1/resource/focus/0/reference", "\"" U0 "/_history/1\"")},
         VALID,
         NULL,
         0},

        /* documents */
        {"document whose Composition refers to its entries",
         BUNDLE,
         {SET("/type", "\"document\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/resource", COMPOSITION("\"" U1 "\"")), DEL("/entry/1/resource/focus")},
         VALID,
         NULL,
         0},
        {"document whose Composition refers to an entry by Type/id",
         BUNDLE,
         {SET("/type", "\"document\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/resource", COMPOSITION("\"Observation/o1\"")),
          SET("/entry/0/fullUrl", "\"" EHR "Composition/c1\""),
          SET("/entry/0/resource/id", "\"c1\""),
          SET("/entry/1/fullUrl", "\"" EHR "Observation/o1\""),
          SET("/entry/1/resource/id", "\"o1\""), DEL("/entry/1/resource/focus")},
         VALID,
         NULL,
         0},
        {"document whose Composition refers outside",
         BUNDLE,
         {SET("/type", "\"document\""), DEL("/entry/0/request"), DEL("/entry/1/request"),
          SET("/entry/0/resource", COMPOSITION("\"Observation/x\"")),
          DEL("/entry/1/resource/focus")},
         CG_C_FHIR_REFERENCE,
         "/entry/0/resource/section/0/entry/0/reference",
         1},

        /* Attachments */
        {"attachment size and hash of its data",
         PROC,
         {SET("/contained/0/photo", PHOTO("5", "qvTGHdzF6KLavt4PO0gs2a6pQ00="))},
         VALID,
         NULL,
         0},
        {"attachment size not that of its data",
         PROC,
         {SET("/contained/0/photo", PHOTO("6", "qvTGHdzF6KLavt4PO0gs2a6pQ00="))},
         CG_C_FHIR_ATTACHMENT,
         "/contained/0/photo/0/size",
         1},
        {"attachment hash not that of its data",
         PROC,
         {SET("/contained/0/photo", PHOTO("5", "1Lqq16aKN5seEz4P6gYDBRsBJMo="))},
         CG_C_FHIR_ATTACHMENT,
         "/contained/0/photo/0/hash",
         1},
        {"attachment hash not a SHA-1",
         PROC,
         {SET("/contained/0/photo", PHOTO("5", "aGVsbG8="))},
         CG_C_FHIR_ATTACHMENT,
         "/contained/0/photo/0/hash",
         1},
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
	failed = _cmocka_run_group_tests("FHIR rules of the HL7 validator", tests, n, NULL, NULL);
	free(tests);
	for (i = 0; i < 3; i++)
		free(bases[i]);
	return failed;
}
