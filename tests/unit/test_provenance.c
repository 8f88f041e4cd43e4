/*
 * test_provenance.c: the Provenance entry of a forwarded Bundle and the
 * security labels of mapped resources (issue 12): where they go, that the
 * validator finds them valid R4, that the same record gives the same bytes
 * but for recorded, and that mapping back ignores both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "fhir_validate.h"
#include "json_member.h"
#include "map.h"
#include "provenance.h"
#include "support.h"
#include "transaction.h"

#define BASE        "https://example.org/cellgate"
#define PARTICIPANT "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
#define NOW         1767323045123LL /* 2026-01-02T03:04:05.123Z */

static const struct cg_provenance_in prov = {"ehr-north", "cellgate", NULL, NOW, BASE};

static const struct cg_coding labels[] = {
        {"http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R", "restricted"},
        {"http://terminology.hl7.org/CodeSystem/v3-ActCode", "RESEARCH", NULL},
};

static const char *
str(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(cg_json_member(obj, key));
}

static const cJSON *
last_entry(const cJSON *bundle)
{
	const cJSON *entries = cg_json_member(bundle, "entry");

	return cJSON_GetArrayItem(entries, cJSON_GetArraySize(entries) - 1);
}

/* 0 errors from our own R4 validator. */
static void
assert_valid_fhir(const cJSON *doc)
{
	struct cg_diag d;

	cg_diag_init(&d, 50);
	assert_int_equal(cg_fhir_validate(doc, test_mappings()->fhir, &d), CG_OK);
	if (d.errors)
		test_dump(&d);
	assert_int_equal(d.errors, 0);
	cg_diag_free(&d);
}

/* The resource of a Provenance entry, its targets checked against the
 * other entries' fullUrls (skip: an entry left out, or -1). */
static const cJSON *
check_provenance(const cJSON *bundle, int skip)
{
	const cJSON *entries = cg_json_member(bundle, "entry"), *e;
	const cJSON *p = cg_json_member(last_entry(bundle), "resource");
	const cJSON *targets = cg_json_member(p, "target");
	const cJSON *author = cJSON_GetArrayItem(cg_json_member(p, "agent"), 0);
	const cJSON *assembler = cJSON_GetArrayItem(cg_json_member(p, "agent"), 1);
	const cJSON *coding;
	int i = 0, t = 0, n = cJSON_GetArraySize(entries);

	assert_string_equal(str(p, "resourceType"), "Provenance");
	assert_string_equal(str(p, "recorded"), "2026-01-02T03:04:05.123Z");
	cJSON_ArrayForEach(e, entries)
	{
		if (i != skip && i < n - 1)
			assert_string_equal(str(cJSON_GetArrayItem(targets, t++), "reference"),
			                    str(e, "fullUrl"));
		i++;
	}
	assert_int_equal(cJSON_GetArraySize(targets), t);
	coding = cJSON_GetArrayItem(cg_json_member(cg_json_member(author, "type"), "coding"), 0);
	assert_string_equal(str(coding, "system"), PARTICIPANT);
	assert_string_equal(str(coding, "code"), "author");
	assert_string_equal(str(cg_json_member(author, "who"), "display"), "ehr-north");
	assert_string_equal(
	        str(cg_json_member(cg_json_member(author, "who"), "identifier"), "system"),
	        BASE "/client");
	assert_string_equal(
	        str(cg_json_member(cg_json_member(author, "who"), "identifier"), "value"),
	        "ehr-north");
	coding = cJSON_GetArrayItem(cg_json_member(cg_json_member(assembler, "type"), "coding"), 0);
	assert_string_equal(str(coding, "code"), "assembler");
	assert_string_equal(str(cg_json_member(assembler, "who"), "display"), "cellgate");
	assert_int_equal(strncmp(str(last_entry(bundle), "fullUrl"), "urn:uuid:", 9), 0);
	return p;
}

