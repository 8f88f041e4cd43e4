/* test_order_key.c: the patient an item is about, as the outbox's ordering key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "order_key.h"

static enum cg_err
key_of(const char *json, char out[CG_UUID_STRLEN + 1])
{
	cJSON *root = cJSON_Parse(json);
	enum cg_err err;

	assert_non_null(root);
	err = cg_order_key(root, out);
	cJSON_Delete(root);
	return err;
}

/* A record, its Procedure (subject by identifier), the Bundle it maps to and
 * the Patient: one patient, one key; another patient, another key. */
static void
one_patient_one_key(void **state)
{
	char rec[CG_UUID_STRLEN + 1], proc[CG_UUID_STRLEN + 1], bundle[CG_UUID_STRLEN + 1],
	        pat[CG_UUID_STRLEN + 1], other[CG_UUID_STRLEN + 1];

	(void)state;
	assert_int_equal(key_of("{\"recordId\":\"R1\",\"patient\":{\"identifiers\":[{\"system\":"
	                        "\"urn:mrn\",\"value\":\"42\"},{\"system\":\"urn:reg\",\"value\":"
	                        "\"7\"}]}}",
	                        rec),
	                 CG_OK);
	assert_int_equal(key_of("{\"resourceType\":\"Procedure\",\"subject\":{\"identifier\":{"
	                        "\"system\":\"urn:mrn\",\"value\":\"42\"}}}",
	                        proc),
	                 CG_OK);
	assert_int_equal(key_of("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	                        "{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{"
	                        "\"identifier\":{\"system\":\"urn:mrn\",\"value\":\"42\"}}}}]}",
	                        bundle),
	                 CG_OK);
	assert_int_equal(key_of("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":"
	                        "\"urn:mrn\",\"value\":\"42\"}]}",
	                        pat),
	                 CG_OK);
	assert_string_equal(rec, proc);
	assert_string_equal(rec, bundle);
	assert_string_equal(rec, pat);
	assert_int_equal(key_of("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":"
	                        "\"urn:mrn\",\"value\":\"43\"}]}",
	                        other),
	                 CG_OK);
	assert_string_not_equal(rec, other);
	/* the identifier itself is not in the key */
	assert_null(strstr(rec, "42"));
}

/* A Bundle's Patient says who before a reference does; a reference without
 * an identifier is a key of its own, never the same as an identifier's. */
static void
bundle_patient_and_references(void **state)
{
	char a[CG_UUID_STRLEN + 1], b[CG_UUID_STRLEN + 1], c[CG_UUID_STRLEN + 1];

	(void)state;
	assert_int_equal(key_of("{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{"
	                        "\"resourceType\":\"Observation\",\"subject\":{\"reference\":"
	                        "\"Patient/9\"}}},{\"resource\":{\"resourceType\":\"Patient\","
	                        "\"identifier\":[{\"system\":\"s\",\"value\":\"v\"}]}}]}",
	                        a),
	                 CG_OK);
	assert_int_equal(key_of("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"s\","
	                        "\"value\":\"v\"}]}",
	                        b),
	                 CG_OK);
	assert_string_equal(a, b);
	assert_int_equal(key_of("{\"resourceType\":\"Observation\",\"subject\":{\"reference\":"
	                        "\"Patient/9\"}}",
	                        c),
	                 CG_OK);
	assert_string_not_equal(a, c);
	/* a bar in a system is not where the system ends */
	assert_int_equal(key_of("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":"
	                        "\"a|b\",\"value\":\"c\"}]}",
	                        a),
	                 CG_OK);
	assert_int_equal(key_of("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":"
	                        "\"a\",\"value\":\"b|c\"}]}",
	                        b),
	                 CG_OK);
	assert_string_not_equal(a, b);
}

/* About no patient: CG_ENOENT, the caller's key. */
static void
no_patient(void **state)
{
	char k[CG_UUID_STRLEN + 1];

	(void)state;
	assert_int_equal(key_of("{\"resourceType\":\"Organization\",\"name\":\"x\"}", k),
	                 CG_ENOENT);
	assert_int_equal(key_of("{\"resourceType\":\"Bundle\",\"entry\":[]}", k), CG_ENOENT);
	assert_int_equal(key_of("{\"recordId\":\"R\",\"patient\":{\"identifiers\":[]}}", k),
	                 CG_ENOENT);
	assert_int_equal(
	        key_of("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"s\"}]}", k),
	        CG_ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(one_patient_one_key),
	        cmocka_unit_test(bundle_patient_and_references),
	        cmocka_unit_test(no_patient),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
