/*
 * json_scan.c: the strict JSON scanner; see json_scan.h.
 *
 * A state machine over one explicit stack of open containers. Strings take
 * a fast path over plain ASCII and check UTF-8 byte by byte otherwise,
 * rejecting overlong forms, surrogates and code points above U+10FFFF.
 */
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "arena.h"
#include "json_scan.h"

void
cg_json_limits_default(struct cg_json_limits *lim)
{
	lim->max_depth = CG_JSON_DEFAULT_MAX_DEPTH;
	lim->max_string = CG_JSON_DEFAULT_MAX_STRING;
	lim->max_record = CG_JSON_DEFAULT_MAX_RECORD;
}

/* Where the scanner skips white space: inline, and done at once when there
 * is none (compact JSON, NDJSON), as every JSON white space byte is at most
 * ' '. */
static inline size_t
skip_ws(const char *p, size_t end, size_t pos)
{
	if (pos < end && (unsigned char)p[pos] > ' ')
		return pos;
	while (pos < end && (p[pos] == ' ' || p[pos] == '\n' || p[pos] == '\r' || p[pos] == '\t'))
		pos++;
	return pos;
}

size_t
cg_json_skip_ws(const char *p, size_t end, size_t pos)
{
	while (pos < end && (p[pos] == ' ' || p[pos] == '\n' || p[pos] == '\r' || p[pos] == '\t'))
		pos++;
	return pos;
}

