/* json_write.c: streaming JSON output; see json_write.h. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_write.h"

void
cg_jw_init(struct cg_jw *w, struct cg_buf *b)
{
	w->b = b;
	w->depth = 0;
	w->first[0] = 1;
	w->err = CG_OK;
}

/* The comma and "key": before a value. */
static void
member(struct cg_jw *w, const char *key)
{
	if (w->err)
		return;
	if (!w->first[w->depth])
		w->err = cg_buf_addc(w->b, ',');
	w->first[w->depth] = 0;
	if (key && !w->err) {
		/* Keys are the writer's own names (FHIR element names, record member
		 * names from the tables), never outside input: no escaping needed. */
		size_t n = strlen(key);

		w->err = cg_buf_addc(w->b, '"');
		if (!w->err)
			w->err = cg_buf_add(w->b, key, n);
		if (!w->err)
			w->err = cg_buf_add(w->b, "\":", 2);
	}
}

/* member() for a key that is not the writer's own: escaped. The value
 * written next must not add a comma of its own, hence first[] = 1. */
static void
key_escaped(struct cg_jw *w, const char *key)
{
	member(w, NULL);
	if (w->err)
		return;
	w->err = cg_buf_addc(w->b, '"');
	if (!w->err)
		w->err = cg_buf_add_json_string(w->b, key);
	if (!w->err)
		w->err = cg_buf_add(w->b, "\":", 2);
	w->first[w->depth] = 1;
}

static void
open_(struct cg_jw *w, const char *key, char c)
{
	member(w, key);
	if (w->err)
		return;
	if (w->depth + 1 >= CG_JW_MAX_DEPTH) {
		w->err = CG_ELIMIT;
		return;
	}
	w->err = cg_buf_addc(w->b, c);
	w->first[++w->depth] = 1;
	w->kind[w->depth] = c;
}

void
cg_jw_object(struct cg_jw *w, const char *key)
{
	open_(w, key, '{');
}

void
cg_jw_array(struct cg_jw *w, const char *key)
{
	open_(w, key, '[');
}

void
cg_jw_end(struct cg_jw *w)
{
	if (w->err)
		return;
	if (w->depth == 0) {
		w->err = CG_EINVAL;
		return;
	}
	w->err = cg_buf_addc(w->b, w->kind[w->depth] == '{' ? '}' : ']');
	w->depth--;
}

void
cg_jw_raw_members(struct cg_jw *w, const char *members)
{
	member(w, NULL);
	if (!w->err)
		w->err = cg_buf_addstr(w->b, members);
}

void
cg_jw_string(struct cg_jw *w, const char *key, const char *s)
{
	member(w, key);
	if (w->err)
		return;
	w->err = cg_buf_addc(w->b, '"');
	if (!w->err)
		w->err = cg_buf_add_json_string(w->b, s ? s : "");
	if (!w->err)
		w->err = cg_buf_addc(w->b, '"');
}

void
cg_jw_bool(struct cg_jw *w, const char *key, int v)
{
	member(w, key);
	if (!w->err)
		w->err = cg_buf_addstr(w->b, v ? "true" : "false");
}

void
cg_jw_int(struct cg_jw *w, const char *key, long long v)
{
	member(w, key);
	if (!w->err)
		w->err = cg_buf_printf(w->b, "%lld", v);
}

void
cg_jw_null(struct cg_jw *w, const char *key)
{
	member(w, key);
	if (!w->err)
		w->err = cg_buf_add(w->b, "null", 4);
}

/*
 * The text "%1.15g" gives for a short decimal (38.5, 0.25, 1.2e-3), without
 * printf: records are full of them and snprintf plus cJSON's sscanf check
 * cost more than the rest of writing a number. Only for 1e-4 <= |d| < 1e9
 * with at most 6 decimals, where %g writes no exponent and at most 15
 * significant digits; the candidate must read back as d exactly, and then
 * rounding d to 15 digits gives it too (d is within half an ulp of it, far
 * closer than the 15-digit grid's spacing). 0 when it does not apply.
 */
static int
short_decimal(double d, char *text, size_t size)
{
	double a = fabs(d), scaled = 0;
	unsigned long long m, pow10 = 1, ip, frac;
	char *p = text;
	int k;

	if (!(a >= 1e-4 && a < 1e9) || size < 24)
		return 0;
	for (k = 1; k <= 6; k++) {
		pow10 *= 10;
		scaled = a * (double)pow10;
		if (scaled == floor(scaled))
			break;
	}
	if (k > 6)
		return 0;
	m = (unsigned long long)scaled;
	ip = m / pow10;
	frac = m % pow10;
	/* A trailing zero: an integer too large for valueint, or rounding. */
	if (frac % 10 == 0)
		return 0;
	if (d < 0)
		*p++ = '-';
	p += cg_put_digits(p, ip);
	*p++ = '.';
	for (; k > 0; k--) {
		pow10 /= 10;
		*p++ = (char)('0' + frac / pow10 % 10);
	}
	*p = '\0';
	if (strtod(text, NULL) != d)
		return 0;
	return (int)(p - text);
}

/* cJSON 1.7's print_number, so that both print the same text. */
enum cg_err
cg_jw_number_text(struct cg_buf *b, const cJSON *n)
{
	double d = n->valuedouble, test = 0;
	char text[32];
	int len;

	if (isnan(d) || isinf(d))
		return cg_buf_addstr(b, "null");
	/* -0 equals valueint 0, but cJSON prints it as "-0" through "%g". */
	if (d == (double)n->valueint && !(d == 0 && signbit(d))) {
		long v = n->valueint;
		char *p = text;

		if (v < 0)
			*p++ = '-';
		p += cg_put_digits(p, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
		return cg_buf_add(b, text, (size_t)(p - text));
	}
	len = short_decimal(d, text, sizeof(text));
	if (len)
		return cg_buf_add(b, text, (size_t)len);
	len = snprintf(text, sizeof(text), "%1.15g", d);
	if (sscanf(text, "%lg", &test) != 1 ||
	    !(fabs(test - d) <= fmax(fabs(test), fabs(d)) * DBL_EPSILON))
		len = snprintf(text, sizeof(text), "%1.17g", d);
	return cg_buf_add(b, text, (size_t)len);
}

void
cg_jw_value(struct cg_jw *w, const char *key, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		cg_jw_string(w, key, v->valuestring);
		return;
	}
	member(w, key);
	if (w->err)
		return;
	if (cJSON_IsNumber(v))
		w->err = cg_jw_number_text(w->b, v);
	else if (cJSON_IsBool(v))
		w->err = cg_buf_addstr(w->b, cJSON_IsTrue(v) ? "true" : "false");
	else
		w->err = cg_buf_addstr(w->b, "null");
}

void
cg_jw_tree(struct cg_jw *w, const char *key, const cJSON *v)
{
	const cJSON *it;
	int is_object = cJSON_IsObject(v);

	if (key)
		key_escaped(w, key);
	if (!is_object && !cJSON_IsArray(v)) {
		cg_jw_value(w, NULL, v);
		return;
	}
	open_(w, NULL, is_object ? '{' : '[');
	for (it = v->child; it; it = it->next)
		cg_jw_tree(w, is_object ? (it->string ? it->string : "") : NULL, it);
	cg_jw_end(w);
}

enum cg_err
cg_jw_write_tree(struct cg_buf *b, const cJSON *v)
{
	struct cg_jw w;

	cg_jw_init(&w, b);
	cg_jw_tree(&w, NULL, v);
	return w.err;
}
