/* textpos.c: line and column counting; see textpos.h. */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

#ifdef __SSE2__
	/* Sixteen at a time: a continuation byte is below -64 as a signed
	 * byte; a byte per lane counts them for up to 255 blocks, then the
	 * lanes are summed (psadbw). */
	while (to - from >= 16) {
		size_t blocks = (to - from) / 16, k;
		__m128i acc = _mm_setzero_si128(), sum;

		if (blocks > 255)
			blocks = 255;
		for (k = 0; k < blocks; k++, from += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + from));

			acc = _mm_sub_epi8(acc, _mm_cmplt_epi8(x, _mm_set1_epi8(-64)));
		}
		sum = _mm_sad_epu8(acc, _mm_setzero_si128());
		n += (unsigned long)(blocks * 16) -
		     (unsigned long)(_mm_cvtsi128_si32(sum) + _mm_extract_epi16(sum, 4));
	}
#endif
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