static char *
map_record(const char *file, const struct cg_map_opts *o)
{
	char *text = test_read_data(file);
	cJSON *rec = cJSON_Parse(text);
	struct cg_buf out;
	char *copy;

	assert_non_null(rec);
	cg_buf_init(&out, CG_BUF_MAX_ITEMS);
	assert_int_equal(cg_map_record_to_fhir(rec, test_mappings(), o, &out), CG_OK);
	copy = strdup(out.p);
	cg_buf_free(&out);
	cJSON_Delete(rec);
	free(text);
	return copy;
}

/* A mapped record's Bundle ends with its Provenance, and every resource of
 * it has the labels; our validator finds it valid R4. */
static void
mapped_record_has_provenance_and_labels(void **state)
{
	struct cg_map_opts o = {BASE, labels, 2, NULL, 0, &prov};
	char *text = map_record("records/valid-heart-failure.json", &o);
	cJSON *doc = cJSON_Parse(text), *e;
	const cJSON *req = cg_json_member(last_entry(doc), "request");

	(void)state;
	assert_non_null(doc);
	check_provenance(doc, -1);
	assert_string_equal(str(req, "method"), "POST");
	assert_string_equal(str(req, "url"), "Provenance");
	assert_null(cg_json_member(req, "ifNoneExist"));
	cJSON_ArrayForEach(e, cg_json_member(doc, "entry"))
	{
		const cJSON *sec = cg_json_member(
		        cg_json_member(cg_json_member(e, "resource"), "meta"), "security");

		assert_int_equal(cJSON_GetArraySize(sec), 2);
		assert_string_equal(str(cJSON_GetArrayItem(sec, 0), "code"), "R");
		assert_string_equal(str(cJSON_GetArrayItem(sec, 0), "display"), "restricted");
		assert_string_equal(str(cJSON_GetArrayItem(sec, 1), "code"), "RESEARCH");
		assert_null(cg_json_member(cJSON_GetArrayItem(sec, 1), "display"));
	}
	assert_valid_fhir(doc);
	cJSON_Delete(doc);
	free(text);
}

/* The same record gives the same bytes but for recorded; without the
 * options (the CLI) neither the Provenance nor meta is there. */
static void
same_record_same_bytes_but_recorded(void **state)
{
	struct cg_provenance_in later = prov;
	struct cg_map_opts o1 = {BASE, NULL, 0, NULL, 0, &prov},
	                   o2 = {BASE, NULL, 0, NULL, 0, &later};
	struct cg_map_opts plain = {BASE, NULL, 0, NULL, 0, NULL};
	char *a, *b, *c, *at;

	(void)state;
	later.now_ms = NOW + 3600 * 1000;
	a = map_record("records/valid-liver-cirrhosis.json", &o1);
	b = map_record("records/valid-liver-cirrhosis.json", &o2);
	c = map_record("records/valid-liver-cirrhosis.json", &plain);
	assert_int_equal(strlen(a), strlen(b));
	at = strstr(a, "\"recorded\":\"2026-01-02T03:04:05.123Z\"");
	assert_non_null(at);
	memcpy(at + 23, "04", 2); /* "recorded":"2026-01-02T|03 */
	assert_string_equal(a, b);
	assert_null(strstr(c, "Provenance"));
	assert_null(strstr(c, "\"meta\""));
	assert_int_equal(strncmp(a, c, strlen(c) - 2), 0); /* c's entries, then one more */
	free(a);
	free(b);
	free(c);
}

/* FHIR -> record skips the Provenance entry and meta: the same record. */
static void
mapping_back_ignores_provenance_and_meta(void **state)
{
	struct cg_map_opts o = {BASE, labels, 2, NULL, 0, &prov};
	char *text = map_record("records/valid-copd-exosome.json", &o);
	char *orig = test_read_data("records/valid-copd-exosome.json");
	cJSON *doc = cJSON_Parse(text), *rec = NULL, *want = cJSON_Parse(orig);
	struct cg_diag d;

	(void)state;
	cg_diag_init(&d, 50);
	assert_int_equal(cg_map_fhir_to_record(doc, test_mappings(), &o, &rec, &d), CG_OK);
	if (d.n)
		test_dump(&d);
	assert_int_equal(d.n, 0);
	assert_non_null(rec);
	assert_true(cJSON_Compare(rec, want, 1));
	cg_diag_free(&d);
	cJSON_Delete(rec);
	cJSON_Delete(want);
	cJSON_Delete(doc);
	free(text);
	free(orig);
}

