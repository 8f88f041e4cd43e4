/*
 * fp_fn_string.c: the string functions (indexOf, substring, startsWith,
 * upper, replace, matches, replaceMatches, trim, split, join...).
 *
 * Regular expressions are POSIX extended (<regex.h>), not the Java dialect
 * the specification assumes: java_to_posix() translates Java's shorthand
 * classes (\d, \w, \s and their negations) and escapes in brackets, and
 * refuses lazy and possessive quantifiers, which POSIX cannot express;
 * regcomp allocates on the heap per call.
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "fp_fn.h"

/* ---- strings ------------------------------------------------------------ */

FN(fp_fn_indexof)
{
	const char *s, *t, *p;
	struct cg_fp_item it;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &t));
	p = strstr(s, t);
	fp_int(&it, p ? (long long)(p - s) : -1);
	return fp_ret_item(c, &it, out);
}

FN(fp_fn_substring)
{
	const char *s;
	long long start, len = -1;
	size_t n;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_int(c, call, 0, &start));
	if (call->node->nargs > 1 && call->args[1].n)
		CHECK(fp_arg_int(c, call, 1, &len));
	n = strlen(s);
	if (start < 0 || (size_t)start >= n)
		return CG_OK;
	if (len < 0 || (size_t)len > n - (size_t)start)
		len = (long long)(n - (size_t)start);
	return fp_ret_str(c, s + start, (size_t)len, out);
}

FN(fp_fn_startswith)
{
	const char *s, *t;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &t));
	return fp_ret_bool(c, !strncmp(s, t, strlen(t)), out);
}

FN(fp_fn_endswith)
{
	const char *s, *t;
	size_t ls, lt;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &t));
	ls = strlen(s);
	lt = strlen(t);
	return fp_ret_bool(c, lt <= ls && !strcmp(s + ls - lt, t), out);
}

FN(fp_fn_contains)
{
	const char *s, *t;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &t));
	return fp_ret_bool(c, strstr(s, t) != NULL, out);
}

FN(fp_fn_case)
{
	const char *s;
	char *p;
	size_t k;
	int up = !strcmp(call->node->fn->name, "upper");
	struct cg_fp_item it;

	CHECK(fp_one_string(c, in, call, &s));
	p = fp_strndup(ARENA, s, strlen(s));
	if (!p)
		return CG_ENOMEM;
	for (k = 0; p[k]; k++)
		p[k] = (char)(up ? toupper((unsigned char)p[k]) : tolower((unsigned char)p[k]));
	fp_str(&it, p);
	return fp_ret_item(c, &it, out);
}

FN(fp_fn_length)
{
	const char *s;
	struct cg_fp_item it;
	long long n = 0;

	CHECK(fp_one_string(c, in, call, &s));
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	fp_int(&it, n);
	return fp_ret_item(c, &it, out);
}

FN(fp_fn_tochars)
{
	const char *s;
	struct fp_vec v = {0};
	struct cg_fp_item it;
	enum cg_err e;
	size_t n;

	CHECK(fp_one_string(c, in, call, &s));
	while (*s) {
		char *p;

		for (n = 1; ((unsigned char)s[n] & 0xC0) == 0x80; n++)
			;
		if (!(p = fp_strndup(ARENA, s, n)))
			return CG_ENOMEM;
		fp_str(&it, p);
		if ((e = fp_vec_push(ARENA, &v, &it)))
			return e;
		s += n;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(fp_fn_replace)
{
	const char *s, *pat, *rep;
	struct cg_fp_item it;
	size_t ls, lp, lr, n = 0, k;
	char *o;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &pat));
	CHECK(fp_arg_string(c, call, 1, &rep));
	ls = strlen(s);
	lp = strlen(pat);
	lr = strlen(rep);
	/* an empty pattern puts rep between every character and at both ends */
	if ((lp ? ls / lp * lr + ls : (ls + 1) * lr + ls) > CG_FP_MAX_STRING)
		return fp_too_long(c);
	o = cg_arena_alloc(ARENA, lp ? ls / lp * lr + ls + 1 : (ls + 1) * lr + ls + 1);
	if (!o)
		return CG_ENOMEM;
	if (!lp) {
		for (k = 0; k <= ls; k++) {
			memcpy(o + n, rep, lr);
			n += lr;
			if (k < ls)
				o[n++] = s[k];
		}
	} else {
		for (k = 0; k < ls;) {
			if (!strncmp(s + k, pat, lp)) {
				memcpy(o + n, rep, lr);
				n += lr;
				k += lp;
			} else {
				o[n++] = s[k++];
			}
		}
	}
	o[n] = '\0';
	fp_str(&it, o);
	return fp_ret_item(c, &it, out);
}

