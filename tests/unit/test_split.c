/*
 * test_split.c: inputs are cut into the right records, in every format, with
 * the right index, line and column, and broken inputs are reported rather
 * than dropped: NDJSON goes on after a bad line, JSON stops at a syntax error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "support.h"
#include "validate.h"

struct seen {
	size_t n;
	unsigned long index[16];
	unsigned long line[16];
	int valid[16];
	enum cg_code first_code[16];
	unsigned long first_line[16];
	unsigned long first_col[16];
	char id[16][32];
};

static enum cg_err
on_record(void *ctx, const struct cg_record_report *r)
{
	struct seen *s = ctx;
	size_t i = s->n++;

	s->index[i] = r->index;
	s->line[i] = r->pos.line;
	s->valid[i] = cg_diag_is_valid(r->diag);
	s->first_code[i] = r->diag->n ? r->diag->v[0].code : CG_C__COUNT;
	s->first_line[i] = r->diag->n ? r->diag->v[0].line : 0;
	s->first_col[i] = r->diag->n ? r->diag->v[0].column : 0;
	snprintf(s->id[i], sizeof(s->id[i]), "%s", r->record_id ? r->record_id : "");
	return CG_OK;
}

static char *one_line; /* the valid sample, on one line */

static void
run(const char *text, enum cg_format format, struct seen *s, size_t max_record)
{
	struct cg_validate_opts o;
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);

	memcpy(copy, text, len);
	memset(s, 0, sizeof(*s));
	cg_validate_opts_default(&o, test_mappings());
	o.today.year = 2026;
	o.today.month = 1;
	o.today.day = 1;
	if (max_record)
		o.limits.max_record = max_record;
	assert_int_equal(cg_validate_input(&o, copy, len, format, on_record, s), CG_OK);
	free(copy);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	static char buf[1 << 16];
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return buf;
}

static void
ndjson_goes_on_after_a_bad_line(void **state)
{
	struct seen s;

	(void)state;
	run(fmt("%s\n{\"recordId\": \n\n%s\r\n", one_line, one_line), CG_FORMAT_NDJSON, &s, 0);
	assert_int_equal(s.n, 3);
	assert_true(s.valid[0]);
	assert_int_equal(s.line[0], 1);
	assert_false(s.valid[1]);
	assert_int_equal(s.first_code[1], CG_C_JSON_SYNTAX);
	assert_int_equal(s.first_line[1], 2);
	assert_int_equal(s.first_col[1], 14); /* end of the line */
	assert_true(s.valid[2]);
	assert_int_equal(s.line[2], 4); /* the blank line 3 is skipped */
	assert_int_equal(s.index[2], 2);
	assert_string_equal(s.id[2], "HF-2024-0001");
}

static void
ndjson_two_records_on_one_line(void **state)
{
	struct seen s;

	(void)state;
	run(fmt("%s %s\n", one_line, one_line), CG_FORMAT_NDJSON, &s, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.first_code[0], CG_C_JSON_SYNTAX);
	assert_int_equal(s.first_col[0], strlen(one_line) + 2);
}

static void
array_of_records(void **state)
{
	struct seen s;

	(void)state;
	run(fmt("[\n  %s,\n  {\"recordId\": 5}\n]\n", one_line), CG_FORMAT_JSON, &s, 0);
	assert_int_equal(s.n, 2);
	assert_true(s.valid[0]);
	assert_int_equal(s.line[0], 2);
	assert_false(s.valid[1]);
	assert_int_equal(s.index[1], 1);
	assert_int_equal(s.line[1], 3);
	assert_int_equal(s.first_line[1], 3);
}

static void
truncated_array_keeps_earlier_records(void **state)
{
	struct seen s;

	(void)state;
	run(fmt("[%s, %s", one_line, "{\"a\": [1, 2"), CG_FORMAT_JSON, &s, 0);
	assert_int_equal(s.n, 2);
	assert_true(s.valid[0]);
	assert_int_equal(s.first_code[1], CG_C_JSON_SYNTAX);
}

static void
array_missing_comma(void **state)
{
	struct seen s;

	(void)state;
	run(fmt("[%s %s]", one_line, one_line), CG_FORMAT_JSON, &s, 0);
	assert_int_equal(s.n, 2);
	assert_true(s.valid[0]);
	assert_int_equal(s.first_code[1], CG_C_JSON_SYNTAX);
}

