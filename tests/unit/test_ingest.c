/* test_ingest.c: a request body to items or an OperationOutcome (ingest.h):
 * what the gateway does with a body, without the gateway. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "ingest.h"
#include "support.h"

static char *record; /* tests/data/records/valid-heart-failure.json, pretty-printed */

static void
setup_in(struct cg_ingest_in *in, enum cg_payload accept, enum cg_payload want)
{
	memset(in, 0, sizeof(*in));
	in->m = test_mappings();
	in->accept = accept;
	in->want = want;
	in->format = CG_FORMAT_AUTO;
}

/* The item's text, parsed. */
static cJSON *
item(const struct cg_ingest_out *o, size_t i)
{
	return cJSON_ParseWithLength(o->data.p + o->item[i].off, o->item[i].len);
}

/* A record goes out as it came, on one line: whitespace between tokens
 * dropped, none inside strings, escapes kept. */
static void
record_passes_through_compacted(void **state)
{
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	cJSON *want = cJSON_Parse(record), *got;
	char *text;

	(void)state;
	/* A value with spaces, a quote and a backslash. */
	text = test_mutate(record, (const struct test_op[]){SET("/product/manufacturer",
	                                                        "\"Cell \\\"Lab\\\" \\\\ 2\""),
	                                                    {TEST_END, NULL, NULL}});
	cJSON_Delete(want);
	want = cJSON_Parse(text);
	setup_in(&in, CG_PAYLOAD_RECORD, CG_PAYLOAD_RECORD);
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, text, strlen(text), &out), CG_OK);
	assert_int_equal(out.status, 200);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.item[0].type, "record");
	assert_string_equal(out.item[0].record_id, "HF-2024-0001");
	assert_null(memchr(out.data.p + out.item[0].off, '\n', out.item[0].len));
	assert_non_null(strstr(out.data.p, "\"Cell \\\"Lab\\\" \\\\ 2\""));
	got = item(&out, 0);
	assert_true(cJSON_Compare(got, want, 1));
	cJSON_Delete(got);
	cJSON_Delete(want);
	cg_ingest_out_free(&out);
	free(text);
}

/* A record for a FHIR destination: its Bundle, as map --to fhir writes it. */
static void
record_to_bundle(void **state)
{
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	cJSON *b;

	(void)state;
	setup_in(&in, CG_PAYLOAD_RECORD, CG_PAYLOAD_FHIR);
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, record, strlen(record), &out), CG_OK);
	assert_int_equal(out.status, 200);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.item[0].type, "Bundle");
	b = item(&out, 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(b, "type")), "transaction");
	cJSON_Delete(b);
	cg_ingest_out_free(&out);
}

/* The last entry's resourceType of an item that is a Bundle. */
static const char *
last_type(const cJSON *b)
{
	const cJSON *e = cJSON_GetObjectItem(b, "entry");

	e = cJSON_GetArrayItem(e, cJSON_GetArraySize(e) - 1);
	return cJSON_GetStringValue(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(e, "resource"), "resourceType"));
}

/* A FHIR destination that records provenance: a record's Bundle and a
 * client's transaction end with a Provenance (still requests of theirs);
 * a collection goes out as it came. */
static void
provenance_for_a_fhir_destination(void **state)
{
	static const struct cg_provenance_in prov = {"ehr", "cellgate", NULL, 1767323045123LL,
	                                             "https://example.org/cellgate"};
	static const char fhir[] =
	        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"fullUrl\":"
	        "\"urn:uuid:6b0f3c1e-2a4d-4c7e-9f10-0a1b2c3d4e5f\",\"resource\":{\"resourceType\":"
	        "\"Patient\"},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]}\n"
	        "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"fullUrl\":"
	        "\"urn:uuid:6b0f3c1e-2a4d-4c7e-9f10-0a1b2c3d4e5f\",\"resource\":{\"resourceType\":"
	        "\"Patient\"}}]}\n";
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	cJSON *b;

	(void)state;
	setup_in(&in, CG_PAYLOAD_RECORD, CG_PAYLOAD_FHIR);
	in.provenance = &prov;
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, record, strlen(record), &out), CG_OK);
	assert_int_equal(out.status, 200);
	assert_int_equal(out.item[0].requests, CG_ITEM_REQUESTS_OURS);
	b = item(&out, 0);
	assert_string_equal(last_type(b), "Provenance");
	cJSON_Delete(b);
	cg_ingest_out_free(&out);

	setup_in(&in, CG_PAYLOAD_FHIR, CG_PAYLOAD_FHIR);
	in.provenance = &prov;
	in.format = CG_FORMAT_NDJSON;
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, fhir, strlen(fhir), &out), CG_OK);
	assert_int_equal(out.status, 200);
	assert_int_equal(out.n, 2);
	assert_int_equal(out.item[0].requests, CG_ITEM_REQUESTS);
	assert_null(memchr(out.data.p + out.item[0].off, '\n', out.item[0].len));
	b = item(&out, 0);
	assert_string_equal(last_type(b), "Provenance");
	cJSON_Delete(b);
	assert_int_equal(out.item[1].requests, 0);
	b = item(&out, 1);
	assert_string_equal(last_type(b), "Patient");
	cJSON_Delete(b);
	cg_ingest_out_free(&out);
}

