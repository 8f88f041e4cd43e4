/*
 * test_json_scan.c: the strict scanner accepts exactly RFC 8259 JSON in
 * UTF-8 and reports the right code at the right offset for what it rejects.
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

#include "arena.h"
#include "json_scan.h"

struct scan_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	int ok;
	enum cg_code code; /* when !ok */
	size_t offset;     /* when !ok */
};

#define OK(t)                                                                                      \
	{                                                                                          \
		t, 0, 1, 0, 0                                                                      \
	}
#define BAD(t, c, o)                                                                               \
	{                                                                                          \
		t, 0, 0, c, o                                                                      \
	}
#define BADN(t, n, c, o)                                                                           \
	{                                                                                          \
		t, n, 0, c, o                                                                      \
	}

static const struct scan_case cases[] = {
        OK("{}"),
        OK("[]"),
        OK(" { \"a\" : [ 1 , -0.5e+3 , true , false , null , \"x\" ] } "),
        OK("\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\""),
        OK("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
        OK("0"),
        OK("-0"),
        OK("1e400"), /* the grammar allows it; the validator reports the range */
        OK("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"), /* 32 deep */
        BAD("", CG_C_JSON_SYNTAX, 0),
        BAD("   ", CG_C_JSON_SYNTAX, 3),
        BAD("{", CG_C_JSON_SYNTAX, 1),
        BAD("{\"a\":1", CG_C_JSON_SYNTAX, 6),
        BAD("{\"a\" 1}", CG_C_JSON_SYNTAX, 5),
        BAD("{\"a\":1,}", CG_C_JSON_SYNTAX, 7),
        BAD("[1,]", CG_C_JSON_SYNTAX, 3),
        BAD("[1 2]", CG_C_JSON_SYNTAX, 3),
        BAD("{'a':1}", CG_C_JSON_SYNTAX, 1),
        BAD("{a:1}", CG_C_JSON_SYNTAX, 1),
        BAD("[01]", CG_C_JSON_SYNTAX, 2),
        BAD("[1.]", CG_C_JSON_SYNTAX, 3),
        BAD("[.5]", CG_C_JSON_SYNTAX, 1),
        BAD("[1e]", CG_C_JSON_SYNTAX, 3),
        BAD("[+1]", CG_C_JSON_SYNTAX, 1),
        BAD("[NaN]", CG_C_JSON_SYNTAX, 1),
        BAD("[Infinity]", CG_C_JSON_SYNTAX, 1),
        BAD("[tru]", CG_C_JSON_SYNTAX, 1),
        BAD("[nul", CG_C_JSON_SYNTAX, 4),
        BAD("\"abc", CG_C_JSON_SYNTAX, 4),
        BAD("\"a\tb\"", CG_C_JSON_SYNTAX, 2),
        BAD("\"a\\x\"", CG_C_JSON_SYNTAX, 2),
        BAD("\"\\u12\"", CG_C_JSON_SYNTAX, 1),
        BAD("\"\\u0000\"", CG_C_JSON_NUL_CHAR, 1),
        BAD("{\"a\\u0000b\":1}", CG_C_JSON_NUL_CHAR, 3),
        BAD("\"\\udc00\"", CG_C_JSON_ENCODING, 1),
        BAD("\"\\ud800\"", CG_C_JSON_ENCODING, 1),
        BAD("\"\\ud800\\u0041\"", CG_C_JSON_ENCODING, 1),
        BAD("\"\xff\"", CG_C_JSON_ENCODING, 1),
        BAD("\"\xc0\x80\"", CG_C_JSON_ENCODING, 1),         /* overlong NUL */
        BAD("\"\xe0\x80\xaf\"", CG_C_JSON_ENCODING, 1),     /* overlong '/' */
        BAD("\"\xed\xa0\x80\"", CG_C_JSON_ENCODING, 1),     /* UTF-16 surrogate */
        BAD("\"\xf4\x90\x80\x80\"", CG_C_JSON_ENCODING, 1), /* above U+10FFFF */
        BAD("\"\xc3\"", CG_C_JSON_ENCODING, 1),             /* truncated sequence */
        BAD("[\xc3\xa9]", CG_C_JSON_SYNTAX, 1),             /* UTF-8 outside a string */
        BADN("[\"a\0b\"]", 7, CG_C_JSON_SYNTAX, 3),         /* raw NUL byte */
        BADN("[1,\0]", 5, CG_C_JSON_SYNTAX, 3),
        BAD("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", CG_C_JSON_DEPTH,
            32),
};

static void
table(void **state)
{
	struct cg_json_limits lim;
	size_t i;

	(void)state;
	cg_json_limits_default(&lim);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scan_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		char *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
		struct cg_json_fault f;
		size_t pos = 0;
		int r;

		memcpy(copy, c->text, len);
		r = cg_json_scan(copy, len, &pos, &lim, &f);
		if (c->ok && r == 0)
			pos = cg_json_skip_ws(copy, len, pos);
		if ((r == 0) != c->ok || (c->ok && pos != len) ||
		    (!c->ok && (f.code != c->code || f.offset != c->offset)))
			fail_msg("case %zu (%s): r=%d code=%s offset=%zu msg=%s", i, c->text, r,
			         r ? cg_code_name(f.code) : "-", r ? f.offset : pos,
			         r ? f.message : "");
		free(copy);
	}
}

