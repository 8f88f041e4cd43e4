/* textpos.c: line and column counting; see textpos.h. */
#include <string.h>

#include "textpos.h"

void
cg_textpos_start(struct cg_textpos *tp)
{
	tp->offset = 0;
	tp->line = 1;
	tp->column = 1;
}

static unsigned long
count_chars(const char *p, size_t from, size_t to)
{
	unsigned long n = 0;

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
