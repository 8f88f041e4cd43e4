/* test_transaction.c: a batch joined into one transaction Bundle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "transaction.h"

struct fixture {
	char data[4096];
	struct cg_item item[8];
	size_t n, len;
};

static void
add(struct fixture *f, const char *type, int requests, const char *text)
{
	struct cg_item *it = &f->item[f->n++];

	memset(it, 0, sizeof(*it));
	it->off = f->len;
	it->len = strlen(text);
	it->requests = requests;
	strcpy(it->type, type);
	memcpy(f->data + f->len, text, it->len);
	f->len += it->len;
	f->data[f->len++] = '\n';
}

static cJSON *
join(struct fixture *f)
{
	struct cg_batch b = {f->data, f->item, f->n};
	struct cg_buf out;
	cJSON *doc;

	cg_buf_init(&out, CG_BUF_MAX_UPSTREAM);
	assert_int_equal(cg_map_transaction(&b, &out), CG_OK);
	doc = cJSON_Parse(out.p);
	assert_non_null(doc);
	cg_buf_free(&out);
	return doc;
}

/* A transaction's entries are merged as they are; a List keeps its own
 * entry, a collection Bundle and a lone resource become create entries. */
static void
joins_what_each_item_is(void **state)
{
	struct fixture f = {0};
	cJSON *doc, *entries, *e;

	(void)state;
	add(&f, "Bundle", 1,
	    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"fullUrl\":\"urn:"
	    "a\","
	    "\"resource\":{\"resourceType\":\"Procedure\",\"note\":[{\"text\":\"] , }\"}]},"
	    "\"request\":{\"method\":\"POST\",\"url\":\"Procedure\"}},{\"fullUrl\":\"urn:b\"}]}");
	add(&f, "List", 0,
	    "{\"resourceType\":\"List\",\"status\":\"current\",\"mode\":\"working\",\"entry\":[{"
	    "\"item\":{\"reference\":\"Patient/1\"}}]}");
	add(&f, "Bundle", 0, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[]}");
	add(&f, "Observation", 0, "{\"resourceType\":\"Observation\",\"status\":\"final\"}");
	add(&f, "Bundle", 1, "{\"resourceType\":\"Bundle\",\"type\":\"batch\"}");
	doc = join(&f);
	assert_string_equal(cJSON_GetObjectItem(doc, "type")->valuestring, "transaction");
	entries = cJSON_GetObjectItem(doc, "entry");
	assert_int_equal(cJSON_GetArraySize(entries), 5);
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 0), "fullUrl")->valuestring,
	        "urn:a");
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 1), "fullUrl")->valuestring,
	        "urn:b");
	e = cJSON_GetArrayItem(entries, 2);
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(e, "request"), "url")->valuestring, "List");
	assert_int_equal(cJSON_GetArraySize(
	                         cJSON_GetObjectItem(cJSON_GetObjectItem(e, "resource"), "entry")),
	                 1);
	e = cJSON_GetArrayItem(entries, 3);
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(e, "request"), "url")->valuestring,
	        "Bundle");
	e = cJSON_GetArrayItem(entries, 4);
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(e, "request"), "method")->valuestring,
	        "POST");
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(e, "resource"), "status")->valuestring,
	        "final");
	cJSON_Delete(doc);
}

/* Items are the client's text as it came: a member name written with escapes
 * is the name it decodes to, as the validator read it ("\u0065ntry" is
 * "entry": its entries were left out, and the client told they went);
 * "e\ntry" is not "entry". */
static void
escaped_names_are_decoded(void **state)
{
	struct fixture f = {0};
	cJSON *doc, *entries;

	(void)state;
	add(&f, "Bundle", 1,
	    "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"\\u0065ntr\\u0059\":[],"
	    "\"e\\ntry\":[{\"fullUrl\":\"urn:x\"}],"
	    "\"\\u0065\\u006Etry\":[{\"fullUrl\":\"urn:a\"}]}");
	add(&f, "Bundle", 1,
	    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entr\\u0079\":[{"
	    "\"fullUrl\":\"urn:b\"}]}");
	doc = join(&f);
	entries = cJSON_GetObjectItem(doc, "entry");
	assert_int_equal(cJSON_GetArraySize(entries), 2);
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 0), "fullUrl")->valuestring,
	        "urn:a");
	assert_string_equal(
	        cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 1), "fullUrl")->valuestring,
	        "urn:b");
	cJSON_Delete(doc);
}

