/* textpos.c: line and column counting; see textpos.h. */
#include <stdint.h>
#include <string.h>

#include "textpos.h"

void
cg_textpos_start(struct cg_textpos *tp)
{
	tp->offset = 0;
	tp->line = 1;
	tp->column = 1;
}

/* Characters are the bytes that are not UTF-8 continuation bytes
 * (10xxxxxx). Eight bytes at a time: a byte's bit 7 set and bit 6 clear
 * marks a continuation byte; every issue of a record counts its way from the
 * previous one, so this runs over most of the text of a record with issues. */
static unsigned long
count_chars(const char *p, size_t from, size_t to)
{
	const uint64_t high = 0x8080808080808080ull;
	unsigned long n = 0;

	for (; from + 8 <= to; from += 8) {
		uint64_t x;

		memcpy(&x, p + from, 8);
		/* one per continuation byte, summed by the multiplication */
		x = (x & ~(x << 1) & high) >> 7;
		n += 8 - (unsigned long)((x * 0x0101010101010101ull) >> 56);
	}
	for (; from < to; from++)
		if (((unsigned char)p[from] & 0xc0) != 0x80)
			n++;
	return n;
}

void
cg_textpos_advance(struct cg_textpos *tp, const char *p, size_t to)
{
	size_t i = tp->offset;
	size_t line_start = (size_t)-1;
	const char *nl;

	if (to <= i)
		return;
	/* memchr is vectorised; columns are counted only on the last line. */
	while ((nl = memchr(p + i, '\n', to - i)) != NULL) {
		tp->line++;
		i = (size_t)(nl - p) + 1;
		line_start = i;
	}
	if (line_start != (size_t)-1)
		tp->column = 1 + count_chars(p, line_start, to);
	else
		tp->column += count_chars(p, tp->offset, to);
	tp->offset = to;
}
