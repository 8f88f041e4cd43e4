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

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(cut_at_observations)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
