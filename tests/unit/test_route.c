/* test_route.c: from method and path to an endpoint (route.h), without a
 * server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "answer.h"
#include "capability.h"
#include "map.h"
#include "route.h"
#include "settings.h"

static struct cg_dest_cfg dests[] = {
        {.name = "files", .type = CG_DEST_NDJSON, .folder = "var", .format = CG_PAYLOAD_FHIR},
        {.name = "registry",
         .type = CG_DEST_RECORDS,
         .url = "https://r",
         .format = CG_PAYLOAD_RECORD},
};
static struct cg_route_cfg routes[] = {
        {.method = "POST", .path = "/records", .accept = CG_PAYLOAD_RECORD, .dest = &dests[0]},
        {.method = "POST", .path = "/fhir", .accept = CG_PAYLOAD_FHIR, .dest = &dests[0]},
        {.method = "POST",
         .path = "/fhir-to-registry",
         .accept = CG_PAYLOAD_FHIR,
         .dest = &dests[1]},
        {.method = "POST", .path = "/check", .accept = CG_PAYLOAD_FHIR, .dest = NULL},
};
static struct cg_settings settings = {.routes = routes, .nroutes = 4};

static struct cg_match
match(enum cg_method m, const char *path)
{
	struct cg_match out;

	cg_route_match(&settings, m, path, &out);
	return out;
}

static void
bases_with_and_without_slash(void **state)
{
	struct cg_match a = match(CG_M_POST, "/fhir"), b = match(CG_M_POST, "/fhir/");

	(void)state;
	assert_int_equal(a.target, CG_T_INGEST);
	assert_int_equal(b.target, CG_T_INGEST);
	assert_ptr_equal(a.route, &routes[1]);
	assert_ptr_equal(b.route, &routes[1]);
	assert_true(a.method_ok && b.method_ok);
	assert_string_equal(b.type, "");
	assert_int_equal(match(CG_M_POST, "/records/").target, CG_T_INGEST);
	/* The longest route path wins, and a prefix is not a folder. */
	assert_ptr_equal(match(CG_M_POST, "/fhir-to-registry").route, &routes[2]);
	assert_int_equal(match(CG_M_POST, "/fhirx").target, CG_T_NONE);
	assert_int_equal(match(CG_M_POST, "/").target, CG_T_NONE);
}

static void
types_and_validate(void **state)
{
	struct cg_match m = match(CG_M_POST, "/fhir/Observation");

	(void)state;
	assert_int_equal(m.target, CG_T_INGEST);
	assert_string_equal(m.type, "Observation");
	m = match(CG_M_POST, "/fhir/Procedure/$validate");
	assert_int_equal(m.target, CG_T_VALIDATE);
	assert_string_equal(m.type, "Procedure");
	assert_true(m.method_ok);
	m = match(CG_M_POST, "/fhir/$validate");
	assert_int_equal(m.target, CG_T_VALIDATE);
	assert_string_equal(m.type, "");
	m = match(CG_M_GET, "/fhir/$validate");
	assert_false(m.method_ok);
	assert_string_equal(m.allow, "POST");
	/* Records routes have no types: /records/Procedure is nothing. */
	assert_int_equal(match(CG_M_POST, "/records/Procedure").target, CG_T_NONE);
}

static void
what_is_not_served(void **state)
{
	static const char *const paths[] = {"/fhir/Procedure/123", "/fhir/Patient",
	                                    "/fhir/Observation/1/_history/2",
	                                    "/fhir/Patient/$validate"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct cg_match m = match(CG_M_GET, paths[i]);

		assert_int_equal(m.target, CG_T_UNSERVED);
		assert_ptr_equal(m.route, &routes[1]);
	}
	/* A search is GET [base]/{type}: not served, its type said. */
	assert_int_equal(match(CG_M_GET, "/fhir/Procedure").target, CG_T_UNSERVED);
	assert_string_equal(match(CG_M_GET, "/fhir/Procedure").type, "Procedure");
	assert_false(match(CG_M_PUT, "/fhir/Procedure").method_ok);
}