static const char client_tx[] =
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        "{\"fullUrl\":\"urn:uuid:6b0f3c1e-2a4d-4c7e-9f10-0a1b2c3d4e5f\",\"resource\":{"
        "\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:x\",\"value\":\"p1\"}]},"
        "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
        "{\"resource\":{\"resourceType\":\"Patient\"},\"request\":{\"method\":\"POST\",\"url\":"
        "\"Patient\"}},"
        "{\"fullUrl\":\"urn:uuid:7c1f3c1e-2a4d-4c7e-9f10-0a1b2c3d4e5f\",\"resource\":{"
        "\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
        "\"subject\":{\"reference\":\"urn:uuid:6b0f3c1e-2a4d-4c7e-9f10-0a1b2c3d4e5f\"}},"
        "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}";

/* A client's transaction: a Provenance of the entries that have a fullUrl,
 * with its POST, the policy as a uri; valid R4; and when the forwarder
 * joins it with others, the Provenance gets no condition. */
static void
client_transaction_gets_provenance(void **state)
{
	struct cg_provenance_in in = prov;
	cJSON *doc = cJSON_Parse(client_tx), *joined;
	const cJSON *p, *req;
	char *text;
	struct cg_buf out;

	(void)state;
	in.policy = "consent=required; identity=pseudonym-keyed";
	assert_int_equal(cg_provenance_add(doc, &in), CG_OK);
	assert_int_equal(cJSON_GetArraySize(cg_json_member(doc, "entry")), 4);
	p = check_provenance(doc, 1);
	assert_string_equal(cJSON_GetArrayItem(cg_json_member(p, "policy"), 0)->valuestring,
	                    BASE "/policy/consent=required;%20identity=pseudonym-keyed");
	assert_null(cg_json_member(p, "meta"));
	req = cg_json_member(last_entry(doc), "request");
	assert_string_equal(str(req, "method"), "POST");
	assert_string_equal(str(req, "url"), "Provenance");
	assert_valid_fhir(doc);

	/* The forwarder's join: the Patient gets its condition, the
	 * Provenance (no identifier) none. */
	text = cJSON_PrintUnformatted(doc);
	cg_buf_init(&out, CG_BUF_MAX_UPSTREAM);
	assert_int_equal(cg_map_conditional_bundle(text, strlen(text), &out), CG_OK);
	joined = cJSON_Parse(out.p);
	assert_non_null(cg_json_member(
	        cg_json_member(cJSON_GetArrayItem(cg_json_member(joined, "entry"), 0), "request"),
	        "ifNoneExist"));
	assert_null(cg_json_member(cg_json_member(last_entry(joined), "request"), "ifNoneExist"));
	cJSON_Delete(joined);
	cg_buf_free(&out);
	cJSON_free(text);
	cJSON_Delete(doc);
}

/* Spliced into the client's text: every byte of it kept (1.50 stays 1.50,
 * whitespace and the member order too), the entry the same as the tree's;
 * no target: the text as it is. */