/* All or nothing: one bad record in three and no item at all, 422, and the
 * outcome says which item. */
static void
batch_all_or_nothing(void **state)
{
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	char *bad =
	        test_mutate(record, (const struct test_op[]){SET("/administration/route", "\"x\""),
	                                                     {TEST_END, NULL, NULL}});
	size_t len = strlen(record) * 2 + strlen(bad) + 8;
	char *batch = malloc(len);

	(void)state;
	snprintf(batch, len, "[%s,%s,%s]", record, bad, record);
	setup_in(&in, CG_PAYLOAD_RECORD, CG_PAYLOAD_RECORD);
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, batch, strlen(batch), &out), CG_OK);
	assert_int_equal(out.status, 422);
	assert_int_equal(out.n, 0);
	assert_int_equal(out.data.len, 0);
	assert_true(out.errors > 0);
	assert_non_null(strstr(out.outcome.p, "item 1, "));
	assert_null(strstr(out.outcome.p, "item 0, "));
	cg_ingest_out_free(&out);
	free(batch);
	free(bad);
}

/* Unreadable JSON is 400 (not 422), and so is an empty body. */
static void
unreadable_is_400(void **state)
{
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	static const char nd[] = "{\"a\": 1}\n{\"b\": \n";

	(void)state;
	setup_in(&in, CG_PAYLOAD_RECORD, CG_PAYLOAD_RECORD);
	in.format = CG_FORMAT_NDJSON;
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, nd, strlen(nd), &out), CG_OK);
	assert_int_equal(out.status, 400);
	assert_string_equal(out.first_code, "json-syntax");
	cg_ingest_out_free(&out);
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, "", 0, &out), CG_OK);
	assert_int_equal(out.status, 400);
	cg_ingest_out_free(&out);
}

/* What the route accepts, and the resource type an endpoint takes. */
static void
wrong_kind_is_422(void **state)
{
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	static const char patient[] = "{\"resourceType\": \"Patient\", \"id\": \"p1\"}";

	(void)state;
	setup_in(&in, CG_PAYLOAD_FHIR, CG_PAYLOAD_FHIR);
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, record, strlen(record), &out), CG_OK);
	assert_int_equal(out.status, 422);
	assert_string_equal(out.first_code, "map-unmappable");
	cg_ingest_out_free(&out);

	in.resource_type = "Procedure";
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, patient, strlen(patient), &out), CG_OK);
	assert_int_equal(out.status, 422);
	assert_string_equal(out.first_code, "fhir-resource-type");
	cg_ingest_out_free(&out);

	/* A valid Patient, where any resource is taken, passes as it is. */
	in.resource_type = NULL;
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, patient, strlen(patient), &out), CG_OK);
	assert_int_equal(out.status, 200);
	assert_string_equal(out.item[0].type, "Patient");
	cg_ingest_out_free(&out);
}

/* validate_only never hands out items; max_items bounds a batch. */
static void
validate_only_and_max_items(void **state)
{
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	size_t len = strlen(record) * 3 + 8;
	char *batch = malloc(len);

	(void)state;
	snprintf(batch, len, "[%s,%s,%s]", record, record, record);
	setup_in(&in, CG_PAYLOAD_RECORD, CG_PAYLOAD_RECORD);
	in.validate_only = 1;
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, batch, strlen(batch), &out), CG_OK);
	assert_int_equal(out.status, 200);
	assert_int_equal(out.n, 0);
	cg_ingest_out_free(&out);

	in.validate_only = 0;
	in.max_items = 2;
	cg_ingest_out_init(&out);
	assert_int_equal(cg_ingest(&in, batch, strlen(batch), &out), CG_OK);
	assert_int_equal(out.status, 422);
	assert_int_equal(out.n, 0);
	assert_non_null(strstr(out.outcome.p, "more than 2 items"));
	cg_ingest_out_free(&out);
	free(batch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(record_passes_through_compacted),
	        cmocka_unit_test(record_to_bundle),
	        cmocka_unit_test(provenance_for_a_fhir_destination),
	        cmocka_unit_test(batch_all_or_nothing),
	        cmocka_unit_test(unreadable_is_400),
	        cmocka_unit_test(wrong_kind_is_422),
	        cmocka_unit_test(validate_only_and_max_items),
	};
	int failed;

	record = test_read_data("records/valid-heart-failure.json");
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	free(record);
	return failed;
}
