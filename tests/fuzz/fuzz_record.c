/*
 * fuzz_record.c: libFuzzer target over everything `cellgate validate` does
 * with outside text: splitting (JSON, array, NDJSON), the strict scanner and
 * tree builder, every record rule, and the whole FHIR validator (inputs with
 * a resourceType; the corpus holds FHIR seeds), locating issues, and
 * rendering them as text and NDJSON. The first byte picks the input format
 * so that all three are reached.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mappings.h"
#include "render.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cg_mappings *mappings;

static enum cg_err
render_both(void *ctx, const struct cg_record_report *r)
{
	struct cg_buf *b = ctx;
	enum cg_err result;

	cg_buf_reset(b);
	result = cg_render_text(b, "fuzz", r);
	if (!result)
		result = cg_render_json(b, "fuzz", r);
	/* Every issue must have been placed inside the input. */
	for (size_t i = 0; i < r->diag->n; i++)
		if (!r->diag->v[i].located || r->diag->v[i].line == 0 || r->diag->v[i].column == 0)
			abort();
	return result == CG_ELIMIT ? CG_OK : result;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_validate_opts o;
	struct cg_buf out;
	char *why = NULL;
	char *copy;

	if (!mappings && cg_mappings_load(CG_TEST_MAPPINGS, &mappings, &why)) {
		fprintf(stderr, "fuzz_record: %s\n", why ? why : "cannot load mappings");
		abort();
	}
	if (size == 0)
		return 0;
	/* An exact-size copy, so that ASan sees any read past the end. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	cg_validate_opts_default(&o, mappings);
	o.limits.max_depth = 16;
	o.limits.max_string = 4096;
	o.limits.max_record = 64 * 1024;
	o.max_issues = 50;
	cg_buf_init(&out, CG_BUF_MAX_ANSWER);
	(void)cg_validate_input(&o, copy, size - 1, (enum cg_format)(data[0] % 3), render_both,
	                        &out);
	cg_buf_free(&out);
	free(copy);
	return 0;
}
