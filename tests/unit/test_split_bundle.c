/* test_split_bundle.c: a record's Bundle cut at a destination's caps, every
 * part a transaction within them, references across parts conditional on
 * the Procedure's identifier, a Provenance per part naming its own entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "map.h"
#include "split_bundle.h"
#include "support.h"

static struct cg_buf bundle; /* the worked example: a Procedure, 7 Observations */

static void
make_bundle(void)
{
	char *text = test_read_data("records/valid-heart-failure.json");
	cJSON *rec = cJSON_Parse(text);
	struct cg_map_opts o;

	memset(&o, 0, sizeof(o));
	cg_buf_init(&bundle, 1 << 24);
	assert_int_equal(cg_map_record_to_fhir(rec, test_mappings(), &o, &bundle), 0);
	cJSON_Delete(rec);
	free(text);
}

static int
count_type(const cJSON *b, const char *type)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "entry"))
	{
		const char *t = cJSON_GetStringValue(
		        cJSON_GetObjectItem(cJSON_GetObjectItem(e, "resource"), "resourceType"));

		n += t && !strcmp(t, type);
	}
	return n;
}

static void
cut_at_observations(void **state)
{
	struct cg_provenance_in prov = {"ehr", "cellgate", NULL, 1767323045123LL,
	                                "https://example.org/fhir"};
	struct cg_buf out;
	size_t ends[16], n = 0, i, from = 0;
	char why[256];
	int obs = 0;

	(void)state;
	make_bundle();
	cg_buf_init(&out, 1 << 24);
	assert_int_equal(cg_split_bundle(bundle.p, bundle.len, 5, 3, &prov, &out, ends, 16, &n, why,
	                                 sizeof(why)),
	                 0);
	assert_int_equal(n, 3); /* Procedure + 3, then 3, then 1 */
	for (i = 0; i < n; i++) {
		cJSON *b = cJSON_ParseWithLength(out.p + from, ends[i] - from);
		const cJSON *e;
		char *text = cJSON_PrintUnformatted(b);

		assert_non_null(b);
		from = ends[i];
		assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(b, "entry")) <= 5);
		assert_true(count_type(b, "Observation") <= 3);
		assert_int_equal(count_type(b, "Provenance"), 1);
		assert_int_equal(count_type(b, "Procedure"), i == 0);
		obs += count_type(b, "Observation");
		if (i > 0) /* the Procedure of the first part, by its identifier */
			assert_non_null(strstr(text, "\"reference\":\"Procedure?identifier="));
		else
			assert_null(strstr(text, "Procedure?identifier="));
		/* the Provenance names this part's entries only */
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "entry"))
		{
			const cJSON *res = cJSON_GetObjectItem(e, "resource");

			if (!strcmp(cJSON_GetObjectItem(res, "resourceType")->valuestring,
			            "Provenance"))
				assert_int_equal(
				        cJSON_GetArraySize(cJSON_GetObjectItem(res, "target")),
				        cJSON_GetArraySize(cJSON_GetObjectItem(b, "entry")) - 1);
		}
		free(text);
		cJSON_Delete(b);
	}
	assert_int_equal(obs, 7);
	cg_buf_free(&out);
	/* within the caps: one part */
	cg_buf_init(&out, 1 << 24);
	assert_int_equal(cg_split_bundle(bundle.p, bundle.len, 50, 50, &prov, &out, ends, 16, &n,
	                                 why, sizeof(why)),
	                 0);
	assert_int_equal(n, 1);
	cg_buf_free(&out);
	/* no room for one entry beside the Provenance */
	cg_buf_init(&out, 1 << 24);
	assert_int_equal(cg_split_bundle(bundle.p, bundle.len, 1, 0, &prov, &out, ends, 16, &n, why,
	                                 sizeof(why)),
	                 CG_EINVAL);
	cg_buf_free(&out);
	cg_buf_free(&bundle);
}

/* A client's transaction Bundle with a Provenance of its own: the split
 * keeps it (after what it names, which later parts refer to by identifier),
 * whether or not the gateway adds its own per part; only the gateway's,
 * its last entry, is made again per part. */