static void
splice_keeps_the_client_bytes(void **state)
{
	static const char text[] =
	        "{ \"entry\" : [ {\"fullUrl\":\"urn:uuid:6b0f3c1e-2a4d-4c7e-9f10-0a1b2c3d4e5f\","
	        "\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{"
	        "\"text\":\"x\"},\"valueQuantity\":{\"value\":1.50}},\"request\":{\"method\":"
	        "\"POST\",\"url\":\"Observation\"}} ] ,\"type\":\"batch\", "
	        "\"resourceType\":\"Bundle\"}";
	static const char none[] = "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[]}";
	cJSON *tree = cJSON_Parse(text), *got, *empty = cJSON_Parse(none);
	struct cg_buf out;
	char *cut;

	(void)state;
	cg_buf_init(&out, CG_BUF_MAX_ITEMS);
	assert_int_equal(cg_provenance_splice(text, strlen(text), tree, &prov, &out), CG_OK);
	cut = strstr(out.p, ",{\"fullUrl\":\"urn:uuid:");
	assert_non_null(cut);
	assert_int_equal(strncmp(out.p, text, (size_t)(cut - out.p)), 0);
	/* the rest: the array's closing bracket and what follows it */
	assert_string_equal(out.p + out.len - strlen(strstr(text, "] ,")), strstr(text, "] ,"));
	assert_non_null(strstr(out.p, "\"value\":1.50}"));
	got = cJSON_Parse(out.p);
	assert_non_null(got);
	assert_int_equal(cg_provenance_add(tree, &prov), CG_OK);
	assert_true(cJSON_Compare(got, tree, 1));
	check_provenance(got, -1);

	cg_buf_reset(&out);
	assert_int_equal(cg_provenance_splice(none, strlen(none), empty, &prov, &out), CG_OK);
	assert_string_equal(out.p, none);
	cg_buf_free(&out);
	cJSON_Delete(got);
	cJSON_Delete(tree);
	cJSON_Delete(empty);
}

/* A collection goes out as it is: its Provenance has no request. Without
 * a fullUrl anywhere there is nothing to target: nothing is added. No
 * client known: the gateway is the one agent. */
static void
collection_and_untargetable(void **state)
{
	cJSON *doc = cJSON_Parse("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
	                         "{\"fullUrl\":\"urn:uuid:6b0f3c1e-2a4d-4c7e-9f10-0a1b2c3d4e5f\","
	                         "\"resource\":{\"resourceType\":\"Patient\"}}]}");
	cJSON *none = cJSON_Parse("{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
	                          "{\"resource\":{\"resourceType\":\"Patient\"},\"request\":{"
	                          "\"method\":\"POST\",\"url\":\"Patient\"}}]}");
	cJSON *empty = cJSON_Parse("{\"resourceType\":\"Bundle\",\"type\":\"batch\"}");
	struct cg_provenance_in anon = prov;
	const cJSON *p;

	(void)state;
	assert_int_equal(cg_provenance_add(doc, &prov), CG_OK);
	assert_int_equal(cJSON_GetArraySize(cg_json_member(doc, "entry")), 2);
	check_provenance(doc, -1);
	assert_null(cg_json_member(last_entry(doc), "request"));
	assert_valid_fhir(doc);
	assert_int_equal(cg_provenance_add(none, &prov), CG_OK);
	assert_int_equal(cJSON_GetArraySize(cg_json_member(none, "entry")), 1);
	assert_int_equal(cg_provenance_add(empty, &prov), CG_OK);
	assert_null(cg_json_member(empty, "entry"));

	anon.client = NULL;
	cJSON_DeleteItemFromArray(cJSON_GetObjectItem(doc, "entry"), 1);
	assert_int_equal(cg_provenance_add(doc, &anon), CG_OK);
	p = cg_json_member(last_entry(doc), "resource");
	assert_int_equal(cJSON_GetArraySize(cg_json_member(p, "agent")), 1);
	assert_valid_fhir(doc);
	cJSON_Delete(doc);
	cJSON_Delete(none);
	cJSON_Delete(empty);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(mapped_record_has_provenance_and_labels),
	        cmocka_unit_test(same_record_same_bytes_but_recorded),
	        cmocka_unit_test(mapping_back_ignores_provenance_and_meta),
	        cmocka_unit_test(client_transaction_gets_provenance),
	        cmocka_unit_test(splice_keeps_the_client_bytes),
	        cmocka_unit_test(collection_and_untargetable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