/* The POSIX class of Java's shorthand class \c (d, w, s and their
 * negations D, W, S), without its brackets, or NULL. */
static const char *
java_class(char c, int *negated)
{
	*negated = isupper((unsigned char)c) != 0;
	switch (tolower((unsigned char)c)) {
	case 'd':
		return "[:digit:]";
	case 'w':
		return "[:alnum:]_";
	case 's':
		return "[:space:]";
	default:
		return NULL;
	}
}

/* The character Java's escape \c stands for where POSIX has no escape
 * (\t, \n, \r, \f), or 0. */
static char
java_control(char c)
{
	switch (c) {
	case 't':
		return '\t';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 'f':
		return '\f';
	default:
		return 0;
	}
}

/* Translates a Java pattern (the dialect FHIRPath's specification assumes)
 * into POSIX extended syntax, into o (room for 8 bytes per input byte):
 * the shorthand classes \d \D \w \W \s \S become POSIX classes, outside
 * and inside bracket expressions; inside brackets, where POSIX takes a
 * backslash literally, an escaped character is written plainly, with "]"
 * moved first and "-" last, where POSIX reads them as themselves ([\-_\]],
 * as eld-16 has it). Other escapes outside brackets are kept. NULL, or why
 * the pattern cannot be written in POSIX: lazy and possessive quantifiers
 * (*?, +?, ??, {n}?, *+...), which POSIX matching has no equivalent of, and
 * a negated class among other characters in brackets ([\Da]). */
static const char *
java_to_posix(const char *in, char *o)
{
	int after_quantifier = 0;

	while (*in) {
		const char *cls;
		int neg;

		if (after_quantifier && (*in == '?' || *in == '+'))
			return "lazy and possessive quantifiers (*?, +?, *+...) are not "
			       "supported";
		after_quantifier = 0;
		if (*in == '\\' && in[1]) {
			if ((cls = java_class(in[1], &neg))) {
				o += sprintf(o, "[%s%s]", neg ? "^" : "", cls);
			} else if (java_control(in[1])) {
				*o++ = java_control(in[1]);
			} else {
				*o++ = in[0];
				*o++ = in[1];
			}
			in += 2;
			continue;
		}
		if (*in != '[') {
			after_quantifier = *in == '*' || *in == '+' || *in == '?' || *in == '}';
			*o++ = *in++;
			continue;
		}
		{
			char *body = o + 2; /* after "[^", moved into place below */
			size_t n = 0;
			int negate = 0, rb = 0, dash = 0, negcls = 0, other = 0;
			const char *ncls = NULL;

			in++;
			if (*in == '^') {
				negate = 1;
				in++;
			}
			for (; *in && *in != ']'; in++) {
				if (*in == '\\' && in[1]) {
					in++;
					if ((cls = java_class(*in, &neg))) {
						if (neg) {
							negcls++;
							ncls = cls;
							continue;
						}
						n += (size_t)sprintf(body + n, "%s", cls);
					} else if (*in == ']') {
						rb = 1;
					} else if (*in == '-') {
						dash = 1;
					} else {
						body[n++] =
						        java_control(*in) ? java_control(*in) : *in;
					}
				} else {
					body[n++] = *in;
				}
				other = 1;
			}
			if (negcls && (negcls > 1 || other || negate))
				return "a negated class (\\D, \\W, \\S) among other characters "
				       "in brackets is not supported";
			if (negcls) {
				o += sprintf(o, "[^%s]", ncls);
			} else {
				char *w = o;

				/* the body was written two bytes in; lay it out in order */
				memmove(w + 1 + negate + rb, body, n);
				*w++ = '[';
				if (negate)
					*w++ = '^';
				if (rb)
					*w++ = ']';
				w += n;
				if (dash)
					*w++ = '-';
				*w++ = ']';
				o = w;
			}
			if (*in == ']')
				in++;
		}
	}
	*o = '\0';
	return NULL;
}

static enum cg_err
compile_re(struct fp_ctx *c, const char *pat, int anchored, regex_t *re)
{
	size_t n = strlen(pat);
	char *p = cg_arena_alloc(ARENA, n * 8 + 16), *q = cg_arena_alloc(ARENA, n * 8 + 8);
	const char *why;

	if (!p || !q)
		return CG_ENOMEM;
	if ((why = java_to_posix(pat, q)))
		return fp_fail(c, "regular expression %.60s: %s", pat, why);
	if (anchored)
		snprintf(p, n * 8 + 16, "^(%s)$", q);
	else
		memmove(p, q, strlen(q) + 1);
	if (regcomp(re, p, REG_EXTENDED))
		return fp_fail(c, "not a POSIX extended regular expression: %s", pat);
	return CG_OK;
}