static void
trailing_data(void **state)
{
	struct seen s;

	(void)state;
	run(fmt("[%s] x", one_line), CG_FORMAT_JSON, &s, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.first_code[1], CG_C_JSON_SYNTAX);
	run(fmt("%s\n%s", one_line, one_line), CG_FORMAT_JSON, &s, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.first_code[0], CG_C_JSON_SYNTAX);
	assert_int_equal(s.first_line[0], 2);
}

static void
empty_inputs(void **state)
{
	static const char *const texts[] = {"", "   \n\n", "[]", "[ \n ]", "\xef\xbb\xbf"};
	struct seen s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		run(texts[i], CG_FORMAT_JSON, &s, 0);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.first_code[0], CG_C_EMPTY_INPUT);
		/* As NDJSON, "[ \n ]" is two broken lines: what matters is that
		 * nothing passes. */
		run(texts[i], CG_FORMAT_NDJSON, &s, 0);
		assert_true(s.n >= 1);
		assert_false(s.valid[0]);
		assert_false(s.valid[s.n - 1]);
	}
}

static void
byte_order_mark(void **state)
{
	struct seen s;

	(void)state;
	run(fmt("\xef\xbb\xbf%s", one_line), CG_FORMAT_JSON, &s, 0);
	assert_int_equal(s.n, 1);
	assert_true(s.valid[0]);
}

static void
non_object_records(void **state)
{
	struct seen s;

	(void)state;
	run("[1, \"x\", null, []]", CG_FORMAT_JSON, &s, 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.first_code[0], CG_C_TYPE);
	assert_int_equal(s.first_code[3], CG_C_TYPE);
	assert_int_equal(s.first_col[1], 5);
}

/* A record over the size limit is reported, and the array goes on. */
static void
too_large_record_in_array(void **state)
{
	struct seen s;
	char big[3000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	run(fmt("[{\"big\": \"%s\"},\n%s]", big, one_line), CG_FORMAT_JSON, &s, 8192);
	assert_int_equal(s.n, 2);
	assert_int_not_equal(s.first_code[0], CG_C_JSON_TOO_LARGE); /* fits in 8 KiB */
	run(fmt("[{\"big\": \"%s\", \"b2\": \"%s\", \"b3\": \"%s\"},\n%s]", big, big, big,
	        one_line),
	    CG_FORMAT_JSON, &s, 8192);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.first_code[0], CG_C_JSON_TOO_LARGE);
	assert_true(s.valid[1]);
	assert_int_equal(s.line[1], 2);
}

static void
auto_format(void **state)
{
	struct seen s;
	char *pretty = test_read_data("records/valid-heart-failure.json");

	(void)state;
	run(pretty, CG_FORMAT_AUTO, &s, 0);
	assert_int_equal(s.n, 1);
	assert_true(s.valid[0]);
	run(fmt("%s\n%s\n", one_line, one_line), CG_FORMAT_AUTO, &s, 0);
	assert_int_equal(s.n, 2);
	assert_true(s.valid[1]);
	assert_int_equal(s.line[1], 2);
	free(pretty);
}

/* Columns count characters: the é before the bad value counts once. */
static void
columns_count_characters(void **state)
{
	struct seen s;

	(void)state;
	run("{\"caf\xc3\xa9\": 1}", CG_FORMAT_JSON, &s, 0);
	assert_int_equal(s.n, 1);
	/* issues are sorted by position: the unknown member comes first */
	assert_int_equal(s.first_code[0], CG_C_REQUIRED);
	run("\n  {\"schemaVersion\": \"1.0\", \"x\xc3\xa9\": 1, \"recordId\": 7}", CG_FORMAT_JSON,
	    &s, 0);
	assert_int_equal(s.first_line[0], 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ndjson_goes_on_after_a_bad_line),
	        cmocka_unit_test(ndjson_two_records_on_one_line),
	        cmocka_unit_test(array_of_records),
	        cmocka_unit_test(truncated_array_keeps_earlier_records),
	        cmocka_unit_test(array_missing_comma),
	        cmocka_unit_test(trailing_data),
	        cmocka_unit_test(empty_inputs),
	        cmocka_unit_test(byte_order_mark),
	        cmocka_unit_test(non_object_records),
	        cmocka_unit_test(too_large_record_in_array),
	        cmocka_unit_test(auto_format),
	        cmocka_unit_test(columns_count_characters),
	};
	char *pretty = test_read_data("records/valid-heart-failure.json");
	cJSON *j = cJSON_Parse(pretty);
	int failed;

	one_line = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	free(pretty);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	free(one_line);
	return failed;
}
