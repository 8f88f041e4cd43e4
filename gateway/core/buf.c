/* buf.c: capped growable buffers; see buf.h for the contract. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
cg_buf_init(struct cg_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
cg_buf_free(struct cg_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void
cg_buf_reset(struct cg_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void
cg_buf_truncate(struct cg_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->p[len] = '\0';
	}
}

enum cg_err
cg_buf_reserve(struct cg_buf *b, size_t n)
{
	size_t need;
	char *p;

	if (n > b->max - b->len)
		return CG_ELIMIT;
	need = b->len + n + 1;
	if (need <= b->cap)
		return CG_OK;
	p = realloc(b->p, need);
	if (!p)
		return CG_ENOMEM;
	if (!b->p)
		p[0] = '\0';
	b->p = p;
	b->cap = need;
	return CG_OK;
}

enum cg_err
cg_buf_add_slow(struct cg_buf *b, const void *data, size_t len)
{
	size_t need;

	if (len > b->max - b->len) {
		cg_buf_free(b);
		return CG_ELIMIT;
	}
	need = b->len + len + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < need)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		p = realloc(b->p, cap);
		if (!p) {
			cg_buf_free(b);
			return CG_ENOMEM;
		}
		b->p = p;
		b->cap = cap;
	}
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return CG_OK;
}

enum cg_err
cg_buf_addstr(struct cg_buf *b, const char *s)
{
	return cg_buf_add(b, s, strlen(s));
}

size_t
cg_put_digits(char *p, unsigned long long u)
{
	char digits[20];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	memcpy(p, digits + i, sizeof(digits) - i);
	return sizeof(digits) - i;
}

enum cg_err
cg_buf_add_ulong(struct cg_buf *b, unsigned long n)
{
	char digits[20];

	return cg_buf_add(b, digits, cg_put_digits(digits, n));
}

/* Whether fmt has no conversion but %s. */
static int
only_strings(const char *fmt)
{
	for (; *fmt; fmt++)
		if (*fmt == '%' && *++fmt != 's')
			return 0;
	return 1;
}

enum cg_err
cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap)
{
	char small[256];
	char *tmp;
	va_list ap2;
	int n;
	enum cg_err result;

	if (only_strings(fmt)) {
		/* what vsnprintf would write, piece by piece: a failing piece
		 * frees the buffer as a failing whole would */
		const char *run = fmt, *f;

		result = CG_OK;
		va_copy(ap2, ap);
		for (f = fmt; *f && !result; f++) {
			const char *s;

			if (*f != '%')
				continue;
			s = va_arg(ap2, const char *);
			result = cg_buf_add(b, run, (size_t)(f - run));
			if (!result)
				result = cg_buf_addstr(b, s ? s : "(null)");
			run = ++f + 1;
		}
		va_end(ap2);
		return result ? result : cg_buf_add(b, run, strlen(run));
	}
	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		cg_buf_free(b);
		return CG_EINVAL;
	}
	if ((size_t)n < sizeof(small))
		return cg_buf_add(b, small, (size_t)n);
	/* Longer than the stack buffer: format once more into the heap. */
	if ((size_t)n > b->max - b->len) {
		cg_buf_free(b);
		return CG_ELIMIT;
	}
	tmp = malloc((size_t)n + 1);
	if (!tmp) {
		cg_buf_free(b);
		return CG_ENOMEM;
	}
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	result = cg_buf_add(b, tmp, (size_t)n);
	free(tmp);
	return result;
}

enum cg_err
cg_buf_printf(struct cg_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum cg_err result;

	va_start(ap, fmt);
	result = cg_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return result;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether a byte of w needs escaping in a JSON string: '"', '\\' or a
 * control character (SWAR; a flagged word goes the slow way). */
static int
json_special(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), s = w ^ (ONES * '\\');

	return ((((q - ONES) & ~q) | ((s - ONES) & ~s) | ((w - ONES * 0x20) & ~w)) & HIGHS) != 0;
}

enum cg_err
cg_buf_add_json_string(struct cg_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, run = 0;
	enum cg_err result;

	for (;;) {
		char esc[7];
		size_t elen = 2;

		while (n - i >= 8) {
			uint64_t w;

			memcpy(&w, u + i, 8);
			if (json_special(w))
				break;
			i += 8;
		}
		while (i < n && u[i] >= 0x20 && u[i] != '"' && u[i] != '\\')
			i++;
		if (i >= n)
			break;
		result = cg_buf_add(b, u + run, i - run);
		if (result)
			return result;
		esc[0] = '\\';
		switch (u[i]) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 15];
			elen = 6;
		}
		result = cg_buf_add(b, esc, elen);
		if (result)
			return result;
		run = ++i;
	}
	return cg_buf_add(b, u + run, n - run);
}

enum cg_err
cg_buf_add_printable(struct cg_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	const unsigned char *run = u;
	enum cg_err result;

	for (; *u; u++) {
		char esc[4];
		size_t elen = 2;

		if (*u >= 0x20 && *u != 0x7f)
			continue;
		result = cg_buf_add(b, run, (size_t)(u - run));
		if (result)
			return result;
		esc[0] = '\\';
		if (*u == '\n') {
			esc[1] = 'n';
		} else if (*u == '\t') {
			esc[1] = 't';
		} else {
			esc[1] = 'x';
			esc[2] = hex[*u >> 4];
			esc[3] = hex[*u & 15];
			elen = 4;
		}
		result = cg_buf_add(b, esc, elen);
		if (result)
			return result;
		run = u + 1;
	}
	return cg_buf_add(b, run, (size_t)(u - run));
}

char *
cg_buf_take(struct cg_buf *b)
{
	char *p = b->p;

	if (!p) {
		p = malloc(1);
		if (p)
			p[0] = '\0';
	}
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
