/* test_consent_fhir.c: research consent read from FHIR input (issue 12):
 * Consent resources, the record's consent extension, and both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "consent_fhir.h"
#include "support.h"

#define REG "STEMCELL-REG"
/* 2025-06-01T00:00:00Z: "now" for every case, so that periods do not age */
#define NOW 1748736000000LL

#define RESEARCH                                                                                   \
	"{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/consentscope\","         \
	"\"code\":\"research\"}]}"
#define PRIVACY                                                                                    \
	"{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/consentscope\","         \
	"\"code\":\"patient-privacy\"}]}"
#define EXT_URL "http://cellgate.example.org/fhir/StructureDefinition/stemcell-record"

static char consent_buf[4][2048];

/* A Consent: status, scope, and its provision's members as JSON text. */
static const char *
consent(int slot, const char *status, const char *scope, const char *provision)
{
	snprintf(consent_buf[slot], sizeof(consent_buf[slot]),
	         "{\"resourceType\":\"Consent\",\"status\":\"%s\",\"scope\":%s,"
	         "\"category\":[{\"coding\":[{\"system\":\"http://"
	         "loinc.org\",\"code\":\"59284-0\"}]}],"
	         "\"patient\":{\"identifier\":{\"system\":\"urn:mrn\",\"value\":\"42\"}},"
	         "\"dateTime\":\"2024-03-04T10:00:00+01:00\",\"provision\":{%s}}",
	         status, scope, provision);
	return consent_buf[slot];
}

/* An actor naming registry id. */
#define ACTOR(id)                                                                                  \
	"{\"role\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"              \
	"v3-ParticipationType\",\"code\":\"IRCP\"}]},\"reference\":{\"identifier\":{\"system\":"   \
	"\"urn:registry\",\"value\":\"" id "\"}}}"

static char proc_buf[2][2048];

/* A Procedure with the record extension's consent sub-extensions (JSON
 * text of the sub-extension list), or none when NULL. */
static const char *
procedure(int slot, const char *consent_exts)
{
	char ext[1536] = "";

	if (consent_exts)
		snprintf(ext, sizeof(ext),
		         ",\"extension\":[{\"url\":\"" EXT_URL "\",\"extension\":["
		         "{\"url\":\"schemaVersion\",\"valueString\":\"1.0\"},"
		         "{\"url\":\"consent\",\"extension\":[%s]}]}]",
		         consent_exts);
	snprintf(proc_buf[slot], sizeof(proc_buf[slot]),
	         "{\"resourceType\":\"Procedure\",\"status\":\"completed\","
	         "\"subject\":{\"identifier\":{\"system\":\"urn:mrn\",\"value\":\"42\"}}%s}",
	         ext);
	return proc_buf[slot];
}

#define EXT_PERMIT(reg)                                                                            \
	"{\"url\":\"research\",\"valueBoolean\":true},{\"url\":\"registries\",\"valueString\":"    \
	"\"" reg "\"},{\"url\":\"date\",\"valueDate\":\"2023-01-02\"}"
#define EXT_REFUSE                                                                                 \
	"{\"url\":\"research\",\"valueBoolean\":false},{\"url\":\"date\",\"valueDate\":\"2023-05-" \
	"06\"}"

static char bundle_text[8192];

/* A transaction Bundle of up to three resources (NULL ends). */
static const char *
bundle(const char *a, const char *b, const char *c)
{
	const char *r[] = {a, b, c};
	size_t i, n;

	n = (size_t)snprintf(bundle_text, sizeof(bundle_text),
	                     "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[");
	for (i = 0; i < 3 && r[i]; i++)
		n += (size_t)snprintf(bundle_text + n, sizeof(bundle_text) - n,
		                      "%s{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
		                      "\"X\"}}",
		                      i ? "," : "", r[i]);
	snprintf(bundle_text + n, sizeof(bundle_text) - n, "]}");
	return bundle_text;
}

/* The consent text gives is want (compact JSON, or "null" for none). */
static void
expect(const char *text, const char *want)
{
	cJSON *root = cJSON_Parse(text), *c;
	char *got;

	assert_non_null(root);
	c = cg_consent_from_fhir(root, test_mappings(), NULL, NOW);
	got = c ? cJSON_PrintUnformatted(c) : NULL;
	if (strcmp(got ? got : "null", want) != 0)
		fprintf(stderr, "input: %s\n", text);
	assert_string_equal(got ? got : "null", want);
	cJSON_free(got);
	cJSON_Delete(c);
	cJSON_Delete(root);
}