static void
get_endpoints_take_head(void **state)
{
	static const char *const paths[] = {"/healthz",
	                                    "/readyz",
	                                    "/metrics",
	                                    "/fhir/metadata",
	                                    "/fhir/CodeSystem/cellgate-issue",
	                                    "/fhir/StructureDefinition/x"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_true(match(CG_M_GET, paths[i]).method_ok);
		assert_true(match(CG_M_HEAD, paths[i]).method_ok);
		assert_false(match(CG_M_POST, paths[i]).method_ok);
		assert_string_equal(match(CG_M_POST, paths[i]).allow, "GET, HEAD");
	}
	assert_int_equal(match(CG_M_GET, "/fhir/CodeSystem/cellgate-issue").target,
	                 CG_T_ISSUE_CODES);
	assert_string_equal(match(CG_M_GET, "/fhir/StructureDefinition/x").rest,
	                    "StructureDefinition/x");
}

/* What the CapabilityStatement may claim per route. */
static void
what_routes_claim(void **state)
{
	char s[1024];

	(void)state;
	assert_true(cg_capability_creates(&routes[1]));  /* FHIR resources to files */
	assert_false(cg_capability_creates(&routes[2])); /* to a records API */
	assert_true(cg_capability_forwards(&routes[2]));
	assert_false(cg_capability_forwards(&routes[3])); /* validation only */
	cg_capability_summary(&routes[2], s, sizeof(s));
	assert_non_null(strstr(s, "write-only"));
	assert_null(strstr(s, "(create)"));
	cg_capability_summary(&routes[3], s, sizeof(s));
	assert_non_null(strstr(s, "validates only"));
}

/* Which client a certificate's matches make, and whether it may use a
 * route: the route's own client wins over an earlier match. */
static void
authorization(void **state)
{
	static struct cg_client_cfg clients[] = {
	        {.name = "ehr"}, {.name = "registry"}, {.name = "lab"}};
	static size_t ehr_only[] = {0}, registry_only[] = {1};
	struct cg_route_cfg r1 = {.path = "/a", .clients = ehr_only, .nclients = 1};
	struct cg_route_cfg r2 = {.path = "/b", .clients = registry_only, .nclients = 1};
	struct cg_settings s = {.clients = clients, .nclients = 3};
	unsigned char none[3] = {0, 0, 0}, ehr[3] = {1, 0, 0}, both[3] = {1, 1, 0},
	              lab[3] = {0, 0, 1};
	const char *who;

	(void)state;
	assert_int_equal(cg_route_authorize(&s, &r1, ehr, &who), CG_AUTHZ_ALLOWED);
	assert_string_equal(who, "ehr");
	assert_int_equal(cg_route_authorize(&s, &r2, both, &who), CG_AUTHZ_ALLOWED);
	assert_string_equal(who, "registry");
	assert_int_equal(cg_route_authorize(&s, &r2, lab, &who), CG_AUTHZ_NOT_THIS_ROUTE);
	assert_string_equal(who, "lab");
	assert_int_equal(cg_route_authorize(&s, &r1, none, &who), CG_AUTHZ_UNKNOWN);
	assert_null(who);
}

/* Upstream statuses come back as they are: every registered one has its own
 * reason, others their class's. */
static void
answer_envelope(void **state)
{
	(void)state;
	assert_string_equal(cg_answer_reason(201), "Created");
	assert_string_equal(cg_answer_reason(409), "Conflict");
	assert_string_equal(cg_answer_reason(412), "Precondition Failed");
	assert_string_equal(cg_answer_reason(429), "Too Many Requests");
	assert_string_equal(cg_answer_reason(422), "Unprocessable Content");
	assert_string_equal(cg_answer_reason(499), "Client Error");
	assert_string_equal(cg_answer_reason(299), "Success");
	assert_string_equal(cg_answer_reason(600), "Error");
	assert_true(cg_answer_retry_after(503));
	assert_false(cg_answer_retry_after(500));
	assert_string_equal(cg_answer_issue_type(431), "too-costly");
	assert_string_equal(cg_answer_issue_type(505), "not-supported");
	assert_string_equal(cg_route_method_name(CG_M_PATCH), "PATCH");
	assert_string_equal(cg_route_method_name(CG_M_OTHER), "other");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(bases_with_and_without_slash),
	        cmocka_unit_test(types_and_validate),
	        cmocka_unit_test(what_is_not_served),
	        cmocka_unit_test(get_endpoints_take_head),
	        cmocka_unit_test(what_routes_claim),
	        cmocka_unit_test(authorization),
	        cmocka_unit_test(answer_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