/* A buffer too small for the Bundle is an error, never a Bundle cut short. */
static void
too_small_is_an_error(void **state)
{
	struct fixture f = {0};
	struct cg_batch b;
	struct cg_buf out;

	(void)state;
	add(&f, "Observation", 0, "{\"resourceType\":\"Observation\",\"status\":\"final\"}");
	b = (struct cg_batch){f.data, f.item, f.n};
	cg_buf_init(&out, 64); /* smaller than the Bundle: the cap is what is tested */
	assert_int_equal(cg_map_transaction(&b, &out), CG_ELIMIT);
	assert_null(out.p);
}

static const char *
if_none_exist(const cJSON *entries, int i)
{
	const cJSON *v = cJSON_GetObjectItem(
	        cJSON_GetObjectItem(cJSON_GetArrayItem(entries, i), "request"), "ifNoneExist");

	return v ? v->valuestring : NULL;
}

/* Sent twice, stored once: a create with an identifier and no condition
 * gets one (percent-encoded: a quote, a bar, a newline or a non-ASCII
 * character in the identifier breaks neither the JSON nor the search); a
 * client's own condition, an update, a resource without identifier and a
 * lone resource without one are left as they are. */
static void
creates_become_conditional(void **state)
{
	struct fixture f = {0};
	cJSON *doc, *entries;

	(void)state;
	add(&f, "Bundle", 1,
	    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	    "{\"resource\":{\"resourceType\":\"Procedure\",\"identifier\":[{\"system\":"
	    "\"urn:a|b\",\"value\":\"x\\\"y\\nz \u00e9\"}]},\"request\":{\"method\":"
	    "\"POST\",\"url\":\"Procedure\"}},"
	    "{\"resource\":{\"resourceType\":\"Procedure\",\"identifier\":[{\"value\":"
	    "\"v\"}]},\"request\":{\"method\":\"POST\",\"url\":\"Procedure\","
	    "\"ifNoneExist\":\"identifier=mine\"}},"
	    "{\"resource\":{\"resourceType\":\"Procedure\",\"id\":\"1\",\"identifier\":[{"
	    "\"value\":\"v\"}]},\"request\":{\"method\":\"PUT\",\"url\":\"Procedure/1\"}},"
	    "{\"resource\":{\"resourceType\":\"Procedure\"},\"request\":{\"method\":"
	    "\"POST\",\"url\":\"Procedure\"}}]}");
	add(&f, "Observation", 0,
	    "{\"resourceType\":\"Observation\",\"identifier\":[{\"system\":\"s\",\"value\":"
	    "\"o-1\"}]}");
	add(&f, "Observation", 0, "{\"resourceType\":\"Observation\"}");
	doc = join(&f);
	entries = cJSON_GetObjectItem(doc, "entry");
	assert_int_equal(cJSON_GetArraySize(entries), 6);
	assert_string_equal(if_none_exist(entries, 0),
	                    "identifier=urn:a%5C%7Cb%7Cx%22y%0Az%20%C3%A9");
	assert_string_equal(if_none_exist(entries, 1), "identifier=mine");
	assert_null(if_none_exist(entries, 2));
	assert_null(if_none_exist(entries, 3));
	assert_string_equal(if_none_exist(entries, 4), "identifier=s%7Co-1");
	assert_null(if_none_exist(entries, 5));
	cJSON_Delete(doc);
}

/* A client's Bundle sent as it is keeps its type and members; its creates
 * become conditional as in a joined transaction. */