static void
permit_naming_the_registry(void **state)
{
	(void)state;
	expect(bundle(procedure(0, NULL),
	              consent(0, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	              NULL),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2024-03-04\"}");
	/* a lone Consent too */
	expect(consent(0, "active", RESEARCH, "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2024-03-04\"}");
}

static void
permit_naming_another(void **state)
{
	(void)state;
	expect(bundle(consent(0, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR("OTHER-REG") "]"),
	              NULL, NULL),
	       "{\"research\":true,\"registries\":[\"OTHER-REG\"],\"date\":\"2024-03-04\"}");
	/* a permit that names no one covers no registry */
	expect(bundle(consent(0, "active", RESEARCH, "\"type\":\"permit\""), NULL, NULL),
	       "{\"research\":true,\"registries\":[],\"date\":\"2024-03-04\"}");
}

static void
nested_deny_takes_a_registry_out(void **state)
{
	(void)state;
	expect(bundle(consent(0, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "," ACTOR(
	                              "OTHER-REG") "],\"provision\":[{\"type\":\"deny\",\"actor\":"
	                                           "[" ACTOR(REG) "]}]"),
	              NULL, NULL),
	       "{\"research\":true,\"registries\":[\"OTHER-REG\"],\"date\":\"2024-03-04\"}");
	/* a deny in one Consent holds against a permit in another */
	expect(bundle(consent(0, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	              consent(1, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(
	                              "OTHER-REG") "],\"provision\":[{\"type\":\"deny\",\"actor\":"
	                                           "[" ACTOR(REG) "]}]"),
	              NULL),
	       "{\"research\":true,\"registries\":[\"OTHER-REG\"],\"date\":\"2024-03-04\"}");
}

static void
top_level_deny_refuses(void **state)
{
	(void)state;
	expect(bundle(consent(0, "active", RESEARCH,
	                      "\"type\":\"deny\",\"actor\":[" ACTOR("OTHER-REG") "]"),
	              NULL, NULL),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	/* one refusal among several Consents wins */
	expect(bundle(consent(0, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	              consent(1, "active", RESEARCH, "\"type\":\"deny\""), NULL),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	/* a provision without a type permits nothing */
	expect(consent(0, "active", RESEARCH, "\"actor\":[" ACTOR(REG) "]"),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
}

static void
period_must_cover_now(void **state)
{
	(void)state;
	/* ended before now */
	expect(consent(0, "active", RESEARCH,
	               "\"type\":\"permit\",\"actor\":[" ACTOR(
	                       REG) "],\"period\":{\"start\":\"2020-01-01\",\"end\":\"2025-05-"
	                            "31\"}"),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	/* starts after now */
	expect(consent(0, "active", RESEARCH,
	               "\"type\":\"permit\",\"actor\":[" ACTOR(
	                       REG) "],\"period\":{\"start\":\"2025-06-01T02:00:01+02:00\"}"),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	/* a bound that is not a full date or date-time: not known to cover */
	expect(consent(0, "active", RESEARCH,
	               "\"type\":\"permit\",\"actor\":[" ACTOR(
	                       REG) "],\"period\":{\"end\":\"2030\"}"),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	/* covers now: the end date counts whole, the start instant is now */
	expect(consent(0, "active", RESEARCH,
	               "\"type\":\"permit\",\"actor\":[" ACTOR(
	                       REG) "],\"period\":{\"start\":\"2025-06-01T02:00:00+02:00\","
	                            "\"end\":\"2025-06-01\"}"),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2024-03-04\"}");
}

static void
status_decides_whether_it_counts(void **state)
{
	(void)state;
	expect(consent(0, "rejected", RESEARCH, "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	expect(consent(0, "inactive", RESEARCH, "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	/* not (yet, or ever) said: as if absent */
	expect(consent(0, "draft", RESEARCH, "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	       "null");
	expect(bundle(consent(0, "proposed", RESEARCH, "\"type\":\"deny\""),
	              consent(1, "entered-in-error", RESEARCH, "\"type\":\"deny\""),
	              procedure(0, EXT_PERMIT(REG))),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2023-01-02\"}");
}

static void
other_scopes_are_ignored(void **state)
{
	(void)state;
	expect(consent(0, "active", PRIVACY, "\"type\":\"deny\""), "null");
	expect(bundle(consent(0, "active", PRIVACY, "\"type\":\"deny\""),
	              consent(1, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	              NULL),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2024-03-04\"}");
}

static void
extension_only(void **state)
{
	(void)state;
	expect(bundle(procedure(0, EXT_PERMIT(REG)), NULL, NULL),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2023-01-02\"}");
	expect(bundle(procedure(0, EXT_REFUSE), NULL, NULL),
	       "{\"research\":false,\"registries\":[],\"date\":\"2023-05-06\"}");
	/* two Procedures: only the registries both name */
	expect(bundle(procedure(0, EXT_PERMIT(REG)), procedure(1, EXT_PERMIT("OTHER-REG")), NULL),
	       "{\"research\":true,\"registries\":[],\"date\":\"2023-01-02\"}");
}

static void
both_and_a_refusal_wins(void **state)
{
	(void)state;
	/* the Consent permits, the extension refuses */
	expect(bundle(procedure(0, EXT_REFUSE),
	              consent(0, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	              NULL),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	/* the extension permits, the Consent refuses */
	expect(bundle(procedure(0, EXT_PERMIT(REG)),
	              consent(0, "active", RESEARCH, "\"type\":\"deny\""), NULL),
	       "{\"research\":false,\"registries\":[],\"date\":\"2024-03-04\"}");
	/* both permit: the Consent's registries decide */
	expect(bundle(procedure(0, EXT_PERMIT("OTHER-REG")),
	              consent(0, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	              NULL),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2024-03-04\"}");
}

static void
nothing_said_is_null(void **state)
{
	(void)state;
	expect(bundle(procedure(0, NULL),
	              "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{}}", NULL),
	       "null");
	expect("{\"resourceType\":\"Bundle\",\"type\":\"transaction\"}", "null");
	expect(procedure(0, NULL), "null");
	/* our extension from another canonical base is not ours */
	{
		char other[2048];
		char *got;
		cJSON *root, *c;

		snprintf(other, sizeof(other), "%s", procedure(0, EXT_PERMIT(REG)));
		root = cJSON_Parse(other);
		assert_non_null(root);
		c = cg_consent_from_fhir(root, test_mappings(), "https://elsewhere.example/fhir",
		                         NOW);
		assert_null(c);
		c = cg_consent_from_fhir(root, test_mappings(), "http://cellgate.example.org/fhir/",
		                         NOW);
		assert_non_null(c);
		got = cJSON_PrintUnformatted(c);
		assert_string_equal(got, "{\"research\":true,\"registries\":[\"" REG
		                         "\"],\"date\":\"2023-01-02\"}");
		cJSON_free(got);
		cJSON_Delete(c);
		cJSON_Delete(root);
	}
}

static void
lone_procedure_with_the_extension(void **state)
{
	(void)state;
	expect(procedure(0, EXT_PERMIT(REG)),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2023-01-02\"}");
	expect(procedure(0, EXT_REFUSE),
	       "{\"research\":false,\"registries\":[],\"date\":\"2023-05-06\"}");
}

/* A Consent counts for the patient it names only: another patient's
 * Consent in the Bundle does not cover this one, and every patient the
 * input is about needs a consent of their own. */
static void
only_the_patients_own_consent_counts(void **state)
{
	char other[2048], obs[512];
	char *p;

	(void)state;
	snprintf(other, sizeof(other), "%s",
	         consent(0, "active", RESEARCH, "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"));
	p = strstr(other, "\"value\":\"42\"");
	assert_non_null(p);
	memcpy(p, "\"value\":\"99\"", 12);
	/* the Procedure's patient is 42, the Consent is 99's */
	expect(bundle(procedure(0, NULL), other, NULL), "null");
	/* 42 consents; the Bundle also carries 99's Observation, without */
	snprintf(obs, sizeof(obs),
	         "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},"
	         "\"subject\":{\"identifier\":{\"system\":\"urn:mrn\",\"value\":\"99\"}}}");
	expect(bundle(procedure(0, NULL),
	              consent(1, "active", RESEARCH,
	                      "\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]"),
	              obs),
	       "null");
	/* each with their own (42 in the Procedure's extension): both covered */
	expect(bundle(procedure(0, EXT_PERMIT(REG)), other, obs),
	       "{\"research\":true,\"registries\":[\"" REG "\"],\"date\":\"2024-03-04\"}");
	/* a Procedure referring to its Patient entry by fullUrl is that
	 * Patient's, by the Patient's identifier */
	expect("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	       "{\"fullUrl\":\"urn:uuid:00000000-0000-4000-8000-000000000001\",\"resource\":"
	       "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:mrn\","
	       "\"value\":\"42\"}]}},"
	       "{\"resource\":{\"resourceType\":\"Procedure\",\"status\":\"completed\","
	       "\"subject\":{\"reference\":\"urn:uuid:00000000-0000-4000-8000-000000000001\"}}},"
	       "{\"resource\":{\"resourceType\":\"Consent\",\"status\":\"active\","
	       "\"scope\":" RESEARCH
	       ",\"patient\":{\"reference\":\"urn:uuid:00000000-0000-4000-8000-000000000001\"},"
	       "\"provision\":{\"type\":\"permit\",\"actor\":[" ACTOR(REG) "]}}}]}",
	       "{\"research\":true,\"registries\":[\"" REG "\"]}");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(permit_naming_the_registry),
	        cmocka_unit_test(permit_naming_another),
	        cmocka_unit_test(nested_deny_takes_a_registry_out),
	        cmocka_unit_test(top_level_deny_refuses),
	        cmocka_unit_test(period_must_cover_now),
	        cmocka_unit_test(status_decides_whether_it_counts),
	        cmocka_unit_test(other_scopes_are_ignored),
	        cmocka_unit_test(extension_only),
	        cmocka_unit_test(both_and_a_refusal_wins),
	        cmocka_unit_test(nothing_said_is_null),
	        cmocka_unit_test(lone_procedure_with_the_extension),
	        cmocka_unit_test(only_the_patients_own_consent_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
