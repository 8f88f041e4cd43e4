/*
 * fuzz_map.c: libFuzzer target over the mapping, with its invariants
 * checked on every input the validators accept:
 *  - a valid record maps to a Bundle that cellgate's FHIR validator accepts,
 *    and that maps back to the identical record (cJSON_Compare);
 *  - valid FHIR maps to a record or to issues, never to both, and a record
 *    that comes out is valid.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "fhir_validate.h"
#include "map.h"
#include "mappings.h"
#include "record_validate.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cg_mappings *mappings;

static enum cg_err
on_item(void *ctx, const struct cg_record_report *r)
{
	struct cg_diag d;
	cJSON *out = NULL, *back = NULL;

	(void)ctx;
	if (!r->root || !cg_diag_is_valid(r->diag))
		return CG_OK;
	cg_diag_init(&d, 50);
	if (!cJSON_GetObjectItemCaseSensitive(r->root, "resourceType")) {
		struct cg_buf text;

		cg_buf_init(&text, CG_BUF_MAX_ITEMS);
		if (cg_map_record_to_fhir(r->root, mappings, NULL, &text))
			abort();
		out = cJSON_ParseWithLength(text.p, text.len); /* the text must be JSON */
		cg_buf_free(&text);
		if (!out)
			abort();
		if (cg_fhir_validate(out, mappings->fhir, &d) || d.errors)
			abort(); /* we produced invalid FHIR */
		cg_diag_reset(&d);
		if (cg_map_fhir_to_record(out, mappings, NULL, &back, &d) || !back)
			abort();
		if (!cJSON_Compare(back, r->root, 1))
			abort(); /* the round trip lost something */
	} else {
		if (cg_map_fhir_to_record(r->root, mappings, NULL, &back, &d))
			abort();
		if (!back == !d.errors)
			abort(); /* a record and errors, or neither */
	}
	cJSON_Delete(out);
	cJSON_Delete(back);
	cg_diag_free(&d);
	return CG_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_validate_opts o;
	char *why = NULL, *copy;

	if (!mappings && cg_mappings_load(CG_TEST_MAPPINGS, &mappings, &why)) {
		fprintf(stderr, "fuzz_map: %s\n", why ? why : "cannot load mappings");
		abort();
	}
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	cg_validate_opts_default(&o, mappings);
	o.limits.max_record = 256 * 1024;
	(void)cg_validate_input(&o, copy, size, CG_FORMAT_AUTO, on_item, NULL);
	free(copy);
	return 0;
}
