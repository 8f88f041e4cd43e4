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
