/*
 * test_textpos.c: cg_textpos_advance's line and column (its SSE2 and 8-byte
 * counting of UTF-8 characters) against a byte-by-byte count, on random
 * text of one to three-byte characters and newlines, in steps of every
 * size, and past the 255 blocks after which the SSE2 lanes are summed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "textpos.h"

/* The position of offset `to`, one byte at a time. */
static void
naive(const char *p, size_t to, unsigned long *line, unsigned long *column)
{
	size_t i;

	*line = 1;
	*column = 1;
	for (i = 0; i < to; i++) {
		if (p[i] == '\n') {
			(*line)++;
			*column = 1;
		} else if (((unsigned char)p[i] & 0xc0) != 0x80) {
			(*column)++;
		}
	}
}

/* n bytes of random text: ASCII, é and ÿ (2 bytes), € (3 bytes), and a newline
 * every so often (none when lines is 0). */
static char *
random_text(size_t n, int lines, unsigned *seed)
{
	char *p = malloc(n + 4);
	size_t i = 0;

	assert_non_null(p);
	while (i < n) {
		unsigned r = (unsigned)rand_r(seed) % 100;

		if (lines && r < 2) {
			p[i++] = '\n';
		} else if (r < 70) {
			p[i++] = (char)('a' + r % 26);
		} else if (r < 80) {
			p[i++] = (char)0xc3;
			p[i++] = (char)0xa9;
		} else if (r < 88) {
			/* ÿ: the last continuation byte, 0xbf */
			p[i++] = (char)0xc3;
			p[i++] = (char)0xbf;
		} else {
			p[i++] = (char)0xe2;
			p[i++] = (char)0x82;
			p[i++] = (char)0xac;
		}
	}
	return p;
}

static void
agrees(const char *p, size_t len, size_t step)
{
	struct cg_textpos tp;
	size_t to;

	cg_textpos_start(&tp);
	for (to = 0; to <= len; to += step) {
		unsigned long line, column;

		cg_textpos_advance(&tp, p, to);
		naive(p, to, &line, &column);
		assert_int_equal(tp.line, line);
		assert_int_equal(tp.column, column);
	}
}

static void
columns_count_characters(void **state)
{
	unsigned seed = 42;
	size_t sizes[] = {1, 15, 16, 17, 100, 4095, 4096, 4097, 70000};
	size_t steps[] = {1, 7, 16, 333, 100000};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int lines;

		for (lines = 0; lines < 2; lines++) {
			char *p = random_text(sizes[i], lines, &seed);

			for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
				if (sizes[i] / steps[j] < 5000) /* the naive count is quadratic */
					agrees(p, sizes[i], steps[j]);
			free(p);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(columns_count_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