/* 100,000 levels: rejected at the limit, fast, without recursion. */
static void
deep_nesting(void **state)
{
	size_t n = 100000, pos = 0;
	char *text = malloc(2 * n);
	struct cg_json_limits lim;
	struct cg_json_fault f;

	(void)state;
	memset(text, '[', n);
	memset(text + n, ']', n);
	cg_json_limits_default(&lim);
	assert_int_equal(cg_json_scan(text, 2 * n, &pos, &lim, &f), -1);
	assert_int_equal(f.code, CG_C_JSON_DEPTH);
	assert_int_equal(f.offset, CG_JSON_DEFAULT_MAX_DEPTH);
	free(text);
}

static void
string_limit(void **state)
{
	struct cg_json_limits lim;
	struct cg_json_fault f;
	char text[40];
	size_t pos = 0;

	(void)state;
	cg_json_limits_default(&lim);
	lim.max_string = 10;
	strcpy(text, "[\"0123456789\"]");
	assert_int_equal(cg_json_scan(text, strlen(text), &pos, &lim, &f), 0);
	pos = 0;
	strcpy(text, "[\"0123456789a\"]");
	assert_int_equal(cg_json_scan(text, strlen(text), &pos, &lim, &f), -1);
	assert_int_equal(f.code, CG_C_JSON_STRING_TOO_LONG);
	assert_int_equal(f.offset, 1);
	pos = 0;
	strcpy(text, "[12345678901]");
	assert_int_equal(cg_json_scan(text, strlen(text), &pos, &lim, &f), -1);
	assert_int_equal(f.code, CG_C_JSON_STRING_TOO_LONG);
}

struct seen {
	size_t value[16];
	size_t key[16];
	size_t n;
};

/* The offsets the parser kept beside each node, in pre-order (the order of
 * the text). */
static void
collect(struct seen *s, const cJSON *node)
{
	const struct cg_json_placed *pl = (const struct cg_json_placed *)node;
	const cJSON *c;

	s->value[s->n] = pl->value_off;
	s->key[s->n] = pl->key_off;
	s->n++;
	for (c = node->child; c; c = c->next)
		collect(s, c);
}

/* Each node of the parsed tree says where its value and its member name
 * start: what locate.c places issues by. */
static void
placed_offsets(void **state)
{
	const char *text = "{\"a\": [1, {\"b\": 2}], \"c\": \"x\"}";
	struct cg_json_limits lim;
	struct cg_json_fault f;
	struct seen s = {{0}, {0}, 0};
	struct cg_arena *a = cg_arena_new(4096);
	cJSON *root = NULL;
	size_t pos = 0;

	(void)state;
	assert_non_null(a);
	cg_json_limits_default(&lim);
	assert_int_equal(cg_json_parse(text, strlen(text), &pos, &lim, a, &root, &f), 0);
	collect(&s, root);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.value[0], 0); /* the object */
	assert_int_equal(s.key[0], CG_JSON_NO_KEY);
	assert_int_equal(s.value[1], 6); /* [1, ...] */
	assert_int_equal(s.key[1], 1);   /* "a" */
	assert_int_equal(s.value[2], 7); /* 1 */
	assert_int_equal(s.key[2], CG_JSON_NO_KEY);
	assert_int_equal(s.value[3], 10); /* {"b": 2} */
	assert_int_equal(s.value[4], 16); /* 2 */
	assert_int_equal(s.key[4], 11);
	assert_int_equal(s.value[5], 26); /* "x" */
	assert_int_equal(s.key[5], 21);
	cg_arena_free(a);
}

/* The eight-bytes-at-a-time path must see a special byte at any position. */
static void
special_byte_at_every_position(void **state)
{
	static const char specials[] = {'\x01', '\x1f', '\\', '\xff', '"'};
	struct cg_json_limits lim;
	struct cg_json_fault f;
	size_t k, s;

	(void)state;
	cg_json_limits_default(&lim);
	for (s = 0; s < sizeof(specials); s++)
		for (k = 0; k < 24; k++) {
			char text[40];
			size_t pos = 0;
			int r;

			memset(text, 'a', sizeof(text));
			text[0] = '"';
			text[1 + k] = specials[s];
			text[30] = '"';
			r = cg_json_scan(text, 31, &pos, &lim, &f);
			if (specials[s] == '"') {
				/* the string ends early, the rest is trailing data */
				assert_int_equal(r, 0);
				assert_int_equal(pos, 2 + k);
			} else {
				assert_int_equal(r, -1);
				assert_int_equal(f.offset, 1 + k);
			}
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(table),
	        cmocka_unit_test(deep_nesting),
	        cmocka_unit_test(string_limit),
	        cmocka_unit_test(placed_offsets),
	        cmocka_unit_test(special_byte_at_every_position),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
