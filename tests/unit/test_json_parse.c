/*
 * test_json_parse.c: the one-pass builder produces the same tree as
 * cJSON_Parse for everything the strict scanner accepts (differential test;
 * tests/fuzz/fuzz_json.c does the same on generated inputs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "arena.h"
#include "json_scan.h"
#include "support.h"

/* Node by node: types (but for our mark of numbers written with a fraction
 * or exponent), names, strings, numbers (bit for bit), order. */
static int
same_tree(const cJSON *a, const cJSON *b)
{
	for (; a && b; a = a->next, b = b->next) {
		if ((a->type & ~CG_JSON_NOT_INTEGRAL) != b->type || a->valueint != b->valueint ||
		    memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
		    (!a->string != !b->string) || (a->string && strcmp(a->string, b->string)) ||
		    (!a->valuestring != !b->valuestring) ||
		    (a->valuestring && strcmp(a->valuestring, b->valuestring)) ||
		    !same_tree(a->child, b->child))
			return 0;
	}
	return !a && !b;
}

static void
same_as_cjson(const char *text)
{
	struct cg_json_limits lim;
	struct cg_json_fault f;
	struct cg_arena *a = cg_arena_new(4096);
	cJSON *ours = NULL, *theirs;
	size_t pos = 0;
	char *p1, *p2;

	cg_json_limits_default(&lim);
	assert_int_equal(cg_json_parse(text, strlen(text), &pos, &lim, a, &ours, &f), 0);
	theirs = cJSON_Parse(text);
	assert_non_null(theirs);
	p1 = cJSON_PrintUnformatted(ours);
	p2 = cJSON_PrintUnformatted(theirs);
	if (strcmp(p1, p2) != 0)
		fail_msg("differ:\n ours   %s\n cJSON  %s", p1, p2);
	assert_true(same_tree(ours, theirs));
	assert_int_equal(cJSON_GetArraySize(ours), cJSON_GetArraySize(theirs));
	free(p1);
	free(p2);
	cJSON_Delete(theirs);
	cg_arena_free(a);
}

static void
values(void **state)
{
	static const char *const texts[] = {
	        "{}",
	        "[]",
	        "0",
	        "-12.5e3",
	        "1e400",
	        "12345678901234567890",
	        "[true, false, null, \"\", 0.1]",
	        "\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"",
	        "\"\xe2\x82\xac and \\u20ac\"",
	        "{\"a\": {\"b\": [1, {\"c\": [[], {}]}]}, \"d\": \"e\"}",
	        "{\"k\": 1, \"k\": 2}",
	        "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]",
	        "{\"key with \\\"quote\\\"\": \"v\", \"\\u0041\": 1}",
	        " \n\t[ 1 ,\n 2 ] ",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		same_as_cjson(texts[i]);
}

static void
sample_records(void **state)
{
	static const char *const files[] = {
	        "records/valid-heart-failure.json", "records/valid-ami-bm-mnc.json",
	        "records/valid-copd-exosome.json", "records/valid-liver-cirrhosis.json"};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		char *text = test_read_data(files[i]);

		same_as_cjson(text);
		free(text);
	}
}

/* The builder's list links match cJSON's: the first child's prev is the last. */
static void
list_links(void **state)
{
	struct cg_json_limits lim;
	struct cg_json_fault f;
	struct cg_arena *a = cg_arena_new(4096);
	cJSON *root;
	size_t pos = 0;

	(void)state;
	cg_json_limits_default(&lim);
	assert_int_equal(cg_json_parse("[1,2,3]", 7, &pos, &lim, a, &root, &f), 0);
	assert_int_equal(root->child->prev->valueint, 3);
	assert_null(root->child->prev->next);
	assert_int_equal(root->child->next->prev->valueint, 1);
	assert_true(cg_arena_used(a) > 0);
	cg_arena_reset(a);
	assert_int_equal(cg_arena_used(a), 0);
	cg_arena_free(a);
}

/* Numbers written with a fraction or exponent are marked: an integer field
 * refuses 1.0 and 1e0 although their value is whole. */
static void
integral_mark(void **state)
{
	static const struct {
		const char *text;
		int marked;
	} v[] = {{"1", 0},   {"-0", 0},    {"123456789012", 0}, {"1.0", 1},
	         {"1e0", 1}, {"10e-1", 1}, {"1E+0", 1},         {"-2.50", 1}};
	struct cg_json_limits lim;
	struct cg_json_fault f;
	size_t i;

	(void)state;
	cg_json_limits_default(&lim);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct cg_arena *a = cg_arena_new(4096);
		cJSON *n = NULL;
		size_t pos = 0;

		assert_int_equal(cg_json_parse(v[i].text, strlen(v[i].text), &pos, &lim, a, &n, &f),
		                 0);
		assert_true(cJSON_IsNumber(n));
		assert_int_equal(!!(n->type & CG_JSON_NOT_INTEGRAL), v[i].marked);
		cg_arena_free(a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(values),
	        cmocka_unit_test(integral_mark),
	        cmocka_unit_test(sample_records),
	        cmocka_unit_test(list_links),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