FN(fp_fn_matches)
{
	const char *s, *pat;
	regex_t re;
	enum cg_err e;
	int m;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &pat));
	if ((e = compile_re(c, pat, !strcmp(call->node->fn->name, "matchesFull"), &re)))
		return e;
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return fp_ret_bool(c, m, out);
}

FN(fp_fn_replacematches)
{
	const char *s, *pat, *rep;
	struct cg_buf_lite {
		char *p;
		size_t n, cap;
	} b = {0};
	regmatch_t m[10];
	regex_t re;
	enum cg_err e;
	size_t k;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &pat));
	CHECK(fp_arg_string(c, call, 1, &rep));
	if (!*pat) /* an empty pattern matches nothing to replace */
		return fp_ret_item(c, &in->items[0], out);
	if ((e = compile_re(c, pat, 0, &re)))
		return e;
	b.cap = strlen(s) * 2 + strlen(rep) * 4 + 64;
	b.p = cg_arena_alloc(ARENA, b.cap);
	if (!b.p) {
		regfree(&re);
		return CG_ENOMEM;
	}
#define PUT(src, len)                                                                              \
	do {                                                                                       \
		size_t l_ = (len);                                                                 \
		if (b.n + l_ > CG_FP_MAX_STRING) {                                                 \
			regfree(&re);                                                              \
			return fp_too_long(c);                                                     \
		}                                                                                  \
		if (b.n + l_ + 1 > b.cap) {                                                        \
			char *np_ = cg_arena_alloc(ARENA, (b.cap + l_) * 2);                       \
			if (!np_) {                                                                \
				regfree(&re);                                                      \
				return CG_ENOMEM;                                                  \
			}                                                                          \
			memcpy(np_, b.p, b.n);                                                     \
			b.p = np_;                                                                 \
			b.cap = (b.cap + l_) * 2;                                                  \
		}                                                                                  \
		memcpy(b.p + b.n, (src), l_);                                                      \
		b.n += l_;                                                                         \
	} while (0)
	while (*s && regexec(&re, s, 10, m, 0) == 0) {
		PUT(s, (size_t)m[0].rm_so);
		for (k = 0; rep[k]; k++) {
			if (rep[k] == '$' && isdigit((unsigned char)rep[k + 1])) {
				int g = rep[++k] - '0';

				if (m[g].rm_so >= 0)
					PUT(s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
			} else {
				PUT(rep + k, 1);
			}
		}
		if (m[0].rm_eo == m[0].rm_so) {
			PUT(s + m[0].rm_so, 1);
			s += m[0].rm_so + 1;
		} else {
			s += m[0].rm_eo;
		}
	}
	PUT(s, strlen(s));
#undef PUT
	regfree(&re);
	b.p[b.n] = '\0';
	{
		struct cg_fp_item it;

		fp_str(&it, b.p);
		return fp_ret_item(c, &it, out);
	}
}

FN(fp_fn_trim)
{
	const char *s;
	size_t n;

	CHECK(fp_one_string(c, in, call, &s));
	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return fp_ret_str(c, s, n, out);
}

FN(fp_fn_split)
{
	const char *s, *sep, *p;
	struct fp_vec v = {0};
	struct cg_fp_item it;
	enum cg_err e;
	size_t ls;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &sep));
	ls = strlen(sep);
	for (;;) {
		char *piece;

		p = ls ? strstr(s, sep) : NULL;
		piece = fp_strndup(ARENA, s, p ? (size_t)(p - s) : strlen(s));
		if (!piece)
			return CG_ENOMEM;
		fp_str(&it, piece);
		if ((e = fp_vec_push(ARENA, &v, &it)))
			return e;
		if (!p)
			break;
		s = p + ls;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(fp_fn_join)
{
	const char *sep = "";
	size_t k, n = 0, ls;
	struct cg_fp_item it;
	char *o;

	if (call->node->nargs && call->args[0].n)
		CHECK(fp_arg_string(c, call, 0, &sep));
	ls = strlen(sep);
	for (k = 0; k < in->n; k++) {
		if (in->items[k].kind != CG_FP_STRING)
			return fp_fail(c, "join() needs strings");
		n += strlen(in->items[k].u.s) + ls;
	}
	if (n > CG_FP_MAX_STRING)
		return fp_too_long(c);
	o = cg_arena_alloc(ARENA, n + 1);
	if (!o)
		return CG_ENOMEM;
	for (n = 0, k = 0; k < in->n; k++) {
		size_t l = strlen(in->items[k].u.s);

		if (k) {
			memcpy(o + n, sep, ls);
			n += ls;
		}
		memcpy(o + n, in->items[k].u.s, l);
		n += l;
	}
	o[n] = '\0';
	fp_str(&it, o);
	return fp_ret_item(c, &it, out);
}