static void
one_bundle_keeps_its_shape(void **state)
{
	static const char in[] =
	        "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"id\":\"b1\",\"entry\":[{"
	        "\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":"
	        "\"p\"}]},\"request\":{}}],\"meta\":{\"tag\":[]}}";
	struct cg_buf out;
	cJSON *doc;

	(void)state;
	cg_buf_init(&out, CG_BUF_MAX_UPSTREAM);
	assert_int_equal(cg_map_conditional_bundle(in, sizeof(in) - 1, &out), CG_OK);
	assert_int_equal(cg_buf_addc(&out, 0), CG_OK);
	/* a request without a method is not a create: as it was */
	assert_string_equal(out.p, in);
	cg_buf_reset(&out);
	{
		static const char post[] =
		        "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[{\"resource\":{"
		        "\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"p\"}]},"
		        "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}],\"id\":\"b2\"}";

		assert_int_equal(cg_map_conditional_bundle(post, sizeof(post) - 1, &out), CG_OK);
		assert_int_equal(cg_buf_addc(&out, 0), CG_OK);
		doc = cJSON_Parse(out.p);
		assert_non_null(doc);
		assert_string_equal(cJSON_GetObjectItem(doc, "type")->valuestring, "batch");
		assert_string_equal(cJSON_GetObjectItem(doc, "id")->valuestring, "b2");
		assert_string_equal(if_none_exist(cJSON_GetObjectItem(doc, "entry"), 0),
		                    "identifier=%7Cp");
		cJSON_Delete(doc);
	}
	cg_buf_free(&out);
}

/* A create's condition is a FHIR search: in a token, ',' separates values
 * (OR), '|' system and code, '$' composites, so these and '\' itself are
 * escaped with '\' before the percent-encoding (a value "A,B" matched
 * whatever had B: the create was skipped, the message counted delivered);
 * an identifier without a system matches only those without one ("|V"),
 * not V in every system. Quotes, controls and UTF-8 come percent-encoded:
 * the condition is safe in JSON and in a header. */
static void
conditions_are_searches_that_match_only_the_identifier(void **state)
{
	struct fixture f = {0};
	cJSON *doc;

	(void)state;
	add(&f, "Observation", 0,
	    "{\"resourceType\":\"Observation\",\"identifier\":[{\"system\":\"urn:s\",\"value\":"
	    "\"A,B|C\\\\D$E\"}]}");
	add(&f, "Observation", 0,
	    "{\"resourceType\":\"Observation\",\"identifier\":[{\"value\":\"123\"}]}");
	add(&f, "Observation", 0,
	    "{\"resourceType\":\"Observation\",\"identifier\":[{\"system\":\"urn:s\",\"value\":"
	    "\"\\\"\\r\\n\\u00e9\"}]}");
	doc = join(&f);
	assert_string_equal(if_none_exist(cJSON_GetObjectItem(doc, "entry"), 0),
	                    "identifier=urn:s%7CA%5C%2CB%5C%7CC%5C%5CD%5C%24E");
	assert_string_equal(if_none_exist(cJSON_GetObjectItem(doc, "entry"), 1),
	                    "identifier=%7C123");
	assert_string_equal(if_none_exist(cJSON_GetObjectItem(doc, "entry"), 2),
	                    "identifier=urn:s%7C%22%0D%0A%C3%A9");
	cJSON_Delete(doc);
}

/* The gateway's own mapped Bundles carry their conditions: their entries
 * are copied as they are, not looked into again. */
static void
ours_are_copied_as_they_are(void **state)
{
	struct fixture f = {0};
	cJSON *doc;

	(void)state;
	add(&f, "Bundle", CG_ITEM_REQUESTS_OURS,
	    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":{"
	    "\"resourceType\":\"Procedure\",\"identifier\":[{\"value\":\"p\"}]},\"request\":{"
	    "\"method\":\"POST\",\"url\":\"Procedure\"}}]}");
	add(&f, "Bundle", CG_ITEM_REQUESTS,
	    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":{"
	    "\"resourceType\":\"Procedure\",\"identifier\":[{\"value\":\"p\"}]},\"request\":{"
	    "\"method\":\"POST\",\"url\":\"Procedure\"}}]}");
	doc = join(&f);
	assert_null(if_none_exist(cJSON_GetObjectItem(doc, "entry"), 0));
	assert_string_equal(if_none_exist(cJSON_GetObjectItem(doc, "entry"), 1), "identifier=%7Cp");
	cJSON_Delete(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(joins_what_each_item_is),
	        cmocka_unit_test(escaped_names_are_decoded),
	        cmocka_unit_test(too_small_is_an_error),
	        cmocka_unit_test(creates_become_conditional),
	        cmocka_unit_test(one_bundle_keeps_its_shape),
	        cmocka_unit_test(conditions_are_searches_that_match_only_the_identifier),
	        cmocka_unit_test(ours_are_copied_as_they_are),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