static void
keeps_a_clients_provenance(void **state)
{
	static const char *b =
	        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	        "{\"fullUrl\":\"urn:uuid:p\",\"resource\":{\"resourceType\":\"Procedure\","
	        "\"identifier\":[{\"system\":\"s\",\"value\":\"P1\"}]},"
	        "\"request\":{\"method\":\"POST\",\"url\":\"Procedure\"}},"
	        "{\"fullUrl\":\"urn:uuid:o1\",\"resource\":{\"resourceType\":\"Observation\","
	        "\"identifier\":[{\"system\":\"s\",\"value\":\"O1\"}],"
	        "\"focus\":[{\"reference\":\"urn:uuid:p\"}]},"
	        "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
	        "{\"fullUrl\":\"urn:uuid:o2\",\"resource\":{\"resourceType\":\"Observation\","
	        "\"identifier\":[{\"system\":\"s\",\"value\":\"O2\"}],"
	        "\"focus\":[{\"reference\":\"urn:uuid:p\"}]},"
	        "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
	        "{\"fullUrl\":\"urn:uuid:v\",\"resource\":{\"resourceType\":\"Provenance\","
	        "\"target\":[{\"reference\":\"urn:uuid:p\"}],"
	        "\"recorded\":\"2026-01-01T00:00:00Z\"},"
	        "\"request\":{\"method\":\"POST\",\"url\":\"Provenance\"}}]}";
	struct cg_provenance_in prov = {"ehr", "cellgate", NULL, 1767323045123LL,
	                                "https://example.org/fhir"};
	struct cg_buf out;
	size_t ends[16], n = 0, i, from;
	char why[256];
	int pass, theirs;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		cJSON *tree = cJSON_Parse(b);
		char *text;

		if (pass) /* the gateway's own, last, as ingest adds it */
			assert_int_equal(cg_provenance_add(tree, &prov), 0);
		text = cJSON_PrintUnformatted(tree);
		cJSON_Delete(tree);
		cg_buf_init(&out, 1 << 20);
		assert_int_equal(cg_split_bundle(text, strlen(text), 2, 0, pass ? &prov : NULL,
		                                 &out, ends, 16, &n, why, sizeof(why)),
		                 0);
		free(text);
		assert_true(n >= 2);
		theirs = 0;
		for (i = 0, from = 0; i < n; i++) {
			cJSON *part = cJSON_ParseWithLength(out.p + from, ends[i] - from);

			from = ends[i];
			text = cJSON_PrintUnformatted(part);
			assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(part, "entry")) <= 2);
			theirs += strstr(text, "2026-01-01T00:00:00Z") != NULL;
			free(text);
			cJSON_Delete(part);
		}
		assert_int_equal(theirs, 1);
		cg_buf_free(&out);
	}
}

/* A DiagnosticReport (first, not an Observation) whose result is an
 * Observation the caps put in a later part: refused, not sent unresolvable. */
static void
forward_reference_refused(void **state)
{
	static const char b[] =
	        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	        "{\"fullUrl\":\"urn:uuid:00000000-0000-4000-8000-000000000001\",\"resource\":{"
	        "\"resourceType\":\"DiagnosticReport\",\"status\":\"final\",\"code\":{\"text\":"
	        "\"x\"},\"result\":[{\"reference\":\"urn:uuid:00000000-0000-4000-8000-"
	        "000000000003\"}]},\"request\":{\"method\":\"POST\",\"url\":\"DiagnosticReport\"}},"
	        "{\"fullUrl\":\"urn:uuid:00000000-0000-4000-8000-000000000002\",\"resource\":{"
	        "\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"a\"}},"
	        "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
	        "{\"fullUrl\":\"urn:uuid:00000000-0000-4000-8000-000000000003\",\"resource\":{"
	        "\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"b\"}},"
	        "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}";
	struct cg_buf out;
	size_t ends[8], n = 0;
	char why[256] = "";

	(void)state;
	cg_buf_init(&out, 1 << 20);
	assert_int_equal(
	        cg_split_bundle(b, sizeof(b) - 1, 2, 0, NULL, &out, ends, 8, &n, why, sizeof(why)),
	        CG_EINVAL);
	assert_non_null(strstr(why, "later part"));
	cg_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(cut_at_observations),
	                                   cmocka_unit_test(forward_reference_refused),
	                                   cmocka_unit_test(keeps_a_clients_provenance)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
