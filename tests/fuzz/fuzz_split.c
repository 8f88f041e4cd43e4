/*
 * fuzz_split.c: libFuzzer target over the Bundle caps (split_bundle.h), which
 * cut a client's transaction Bundle at ingest. The first two bytes are the
 * caps (max_entries 0 or 2..33, max_observations 0..15), the third says
 * whether each part gets a Provenance; the rest is the Bundle. Invariants:
 * it returns CG_OK, CG_EINVAL or CG_ENOMEM; with CG_OK, every part is a JSON
 * Bundle within both caps, and the parts hold every entry of the input that
 * is not a Provenance, once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "split_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count(const cJSON *b, const char *type, int other)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(b, "entry"))
	{
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		        cJSON_GetObjectItemCaseSensitive(e, "resource"), "resourceType"));
		int is = t && !strcmp(t, type);

		n += other ? !is : is;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cg_provenance_in prov = {"fuzz", "cellgate", NULL, 1767323045123LL,
	                                             "https://example.org/fhir"};
	size_t max_entries, max_obs, ends[64], n = 0, i, from = 0, total = 0;
	struct cg_buf out;
	char why[256];
	cJSON *in;
	enum cg_err err;

	if (size < 3)
		return 0;
	max_entries = data[0] % 33 ? data[0] % 33 + 1 : 0;
	max_obs = data[1] % 16;
	cg_buf_init(&out, 1 << 24);
	err = cg_split_bundle((const char *)data + 3, size - 3, max_entries, max_obs,
	                      (data[2] & 1) ? &prov : NULL, &out, ends, 64, &n, why, sizeof(why));
	if (err != CG_OK && err != CG_EINVAL && err != CG_ENOMEM)
		abort();
	if (err == CG_OK) {
		in = cJSON_ParseWithLength((const char *)data + 3, size - 3);
		for (i = 0; i < n; i++) {
			cJSON *part = cJSON_ParseWithLength(out.p + from, ends[i] - from);

			if (!part)
				abort(); /* a part that is not JSON */
			from = ends[i];
			if (max_entries &&
			    (size_t)cJSON_GetArraySize(
			            cJSON_GetObjectItemCaseSensitive(part, "entry")) > max_entries)
				abort();
			if (max_obs && (size_t)count(part, "Observation", 0) > max_obs)
				abort();
			total += (size_t)count(part, "Provenance", 1);
			cJSON_Delete(part);
		}
		if (in && total != (size_t)count(in, "Provenance", 1))
			abort(); /* an entry lost or doubled */
		cJSON_Delete(in);
	}
	cg_buf_free(&out);
	return 0;
}