static int fail(struct cg_json_fault *f, enum cg_code code, size_t off, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
fail(struct cg_json_fault *f, enum cg_code code, size_t off, const char *fmt, ...)
{
	va_list ap;

	f->code = code;
	f->offset = off;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* Describes the byte at p[pos] for a message, without echoing control bytes. */
static int
fail_unexpected(struct cg_json_fault *f, const char *p, size_t end, size_t pos, const char *want)
{
	char what[48];

	if (pos >= end)
		return fail(f, CG_C_JSON_SYNTAX, end, "unexpected end of input, expected %s", want);
	if ((unsigned char)p[pos] > 0x20 && (unsigned char)p[pos] < 0x7f)
		snprintf(what, sizeof(what), "'%c'", p[pos]);
	else
		snprintf(what, sizeof(what), "byte 0x%02x", (unsigned char)p[pos]);
	f->code = CG_C_JSON_SYNTAX;
	f->offset = pos;
	snprintf(f->message, sizeof(f->message), "unexpected %s, expected %s", what, want);
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the four hex digits of a \u escape at p[pos]; -1 when malformed. */
static long
read_u4(const char *p, size_t end, size_t pos)
{
	long v = 0;
	int i;

	if (end - pos < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		int h = hexval(p[pos + (size_t)i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Length of the valid UTF-8 sequence at u[0..avail), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *u, size_t avail)
{
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		if (avail >= 2 && (u[1] & 0xc0) == 0x80)
			return 2;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (u[0] == 0xe0)
			lo = 0xa0; /* overlong */
		if (u[0] == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
		if (avail >= 3 && u[1] >= lo && u[1] <= hi && (u[2] & 0xc0) == 0x80)
			return 3;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		unsigned char lo = 0x80, hi = 0xbf;

		if (u[0] == 0xf0)
			lo = 0x90; /* overlong */
		if (u[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
		if (avail >= 4 && u[1] >= lo && u[1] <= hi && (u[2] & 0xc0) == 0x80 &&
		    (u[3] & 0xc0) == 0x80)
			return 4;
	}
	return 0;
}

/* Plain string bytes: printable ASCII other than '"' and '\\'. */
static const unsigned char plain[256] = {
        ['\x20'] = 1,
        [0x21] = 1,
        [0x23 ... 0x5b] = 1,
        [0x5d ... 0x7e] = 1,
};

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether a byte of w is '"', '\\', below 0x20 or above 0x7f (SWAR: a
 * borrow may flag a byte wrongly only after a truly special one, and a
 * flagged word goes the slow way, so no special byte is missed). */
static int
has_special(uint64_t w)
{
	uint64_t quote = w ^ (ONES * '"');
	uint64_t slash = w ^ (ONES * '\\');

	uint64_t flags = ((quote - ONES) & ~quote) | ((slash - ONES) & ~slash) |
	                 ((w - ONES * 0x20) & ~w) | w;

	return (flags & HIGHS) != 0;
}

/* Scans the string whose opening quote is at p[*pos]. */
static int
scan_string(const char *p, size_t end, size_t *pos, const struct cg_json_limits *lim,
            struct cg_json_fault *f, int *escaped)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t start = *pos;
	size_t i = start + 1;
	size_t stop = end;

	*escaped = 0;
	/* Never read further than the longest string allowed. */
	if (stop - start > lim->max_string + 2)
		stop = start + lim->max_string + 2;
	for (;;) {
#ifdef __SSE2__
		/* Sixteen bytes at a time (SSE2 is in every x86-64) while none
		 * is special: a quote, a backslash, a control character (at most
		 * 0x1f: the unsigned minimum with 0x1f is itself) or a non-ASCII
		 * byte (its sign bit); the first special one ends the string or
		 * goes the careful way below. Most strings end in the first. */
		while (stop - i >= 16) {
			const __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
			const __m128i sp = _mm_or_si128(
			        _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('"')),
			                     _mm_cmpeq_epi8(w, _mm_set1_epi8('\\'))),
			        _mm_cmpeq_epi8(_mm_min_epu8(w, _mm_set1_epi8(0x1f)), w));
			const unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(sp, w));

			if (mask) {
				i += (size_t)__builtin_ctz(mask);
				goto special; /* i is the special byte */
			}
			i += 16;
		}
#endif
		/* Eight bytes at a time while none is special: a quote, a
		 * backslash, a control character or a non-ASCII byte. */
		while (stop - i >= 8) {
			uint64_t w;

			memcpy(&w, u + i, 8);
			if (has_special(w))
				break;
			i += 8;
		}
		while (i < stop && plain[u[i]])
			i++;
#ifdef __SSE2__
	special:
#endif
		if (i >= stop) {
			if (stop < end)
				return fail(f, CG_C_JSON_STRING_TOO_LONG, start,
				            "string longer than the limit");
			return fail(f, CG_C_JSON_SYNTAX, end,
			            "unexpected end of input inside a string");
		}
		if (u[i] == '"')
			break;
		if (u[i] == '\\') {
			long cp;

			*escaped = 1;
			/* Look-ahead is bounded by end, not stop: a string cut by
			 * the length cap is reported as too long further down. */
			if (i + 1 >= end)
				return fail(f, CG_C_JSON_SYNTAX, end,
				            "unexpected end of input inside a string");
			switch (p[i + 1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				i += 2;
				continue;
			case 'u':
				break;
			default:
				return fail(f, CG_C_JSON_SYNTAX, i,
				            "invalid escape sequence in string");
			}
			cp = read_u4(p, end, i + 2);
			if (cp < 0)
				return fail(f, CG_C_JSON_SYNTAX, i,
				            "\\u must be followed by four hex digits");
			if (cp == 0)
				return fail(f, CG_C_JSON_NUL_CHAR, i, "\\u0000 is not accepted");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(f, CG_C_JSON_ENCODING, i,
				            "\\u escape is a lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				long lo = -1;

				if (end - i >= 12 && p[i + 6] == '\\' && p[i + 7] == 'u')
					lo = read_u4(p, end, i + 8);
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(f, CG_C_JSON_ENCODING, i,
					            "\\u escape is a high surrogate without its "
					            "low half");
				i += 12;
				continue;
			}
			i += 6;
			continue;
		}
		if (u[i] < 0x20)
			return fail(f, CG_C_JSON_SYNTAX, i,
			            "control character in string (must be escaped)");
		if (u[i] == 0x7f) {
			i++;
			continue;
		}
		{
			size_t n = utf8_len(u + i, end - i);

			if (n == 0)
				return fail(f, CG_C_JSON_ENCODING, i, "invalid UTF-8 in string");
			i += n;
		}
	}
	*pos = i + 1;
	return 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
scan_number(const char *p, size_t end, size_t *pos, const struct cg_json_limits *lim,
            struct cg_json_fault *f)
{
	size_t i = *pos;
	size_t start = i;

	if (i < end && p[i] == '-')
		i++;
	if (i >= end || !is_digit(p[i]))
		return fail_unexpected(f, p, end, i, "a digit");
	if (p[i] == '0') {
		i++;
		if (i < end && is_digit(p[i]))
			return fail(f, CG_C_JSON_SYNTAX, i, "leading zeros are not allowed");
	} else {
		while (i < end && is_digit(p[i]))
			i++;
	}
	if (i < end && p[i] == '.') {
		i++;
		if (i >= end || !is_digit(p[i]))
			return fail_unexpected(f, p, end, i, "a digit after '.'");
		while (i < end && is_digit(p[i]))
			i++;
	}
	if (i < end && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < end && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= end || !is_digit(p[i]))
			return fail_unexpected(f, p, end, i, "a digit in the exponent");
		while (i < end && is_digit(p[i]))
			i++;
	}
	if (i - start > lim->max_string)
		return fail(f, CG_C_JSON_STRING_TOO_LONG, start, "number longer than the limit");
	*pos = i;
	return 0;
}

static int
scan_literal(const char *p, size_t end, size_t *pos, struct cg_json_fault *f)
{
	static const char *const words[] = {"true", "false", "null"};
	size_t i;

	for (i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);

		if (p[*pos] != words[i][0])
			continue;
		if (end - *pos >= n && memcmp(p + *pos, words[i], n) == 0) {
			*pos += n;
			return 0;
		}
		if (end - *pos < n && memcmp(p + *pos, words[i], end - *pos) == 0)
			return fail(f, CG_C_JSON_SYNTAX, end, "unexpected end of input");
		break;
	}
	return fail_unexpected(f, p, end, *pos, "a JSON value");
}

/* ---- building a cJSON tree in the same pass --------------------------- */

struct builder {
	struct cg_arena *arena;
	cJSON *root;
	cJSON *parent[CG_JSON_MAX_MAX_DEPTH]; /* the open container at each depth */
	char *key;                            /* the member name of the next value */
};

static int
utf8_put(char *out, long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the string whose quotes are at p[start] and p[end - 1] (already
 * checked by scan_string, so every escape is well formed) into the arena.
 * escaped says whether scan_string saw a backslash at all; limit is where
 * the text ends. */
static char *
unescape(struct builder *b, const char *p, size_t start, size_t end, size_t limit, int escaped)
{
	size_t len = end - start - 2, i, o = 0;
	const char *in = p + start + 1;
	char *out;

	if (!escaped && len < 16 && limit - (start + 1) >= 16) {
		/* most names and codes: a copy of a fixed size, which compiles
		 * to two moves instead of a call (the 16 bytes are there to
		 * read, and room is made for them) */
		out = cg_arena_alloc(b->arena, 16);
		if (!out)
			return NULL;
		memcpy(out, in, 16);
		out[len] = '\0';
		return out;
	}
	out = cg_arena_alloc(b->arena, len + 1);
	if (!out)
		return NULL;
	if (!escaped) {
		memcpy(out, in, len);
		out[len] = '\0';
		return out;
	}
	for (i = 0; i < len; i++) {
		long cp;

		if (in[i] != '\\') {
			out[o++] = in[i];
			continue;
		}
		switch (in[++i]) {
		case 'b':
			out[o++] = '\b';
			continue;
		case 'f':
			out[o++] = '\f';
			continue;
		case 'n':
			out[o++] = '\n';
			continue;
		case 'r':
			out[o++] = '\r';
			continue;
		case 't':
			out[o++] = '\t';
			continue;
		case 'u':
			break;
		default: /* " \ / */
			out[o++] = in[i];
			continue;
		}
		cp = read_u4(in, len, i + 1);
		i += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (read_u4(in, len, i + 3) - 0xdc00);
			i += 6;
		}
		o += (size_t)utf8_put(out + o, cp);
	}
	out[o] = '\0';
	return out;
}

/* A new node for the value at hand, linked into its container the way
 * cJSON 1.7.15 links (the first child's prev is the last child). */
static cJSON *
node(struct builder *b, unsigned depth, int type, size_t value_off, size_t key_off)
{
	struct cg_json_placed *pl = cg_arena_alloc(b->arena, sizeof(*pl));
	cJSON *n = &pl->node;

	if (!pl)
		return NULL;
	pl->value_off = value_off;
	pl->key_off = key_off;
	/* Every field, without a memset: this runs for every value. */
	n->next = NULL;
	n->prev = NULL;
	n->child = NULL;
	n->type = type;
	n->valuestring = NULL;
	n->valueint = 0;
	n->valuedouble = 0;
	n->string = b->key;
	b->key = NULL;
	if (depth == 0) {
		b->root = n;
	} else {
		cJSON *parent = b->parent[depth - 1];

		if (!parent->child) {
			parent->child = n;
			n->prev = n;
		} else {
			cJSON *last = parent->child->prev;

			last->next = n;
			n->prev = last;
			parent->child->prev = n;
		}
	}
	return n;
}

/*
 * Clinger's fast path: a number with at most 15 significant digits and a
 * decimal exponent of at most 22 in size is one exact integer times or
 * divided by one exact power of ten, so a single correctly rounded operation
 * gives exactly what strtod would. Anything else returns -1 for strtod.
 */
static int
fast_number(const char *s, size_t len, double *out)
{
	static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
	                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	const char *e = s + len;
	uint64_t m = 0;
	int digits = 0, exp = 0, neg = 0;

	if (s < e && *s == '-') {
		neg = 1;
		s++;
	}
	for (; s < e && *s >= '0' && *s <= '9'; s++) {
		if (digits || *s != '0')
			digits++;
		m = m * 10 + (uint64_t)(*s - '0');
		if (digits > 15)
			return -1;
	}
	if (s < e && *s == '.') {
		for (s++; s < e && *s >= '0' && *s <= '9'; s++) {
			if (digits || *s != '0')
				digits++;
			m = m * 10 + (uint64_t)(*s - '0');
			exp--;
			if (digits > 15)
				return -1;
		}
	}
	if (s < e && (*s == 'e' || *s == 'E')) {
		int eneg = 0, ev = 0;

		s++;
		if (s < e && (*s == '+' || *s == '-'))
			eneg = *s++ == '-';
		for (; s < e && *s >= '0' && *s <= '9'; s++) {
			ev = ev * 10 + (*s - '0');
			if (ev > 1000)
				return -1;
		}
		exp += eneg ? -ev : ev;
	}
	if (s != e || exp < -22 || exp > 22)
		return -1;
	*out = exp < 0 ? (double)m / pow10[-exp] : (double)m * pow10[exp];
	if (neg)
		*out = -*out;
	return 0;
}

static int
number_value(struct builder *b, cJSON *n, const char *p, size_t start, size_t end)
{
	char small[64];
	char *text = small;
	size_t len = end - start;

	/* strtod needs a terminated copy: the input may end right here. It
	 * follows the C locale, which cellgate never changes. */
	if (len >= sizeof(small)) {
		text = cg_arena_alloc(b->arena, len + 1);
		if (!text)
			return -1;
	}
	if (fast_number(p + start, len, &n->valuedouble)) {
		memcpy(text, p + start, len);
		text[len] = '\0';
		n->valuedouble = strtod(text, NULL);
	}
	if (memchr(p + start, '.', len) || memchr(p + start, 'e', len) ||
	    memchr(p + start, 'E', len))
		n->type |= CG_JSON_NOT_INTEGRAL;
	if (n->valuedouble >= INT_MAX)
		n->valueint = INT_MAX;
	else if (n->valuedouble <= (double)INT_MIN)
		n->valueint = INT_MIN;
	else
		n->valueint = (int)n->valuedouble;
	return 0;
}

static int
oom(struct cg_json_fault *f, size_t off)
{
	fail(f, CG_C_JSON_TOO_LARGE, off, "out of memory");
	return -2;
}

/* Scans a member name at p[*i] and, when building, keeps it for the value. */
static int
member_name(const char *p, size_t end, size_t *i, const struct cg_json_limits *lim,
            struct builder *b, struct cg_json_fault *f)
{
	size_t start = *i;
	int escaped;

	if (scan_string(p, end, i, lim, f, &escaped))
		return -1;
	if (b && !(b->key = unescape(b, p, start, *i, end, escaped)))
		return oom(f, start);
	return 0;
}

static int
scan(const char *p, size_t end, size_t *pos, const struct cg_json_limits *lim, struct builder *b,
     struct cg_json_fault *f)
{
	char stack[CG_JSON_MAX_MAX_DEPTH];
	unsigned max_depth = lim->max_depth;
	unsigned depth = 0;
	size_t i = skip_ws(p, end, *pos);
	size_t key_off = CG_JSON_NO_KEY, vkey;
	cJSON *n = NULL;
	int escaped;

	if (max_depth > CG_JSON_MAX_MAX_DEPTH)
		max_depth = CG_JSON_MAX_MAX_DEPTH;
	for (;;) {
		size_t start = i;

		/* A value is expected at p[i]. */
		if (i >= end)
			return fail(f, CG_C_JSON_SYNTAX, end,
			            "unexpected end of input, expected a JSON value");
		vkey = key_off;
		key_off = CG_JSON_NO_KEY;
		switch (p[i]) {
		case '{':
		case '[':
			if (depth >= max_depth)
				return fail(f, CG_C_JSON_DEPTH, i, "nesting deeper than the limit");
			if (b) {
				n = node(b, depth, p[i] == '{' ? cJSON_Object : cJSON_Array, start,
				         vkey);
				if (!n)
					return oom(f, i);
				b->parent[depth] = n;
			}
			stack[depth++] = p[i];
			i = skip_ws(p, end, i + 1);
			if (i < end && (p[i] == '}' || p[i] == ']') &&
			    p[i] == stack[depth - 1] + 2) {
				depth--;
				i++;
				break;
			}
			if (stack[depth - 1] == '[')
				continue;
			/* First member of an object. */
			if (i >= end || p[i] != '"')
				return fail_unexpected(f, p, end, i, "a member name or '}'");
			key_off = i;
			if (member_name(p, end, &i, lim, b, f))
				return -1;
			i = skip_ws(p, end, i);
			if (i >= end || p[i] != ':')
				return fail_unexpected(f, p, end, i, "':' after the member name");
			i = skip_ws(p, end, i + 1);
			continue;
		case '"':
			if (scan_string(p, end, &i, lim, f, &escaped))
				return -1;
			if (b) {
				n = node(b, depth, cJSON_String, start, vkey);
				if (!n ||
				    !(n->valuestring = unescape(b, p, start, i, end, escaped)))
					return oom(f, start);
			}
			break;
		case '-':
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			if (scan_number(p, end, &i, lim, f))
				return -1;
			if (b) {
				n = node(b, depth, cJSON_Number, start, vkey);
				if (!n || number_value(b, n, p, start, i))
					return oom(f, start);
			}
			break;
		case 't':
		case 'f':
		case 'n':
			if (scan_literal(p, end, &i, f))
				return -1;
			if (b) {
				n = node(b, depth,
				         p[start] == 't'   ? cJSON_True
				         : p[start] == 'f' ? cJSON_False
				                           : cJSON_NULL,
				         start, vkey);
				if (!n)
					return oom(f, start);
				n->valueint = p[start] == 't';
			}
			break;
		default:
			return fail_unexpected(f, p, end, i, "a JSON value");
		}
		/* A value ended: close containers until one expects more. */
		for (;;) {
			if (depth == 0) {
				*pos = i;
				return 0;
			}
			i = skip_ws(p, end, i);
			if (i < end && p[i] == ',') {
				i = skip_ws(p, end, i + 1);
				if (stack[depth - 1] == '{') {
					if (i >= end || p[i] != '"')
						return fail_unexpected(f, p, end, i,
						                       "a member name");
					key_off = i;
					if (member_name(p, end, &i, lim, b, f))
						return -1;
					i = skip_ws(p, end, i);
					if (i >= end || p[i] != ':')
						return fail_unexpected(f, p, end, i,
						                       "':' after the member name");
					i = skip_ws(p, end, i + 1);
				}
				break;
			}
			if (i < end && p[i] == stack[depth - 1] + 2) {
				depth--;
				i++;
				continue;
			}
			return fail_unexpected(f, p, end, i,
			                       stack[depth - 1] == '{' ? "',' or '}'"
			                                               : "',' or ']'");
		}
	}
}

int
cg_json_scan(const char *p, size_t end, size_t *pos, const struct cg_json_limits *lim,
             struct cg_json_fault *f)
{
	return scan(p, end, pos, lim, NULL, f);
}

int
cg_json_parse(const char *p, size_t end, size_t *pos, const struct cg_json_limits *lim,
              struct cg_arena *arena, cJSON **out, struct cg_json_fault *f)
{
	struct builder b;
	int r;

	b.arena = arena;
	b.root = NULL;
	b.key = NULL;
	*out = NULL;
	r = scan(p, end, pos, lim, &b, f);
	if (r == 0)
		*out = b.root;
	return r;
}
