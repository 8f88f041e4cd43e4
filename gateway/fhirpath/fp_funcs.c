/*
 * fp_funcs.c: the FHIRPath function library (existence, filtering and
 * projection, subsetting, combining, conversion, strings, math, tree
 * navigation, utility) and FHIR's extension(), hasValue() and resolve().
 *
 * Regular expressions are POSIX extended (<regex.h>), not the Java/.NET
 * dialect the specification assumes: \d, \w, \s and lazy quantifiers are not
 * understood; regcomp allocates on the heap per call.
 */
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "fp_internal.h"

#define FN(name)                                                                                   \
	static enum cg_err name(struct fp_ctx *c, const struct fp_call *call,                      \
	                        const struct cg_fp_coll *in, struct cg_fp_coll *out)

#define ARENA (c->env->arena)

static enum cg_err
ret_bool(struct fp_ctx *c, int b, struct cg_fp_coll *out)
{
	struct cg_fp_item it;

	fp_bool(&it, b);
	return fp_single(ARENA, &it, out);
}

static enum cg_err
ret_item(struct fp_ctx *c, const struct cg_fp_item *it, struct cg_fp_coll *out)
{
	return fp_single(ARENA, it, out);
}

/* The one item of the input: 1 and *it, 0 when empty, -1 (error recorded)
 * when there are more. */
static int
one(struct fp_ctx *c, const struct cg_fp_coll *in, const struct fp_call *call,
    const struct cg_fp_item **it)
{
	if (in->n == 0)
		return 0;
	if (in->n > 1) {
		fp_fail(c, "%s() needs a single input item, found %zu", call->node->fn->name,
		        in->n);
		return -1;
	}
	*it = &in->items[0];
	return 1;
}

/* The input as a single string (FHIR strings and codes included). */
static int
one_string(struct fp_ctx *c, const struct cg_fp_coll *in, const struct fp_call *call,
           const char **s)
{
	const struct cg_fp_item *it;
	int r = one(c, in, call, &it);

	if (r <= 0)
		return r;
	if (it->kind != CG_FP_STRING) {
		fp_fail(c, "%s() needs a string", call->node->fn->name);
		return -1;
	}
	*s = it->u.s;
	return 1;
}

static int
arg_string(struct fp_ctx *c, const struct fp_call *call, int k, const char **s)
{
	return one_string(c, &call->args[k], call, s);
}

static int
arg_int(struct fp_ctx *c, const struct fp_call *call, int k, long long *v)
{
	const struct cg_fp_item *it;
	int r = one(c, &call->args[k], call, &it);

	if (r <= 0)
		return r;
	if (it->kind != CG_FP_INTEGER) {
		fp_fail(c, "%s() needs an integer argument", call->node->fn->name);
		return -1;
	}
	*v = it->u.i;
	return 1;
}

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		int r_ = (x);                                                                      \
		if (r_ < 0)                                                                        \
			return CG_EINVAL;                                                          \
		if (r_ == 0)                                                                       \
			return CG_OK;                                                              \
	} while (0)

static enum cg_err
too_long(struct fp_ctx *c)
{
	fp_fail(c, "a string longer than %zu bytes", CG_FP_MAX_STRING);
	return CG_ELIMIT;
}

/* ---- existence ---------------------------------------------------------- */

FN(f_empty)
{
	(void)call;
	return ret_bool(c, in->n == 0, out);
}

/* Runs a criteria per item; *hit counts the items for which it is true. */
static enum cg_err
criteria(struct fp_ctx *c, const struct fp_node *crit, const struct cg_fp_coll *in,
         struct fp_vec *keep, size_t *hits, size_t *falses)
{
	struct cg_fp_coll r;
	enum cg_err e;
	size_t k;
	int b;

	*hits = 0;
	if (falses)
		*falses = 0;
	for (k = 0; k < in->n; k++) {
		if ((e = fp_eval_on(c, crit, &in->items[k], (long long)k, &r)))
			return e;
		b = fp_to_bool(c, &r);
		if (b == -2)
			return CG_EINVAL;
		if (b == 1) {
			(*hits)++;
			if (keep && (e = fp_vec_push(ARENA, keep, &in->items[k])))
				return e;
		} else if (b == 0 && falses) {
			(*falses)++;
		}
	}
	return CG_OK;
}

FN(f_exists)
{
	size_t hits;
	enum cg_err e;

	if (!call->node->nargs)
		return ret_bool(c, in->n > 0, out);
	if ((e = criteria(c, call->node->args[0], in, NULL, &hits, NULL)))
		return e;
	return ret_bool(c, hits > 0, out);
}

FN(f_all)
{
	size_t hits;
	enum cg_err e;

	if ((e = criteria(c, call->node->args[0], in, NULL, &hits, NULL)))
		return e;
	return ret_bool(c, hits == in->n, out);
}

/* allTrue, anyTrue, allFalse, anyFalse */
static enum cg_err
bools(struct fp_ctx *c, const struct cg_fp_coll *in, int want, int all, struct cg_fp_coll *out)
{
	size_t k, n = 0;

	for (k = 0; k < in->n; k++) {
		if (in->items[k].kind != CG_FP_BOOLEAN)
			return fp_fail(c, "a collection of booleans expected");
		n += in->items[k].u.b == want;
	}
	return ret_bool(c, all ? n == in->n : n > 0, out);
}

FN(f_alltrue)
{
	(void)call;
	return bools(c, in, 1, 1, out);
}
FN(f_anytrue)
{
	(void)call;
	return bools(c, in, 1, 0, out);
}
FN(f_allfalse)
{
	(void)call;
	return bools(c, in, 0, 1, out);
}
FN(f_anyfalse)
{
	(void)call;
	return bools(c, in, 0, 0, out);
}

static int
has(const struct cg_fp_coll *v, const struct cg_fp_item *it)
{
	size_t k;

	for (k = 0; k < v->n; k++)
		if (fp_item_equal(&v->items[k], it) == 1)
			return 1;
	return 0;
}

static int
subset(const struct cg_fp_coll *a, const struct cg_fp_coll *b)
{
	size_t k;

	for (k = 0; k < a->n; k++)
		if (!has(b, &a->items[k]))
			return 0;
	return 1;
}

FN(f_subsetof)
{
	return ret_bool(c, subset(in, &call->args[0]), out);
}

FN(f_supersetof)
{
	return ret_bool(c, subset(&call->args[0], in), out);
}

FN(f_count)
{
	struct cg_fp_item it;

	(void)call;
	fp_int(&it, (long long)in->n);
	return ret_item(c, &it, out);
}

static enum cg_err
distinct(struct fp_ctx *c, const struct cg_fp_coll *in, struct cg_fp_coll *out)
{
	struct fp_vec v = {0};
	struct cg_fp_coll sofar;
	enum cg_err e;
	size_t k;

	for (k = 0; k < in->n; k++) {
		fp_vec_done(&v, &sofar);
		if (has(&sofar, &in->items[k]))
			continue;
		if ((e = fp_vec_push(ARENA, &v, &in->items[k])))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(f_distinct)
{
	(void)call;
	return distinct(c, in, out);
}

FN(f_isdistinct)
{
	struct cg_fp_coll d;
	enum cg_err e;

	(void)call;
	if ((e = distinct(c, in, &d)))
		return e;
	return ret_bool(c, d.n == in->n, out);
}

/* ---- filtering and projection ------------------------------------------- */

FN(f_where)
{
	struct fp_vec v = {0};
	size_t hits;
	enum cg_err e;

	if ((e = criteria(c, call->node->args[0], in, &v, &hits, NULL)))
		return e;
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(f_select)
{
	struct fp_vec v = {0};
	struct cg_fp_coll r;
	enum cg_err e;
	size_t k, j;

	for (k = 0; k < in->n; k++) {
		if ((e = fp_eval_on(c, call->node->args[0], &in->items[k], (long long)k, &r)))
			return e;
		for (j = 0; j < r.n; j++)
			if ((e = fp_vec_push(ARENA, &v, &r.items[j])))
				return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(f_repeat)
{
	struct fp_vec v = {0};
	struct cg_fp_coll r, sofar;
	enum cg_err e;
	size_t k, j;

	/* breadth first over new items only; items already found stop the walk */
	for (k = 0; k < in->n; k++)
		if ((e = fp_vec_push(ARENA, &v, &in->items[k])))
			return e;
	for (k = 0; k < v.n; k++) {
		if (v.n > 5000)
			return fp_fail(c, "repeat() produced too many items");
		if ((e = fp_eval_on(c, call->node->args[0], &v.items[k], (long long)k, &r)))
			return e;
		for (j = 0; j < r.n; j++) {
			fp_vec_done(&v, &sofar);
			if (has(&sofar, &r.items[j]))
				continue;
			if ((e = fp_vec_push(ARENA, &v, &r.items[j])))
				return e;
		}
	}
	/* the input itself is not part of the result */
	if (v.n > in->n) {
		out->items = v.items + in->n;
		out->n = v.n - in->n;
	}
	return CG_OK;
}

const char *
fp_type_arg(struct cg_arena *a, const struct fp_node *n)
{
	const char *left, *right;
	size_t ll, lr;
	char *s;

	if (n->kind != N_MEMBER)
		return NULL;
	if (!n->left)
		return n->name;
	left = fp_type_arg(a, n->left);
	if (!left)
		return NULL;
	right = n->name;
	ll = strlen(left);
	lr = strlen(right);
	s = cg_arena_alloc(a, ll + lr + 2);
	if (!s)
		return NULL;
	memcpy(s, left, ll);
	s[ll] = '.';
	memcpy(s + ll + 1, right, lr + 1);
	return s;
}

static const char *
type_of_arg(struct fp_ctx *c, const struct fp_call *call)
{
	const char *t = fp_type_arg(ARENA, call->node->args[0]);

	if (!t)
		fp_fail(c, "%s() needs a type name", call->node->fn->name);
	return t;
}

FN(f_oftype)
{
	struct fp_vec v = {0};
	const char *t = type_of_arg(c, call);
	enum cg_err e;
	size_t k;

	if (!t)
		return CG_EINVAL;
	for (k = 0; k < in->n; k++)
		if (fp_is_type(c, &in->items[k], t) && (e = fp_vec_push(ARENA, &v, &in->items[k])))
			return e;
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(f_is)
{
	const struct cg_fp_item *it;
	const char *t = type_of_arg(c, call);

	if (!t)
		return CG_EINVAL;
	CHECK(one(c, in, call, &it));
	return ret_bool(c, fp_is_type(c, it, t), out);
}

FN(f_as)
{
	const struct cg_fp_item *it;
	const char *t = type_of_arg(c, call);

	if (!t)
		return CG_EINVAL;
	CHECK(one(c, in, call, &it));
	if (fp_is_type(c, it, t))
		return ret_item(c, it, out);
	return CG_OK;
}

/* ---- subsetting --------------------------------------------------------- */

FN(f_first)
{
	(void)call;
	if (in->n)
		return ret_item(c, &in->items[0], out);
	return CG_OK;
}

FN(f_last)
{
	(void)call;
	if (in->n)
		return ret_item(c, &in->items[in->n - 1], out);
	return CG_OK;
}

FN(f_tail)
{
	(void)call;
	(void)c;
	if (in->n > 1) {
		out->items = in->items + 1;
		out->n = in->n - 1;
	}
	return CG_OK;
}

FN(f_skip)
{
	long long n;

	CHECK(arg_int(c, call, 0, &n));
	if (n < 0)
		n = 0;
	if ((size_t)n < in->n) {
		out->items = in->items + n;
		out->n = in->n - (size_t)n;
	}
	return CG_OK;
}

FN(f_take)
{
	long long n;

	CHECK(arg_int(c, call, 0, &n));
	if (n > 0) {
		out->items = in->items;
		out->n = (size_t)n < in->n ? (size_t)n : in->n;
	}
	return CG_OK;
}

FN(f_single)
{
	const struct cg_fp_item *it;

	CHECK(one(c, in, call, &it));
	return ret_item(c, it, out);
}

/* ---- combining ---------------------------------------------------------- */

FN(f_combine)
{
	struct fp_vec v = {0};
	enum cg_err e;
	size_t k;

	for (k = 0; k < in->n + call->args[0].n; k++)
		if ((e = fp_vec_push(ARENA, &v,
		                     k < in->n ? &in->items[k] : &call->args[0].items[k - in->n])))
			return e;
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(f_union)
{
	struct cg_fp_coll all;
	enum cg_err e;

	if ((e = f_combine(c, call, in, &all)))
		return e;
	return distinct(c, &all, out);
}

FN(f_intersect)
{
	struct fp_vec v = {0};
	struct cg_fp_coll sofar;
	enum cg_err e;
	size_t k;

	for (k = 0; k < in->n; k++) {
		fp_vec_done(&v, &sofar);
		if (!has(&call->args[0], &in->items[k]) || has(&sofar, &in->items[k]))
			continue;
		if ((e = fp_vec_push(ARENA, &v, &in->items[k])))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(f_exclude)
{
	struct fp_vec v = {0};
	enum cg_err e;
	size_t k;

	for (k = 0; k < in->n; k++)
		if (!has(&call->args[0], &in->items[k]) &&
		    (e = fp_vec_push(ARENA, &v, &in->items[k])))
			return e;
	fp_vec_done(&v, out);
	return CG_OK;
}

/* ---- utility ------------------------------------------------------------ */

FN(f_iif)
{
	struct cg_fp_coll r;
	enum cg_err e;
	int b;

	if (in->n > 1)
		return fp_fail(c, "iif() needs a single input item");
	if ((e = fp_eval_node(c, call->node->args[0], in, &r)))
		return e;
	if (r.n == 1 && r.items[0].kind != CG_FP_BOOLEAN)
		return fp_fail(c, "iif() needs a boolean criterion");
	b = fp_to_bool(c, &r);
	if (b == -2)
		return CG_EINVAL;
	if (b == 1)
		return fp_eval_node(c, call->node->args[1], in, out);
	if (call->node->nargs > 2)
		return fp_eval_node(c, call->node->args[2], in, out);
	return CG_OK;
}

FN(f_not)
{
	int b = fp_to_bool(c, in);

	(void)call;
	if (b == -2)
		return CG_EINVAL;
	if (b < 0)
		return CG_OK;
	return ret_bool(c, !b, out);
}

FN(f_trace)
{
	(void)c;
	(void)call;
	*out = *in; /* traces go nowhere yet: the result is the input */
	return CG_OK;
}

FN(f_now)
{
	struct cg_fp_item it;
	struct tm tm;
	time_t t;
	long long ms = c->env->now_ms;

	(void)in;
	(void)call;
	if (!ms) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	memset(&it, 0, sizeof(it));
	it.kind = !strcmp(call->node->fn->name, "timeOfDay") ? CG_FP_TIME
	          : !strcmp(call->node->fn->name, "today")   ? CG_FP_DATE
	                                                     : CG_FP_DATETIME;
	it.u.dt.year = (short)(tm.tm_year + 1900);
	it.u.dt.month = (short)(tm.tm_mon + 1);
	it.u.dt.day = (short)tm.tm_mday;
	it.u.dt.hour = (short)tm.tm_hour;
	it.u.dt.minute = (short)tm.tm_min;
	it.u.dt.second = (short)tm.tm_sec;
	it.u.dt.ms = (short)(ms % 1000);
	it.u.dt.prec = it.kind == CG_FP_DATE ? 3 : it.kind == CG_FP_TIME ? 4 : 7;
	it.u.dt.has_tz = it.kind == CG_FP_DATETIME;
	return ret_item(c, &it, out);
}

/* ---- conversion --------------------------------------------------------- */

/* What each conversion makes of an item: 1 and *res, 0 when it cannot. */
static int
to_integer(const struct cg_fp_item *it, struct cg_fp_item *res)
{
	char *end;
	long long v;

	switch (it->kind) {
	case CG_FP_INTEGER:
		fp_int(res, it->u.i);
		return 1;
	case CG_FP_BOOLEAN:
		fp_int(res, it->u.b);
		return 1;
	case CG_FP_STRING:
		if (!*it->u.s || isspace((unsigned char)*it->u.s))
			return 0;
		v = strtoll(it->u.s, &end, 10);
		if (*end || v > 2147483647LL || v < -2147483648LL)
			return 0;
		fp_int(res, v);
		return 1;
	default:
		return 0;
	}
}

static int
to_decimal(const struct cg_fp_item *it, struct cg_fp_item *res)
{
	const char *s;

	switch (it->kind) {
	case CG_FP_INTEGER:
		fp_dec(res, (double)it->u.i, 0);
		return 1;
	case CG_FP_DECIMAL:
		fp_dec(res, it->u.d.v, it->u.d.scale);
		return 1;
	case CG_FP_BOOLEAN:
		fp_dec(res, it->u.b, 1);
		return 1;
	case CG_FP_STRING: {
		char *end;
		double v;

		s = it->u.s;
		if (!*s || !(isdigit((unsigned char)s[*s == '-' || *s == '+'])))
			return 0;
		if (strpbrk(s, "eExXnN"))
			return 0;
		v = strtod(s, &end);
		if (*end)
			return 0;
		fp_dec(res, v, fp_scale_of(s, strlen(s)));
		return 1;
	}
	default:
		return 0;
	}
}

static int
to_boolean(const struct cg_fp_item *it, struct cg_fp_item *res)
{
	static const char *const t[] = {"true", "t", "yes", "y", "1", "1.0", NULL};
	static const char *const f[] = {"false", "f", "no", "n", "0", "0.0", NULL};
	int k;

	switch (it->kind) {
	case CG_FP_BOOLEAN:
		fp_bool(res, it->u.b);
		return 1;
	case CG_FP_INTEGER:
		if (it->u.i != 0 && it->u.i != 1)
			return 0;
		fp_bool(res, it->u.i == 1);
		return 1;
	case CG_FP_DECIMAL:
		if (it->u.d.v != 0 && it->u.d.v != 1)
			return 0;
		fp_bool(res, it->u.d.v == 1);
		return 1;
	case CG_FP_STRING:
		for (k = 0; t[k]; k++)
			if (!strcasecmp(it->u.s, t[k])) {
				fp_bool(res, 1);
				return 1;
			}
		for (k = 0; f[k]; k++)
			if (!strcasecmp(it->u.s, f[k])) {
				fp_bool(res, 0);
				return 1;
			}
		return 0;
	default:
		return 0;
	}
}

static int
to_string(struct fp_ctx *c, const struct cg_fp_item *it, struct cg_fp_item *res)
{
	const char *s = fp_item_string(ARENA, it);

	if (!s)
		return 0;
	fp_str(res, s);
	return 1;
}

static int
to_dt(const struct cg_fp_item *it, enum cg_fp_kind want, struct cg_fp_item *res)
{
	enum cg_fp_kind k;
	struct cg_fp_dt dt;

	memset(res, 0, sizeof(*res));
	if (it->kind == CG_FP_STRING) {
		const char *s = it->u.s;
		int t = want == CG_FP_TIME;

		if (t && s[0] == 'T')
			s++;
		if (fp_dt_parse(s, strlen(s), t, &k, &dt))
			return 0;
	} else if (it->kind == CG_FP_DATE || it->kind == CG_FP_DATETIME || it->kind == CG_FP_TIME) {
		k = it->kind;
		dt = it->u.dt;
	} else {
		return 0;
	}
	if (want == CG_FP_TIME ? k != CG_FP_TIME : k == CG_FP_TIME)
		return 0;
	if (want == CG_FP_DATE && dt.prec > 3) {
		dt.prec = 3;
		dt.has_tz = 0;
	}
	res->kind = want;
	res->u.dt = dt;
	return 1;
}

/* A string as toQuantity() reads it: a number, optionally followed by a
 * UCUM unit in quotes or a calendar word (day, days, week...). */
static int
string_quantity(struct fp_ctx *c, const char *s, struct cg_fp_item *res)
{
	static const char *const cal[] = {"year",   "month",  "week",        "day", "hour",
	                                  "minute", "second", "millisecond", NULL};
	const char *p = s, *num, *u;
	size_t n;
	char *end;

	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return 0;
		for (p++; isdigit((unsigned char)*p);)
			p++;
	}
	num = p;
	res->u.d.v = strtod(s, &end);
	if (end != num)
		return 0;
	res->u.d.scale = fp_scale_of(s, (size_t)(num - s));
	while (*p == ' ')
		p++;
	if (!*p) {
		res->u.d.unit = "1";
		return p == num;
	}
	if (p == num)
		return 0;
	if (*p == '\'') {
		u = ++p;
		while (*p && *p != '\'')
			p++;
		if (*p != '\'' || p == u || p[1])
			return 0;
		n = (size_t)(p - u);
	} else {
		u = p;
		while (isalpha((unsigned char)*p))
			p++;
		if (*p)
			return 0;
		n = (size_t)(p - u);
		for (int k = 0;; k++) {
			size_t w;

			if (!cal[k])
				return 0;
			w = strlen(cal[k]);
			if ((n == w || (n == w + 1 && u[w] == 's')) && !strncmp(u, cal[k], w)) {
				res->u.d.unit = cal[k];
				return 1;
			}
		}
	}
	if (!(res->u.d.unit = fp_strndup(ARENA, u, n)))
		return -1;
	return 1;
}

static int
to_quantity(struct fp_ctx *c, const struct cg_fp_item *it0, struct cg_fp_item *res)
{
	struct cg_fp_item it;

	fp_system_value(it0, &it);
	memset(res, 0, sizeof(*res));
	res->kind = CG_FP_QUANTITY;
	switch (it.kind) {
	case CG_FP_QUANTITY:
		*res = it;
		res->node = NULL;
		res->ftype = NULL;
		return 1;
	case CG_FP_INTEGER:
		res->u.d.v = (double)it.u.i;
		res->u.d.unit = "1";
		return 1;
	case CG_FP_DECIMAL:
		res->u.d.v = it.u.d.v;
		res->u.d.scale = it.u.d.scale;
		res->u.d.unit = "1";
		return 1;
	case CG_FP_BOOLEAN:
		res->u.d.v = it.u.b;
		res->u.d.unit = "1";
		return 1;
	case CG_FP_STRING:
		return string_quantity(c, it.u.s, res);
	default:
		return 0;
	}
}

enum conv { C_INT, C_DEC, C_BOOL, C_STR, C_DATE, C_DT, C_TIME, C_QTY };

static int
convert(struct fp_ctx *c, enum conv to, const struct cg_fp_item *it, struct cg_fp_item *res)
{
	switch (to) {
	case C_INT:
		return to_integer(it, res);
	case C_DEC:
		return to_decimal(it, res);
	case C_BOOL:
		return to_boolean(it, res);
	case C_STR:
		return to_string(c, it, res);
	case C_DATE:
		return to_dt(it, CG_FP_DATE, res);
	case C_DT:
		return to_dt(it, CG_FP_DATETIME, res);
	case C_TIME:
		return to_dt(it, CG_FP_TIME, res);
	default:
		return to_quantity(c, it, res);
	}
}

static enum conv
conv_of(const char *name)
{
	static const char *const names[] = {"Integer", "Decimal",  "Boolean", "String",
	                                    "Date",    "DateTime", "Time",    "Quantity"};
	enum conv k;

	for (k = C_INT; k <= C_QTY; k++)
		if (strstr(name, names[k]) && strlen(strstr(name, names[k])) == strlen(names[k]))
			return k;
	return C_STR;
}

FN(f_to)
{
	const struct cg_fp_item *it;
	struct cg_fp_item res;

	int r;

	CHECK(one(c, in, call, &it));
	if ((r = convert(c, conv_of(call->node->fn->name), it, &res)) < 0)
		return CG_ENOMEM;
	if (r)
		return ret_item(c, &res, out);
	return CG_OK;
}

FN(f_convertsto)
{
	const struct cg_fp_item *it;
	struct cg_fp_item res;

	int r;

	CHECK(one(c, in, call, &it));
	if ((r = convert(c, conv_of(call->node->fn->name), it, &res)) < 0)
		return CG_ENOMEM;
	return ret_bool(c, r, out);
}

/* ---- strings ------------------------------------------------------------ */

static enum cg_err
ret_str(struct fp_ctx *c, const char *s, size_t n, struct cg_fp_coll *out)
{
	struct cg_fp_item it;
	char *p = fp_strndup(ARENA, s, n);

	if (!p)
		return CG_ENOMEM;
	fp_str(&it, p);
	return ret_item(c, &it, out);
}

FN(f_indexof)
{
	const char *s, *t, *p;
	struct cg_fp_item it;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &t));
	p = strstr(s, t);
	fp_int(&it, p ? (long long)(p - s) : -1);
	return ret_item(c, &it, out);
}

FN(f_substring)
{
	const char *s;
	long long start, len = -1;
	size_t n;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_int(c, call, 0, &start));
	if (call->node->nargs > 1 && call->args[1].n)
		CHECK(arg_int(c, call, 1, &len));
	n = strlen(s);
	if (start < 0 || (size_t)start >= n)
		return CG_OK;
	if (len < 0 || (size_t)len > n - (size_t)start)
		len = (long long)(n - (size_t)start);
	return ret_str(c, s + start, (size_t)len, out);
}

FN(f_startswith)
{
	const char *s, *t;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &t));
	return ret_bool(c, !strncmp(s, t, strlen(t)), out);
}

FN(f_endswith)
{
	const char *s, *t;
	size_t ls, lt;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &t));
	ls = strlen(s);
	lt = strlen(t);
	return ret_bool(c, lt <= ls && !strcmp(s + ls - lt, t), out);
}

FN(f_contains)
{
	const char *s, *t;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &t));
	return ret_bool(c, strstr(s, t) != NULL, out);
}

FN(f_case)
{
	const char *s;
	char *p;
	size_t k;
	int up = !strcmp(call->node->fn->name, "upper");
	struct cg_fp_item it;

	CHECK(one_string(c, in, call, &s));
	p = fp_strndup(ARENA, s, strlen(s));
	if (!p)
		return CG_ENOMEM;
	for (k = 0; p[k]; k++)
		p[k] = (char)(up ? toupper((unsigned char)p[k]) : tolower((unsigned char)p[k]));
	fp_str(&it, p);
	return ret_item(c, &it, out);
}

FN(f_length)
{
	const char *s;
	struct cg_fp_item it;
	long long n = 0;

	CHECK(one_string(c, in, call, &s));
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	fp_int(&it, n);
	return ret_item(c, &it, out);
}

FN(f_tochars)
{
	const char *s;
	struct fp_vec v = {0};
	struct cg_fp_item it;
	enum cg_err e;
	size_t n;

	CHECK(one_string(c, in, call, &s));
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

FN(f_replace)
{
	const char *s, *pat, *rep;
	struct cg_fp_item it;
	size_t ls, lp, lr, n = 0, k;
	char *o;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &pat));
	CHECK(arg_string(c, call, 1, &rep));
	ls = strlen(s);
	lp = strlen(pat);
	lr = strlen(rep);
	/* an empty pattern puts rep between every character and at both ends */
	if ((lp ? ls / lp * lr + ls : (ls + 1) * lr + ls) > CG_FP_MAX_STRING)
		return too_long(c);
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
	return ret_item(c, &it, out);
}

/* Java escapes a character inside a bracket expression ([\-_\]], as
 * eld-16 has it); POSIX takes a backslash there literally. Each escaped
 * character is written plainly, with "]" moved first and "-" last, where
 * POSIX reads them as themselves. Outside brackets, escapes are kept. */
static void
posix_brackets(const char *in, char *o)
{
	while (*in) {
		char body[256];
		size_t n = 0;
		int neg = 0, rb = 0, dash = 0;

		if (*in == '\\' && in[1]) {
			*o++ = *in++;
			*o++ = *in++;
			continue;
		}
		if (*in != '[') {
			*o++ = *in++;
			continue;
		}
		in++;
		if (*in == '^') {
			neg = 1;
			in++;
		}
		for (; *in && *in != ']' && n < sizeof(body) - 1; in++) {
			if (*in == '\\' && in[1]) {
				in++;
				if (*in == ']')
					rb = 1;
				else if (*in == '-')
					dash = 1;
				else
					body[n++] = *in;
			} else {
				body[n++] = *in;
			}
		}
		*o++ = '[';
		if (neg)
			*o++ = '^';
		if (rb)
			*o++ = ']';
		memcpy(o, body, n);
		o += n;
		if (dash)
			*o++ = '-';
		if (*in == ']')
			*o++ = *in++;
	}
	*o = '\0';
}

static enum cg_err
compile_re(struct fp_ctx *c, const char *pat, int anchored, regex_t *re)
{
	size_t n = strlen(pat);
	char *p = cg_arena_alloc(ARENA, n + 8), *q = cg_arena_alloc(ARENA, n + 1);

	if (!p || !q)
		return CG_ENOMEM;
	posix_brackets(pat, q);
	if (anchored)
		snprintf(p, n + 8, "^(%s)$", q);
	else
		memmove(p, q, strlen(q) + 1);
	if (regcomp(re, p, REG_EXTENDED))
		return fp_fail(c, "not a POSIX extended regular expression: %s", pat);
	return CG_OK;
}

FN(f_matches)
{
	const char *s, *pat;
	regex_t re;
	enum cg_err e;
	int m;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &pat));
	if ((e = compile_re(c, pat, !strcmp(call->node->fn->name, "matchesFull"), &re)))
		return e;
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ret_bool(c, m, out);
}

FN(f_replacematches)
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

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &pat));
	CHECK(arg_string(c, call, 1, &rep));
	if (!*pat) /* an empty pattern matches nothing to replace */
		return ret_item(c, &in->items[0], out);
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
			return too_long(c);                                                        \
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
		return ret_item(c, &it, out);
	}
}

FN(f_trim)
{
	const char *s;
	size_t n;

	CHECK(one_string(c, in, call, &s));
	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return ret_str(c, s, n, out);
}

FN(f_split)
{
	const char *s, *sep, *p;
	struct fp_vec v = {0};
	struct cg_fp_item it;
	enum cg_err e;
	size_t ls;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &sep));
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

FN(f_join)
{
	const char *sep = "";
	size_t k, n = 0, ls;
	struct cg_fp_item it;
	char *o;

	if (call->node->nargs && call->args[0].n)
		CHECK(arg_string(c, call, 0, &sep));
	ls = strlen(sep);
	for (k = 0; k < in->n; k++) {
		if (in->items[k].kind != CG_FP_STRING)
			return fp_fail(c, "join() needs strings");
		n += strlen(in->items[k].u.s) + ls;
	}
	if (n > CG_FP_MAX_STRING)
		return too_long(c);
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
	return ret_item(c, &it, out);
}

/* ---- math --------------------------------------------------------------- */

static int
one_number(struct fp_ctx *c, const struct cg_fp_coll *in, const struct fp_call *call,
           struct cg_fp_item *it)
{
	const struct cg_fp_item *p;
	int r = one(c, in, call, &p);

	if (r <= 0)
		return r;
	fp_system_value(p, it);
	it->node = NULL;
	it->ftype = NULL;
	if (it->kind != CG_FP_INTEGER && it->kind != CG_FP_DECIMAL &&
	    !(it->kind == CG_FP_QUANTITY && !strcmp(call->node->fn->name, "abs"))) {
		fp_fail(c, "%s() needs a number", call->node->fn->name);
		return -1;
	}
	return 1;
}

FN(f_math)
{
	const char *f = call->node->fn->name;
	struct cg_fp_item it, res;
	double x, y = 0, v;

	CHECK(one_number(c, in, call, &it));
	x = it.kind == CG_FP_INTEGER ? (double)it.u.i : it.u.d.v;
	if (!strcmp(f, "abs")) {
		res = it;
		if (it.kind == CG_FP_INTEGER)
			res.u.i = it.u.i < 0 ? -it.u.i : it.u.i;
		else
			res.u.d.v = fabs(it.u.d.v);
		return ret_item(c, &res, out);
	}
	if (!strcmp(f, "ceiling") || !strcmp(f, "floor") || !strcmp(f, "truncate")) {
		v = f[0] == 'c' ? ceil(x) : f[0] == 'f' ? floor(x) : trunc(x);
		fp_int(&res, (long long)v);
		return ret_item(c, &res, out);
	}
	if (!strcmp(f, "round")) {
		long long p = 0;
		double m;

		if (call->node->nargs)
			CHECK(arg_int(c, call, 0, &p));
		if (p < 0)
			return fp_fail(c, "round() needs a precision of 0 or more");
		m = pow(10, (double)p);
		fp_dec(&res, round(x * m) / m, (int)p);
		return ret_item(c, &res, out);
	}
	if (!strcmp(f, "log") || !strcmp(f, "power")) {
		struct cg_fp_item b;
		int r = one_number(c, &call->args[0], call, &b);

		if (r < 0)
			return CG_EINVAL;
		if (!r)
			return CG_OK;
		y = b.kind == CG_FP_INTEGER ? (double)b.u.i : b.u.d.v;
		if (f[0] == 'p' && it.kind == CG_FP_INTEGER && b.kind == CG_FP_INTEGER &&
		    b.u.i >= 0) {
			v = pow(x, y);
			if (fabs(v) > 2147483647.0)
				return CG_OK;
			fp_int(&res, (long long)v);
			return ret_item(c, &res, out);
		}
		v = f[0] == 'p' ? pow(x, y) : log(x) / log(y);
	} else if (!strcmp(f, "sqrt")) {
		v = sqrt(x);
	} else if (!strcmp(f, "ln")) {
		v = log(x);
	} else {
		v = exp(x);
	}
	if (!isfinite(v))
		return CG_OK;
	fp_dec(&res, v, -1);
	return ret_item(c, &res, out);
}

/* ---- tree navigation ---------------------------------------------------- */

FN(f_children)
{
	struct fp_vec v = {0};
	enum cg_err e;
	size_t k;

	(void)call;
	for (k = 0; k < in->n; k++)
		if ((e = fp_children_all(c, &in->items[k], &v)))
			return e;
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(f_descendants)
{
	struct fp_vec v = {0};
	enum cg_err e;
	size_t k;

	(void)call;
	for (k = 0; k < in->n; k++)
		if ((e = fp_children_all(c, &in->items[k], &v)))
			return e;
	for (k = 0; k < v.n; k++) {
		struct cg_fp_item it = v.items[k];

		if ((e = fp_children_all(c, &it, &v)))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

/* ---- FHIR --------------------------------------------------------------- */

FN(f_hasvalue)
{
	const struct cg_fp_item *it;

	if (in->n != 1)
		return ret_bool(c, 0, out);
	CHECK(one(c, in, call, &it));
	return ret_bool(c, it->kind != CG_FP_OBJECT && it->kind != CG_FP_NOVALUE, out);
}

FN(f_extension)
{
	struct fp_vec ext = {0}, v = {0};
	const char *url;
	enum cg_err e;
	size_t k;

	CHECK(arg_string(c, call, 0, &url));
	for (k = 0; k < in->n; k++)
		if ((e = fp_children_named(c, &in->items[k], "extension", &ext)))
			return e;
	for (k = 0; k < ext.n; k++) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(ext.items[k].node, "url");

		if (cJSON_IsString(u) && !strcmp(u->valuestring, url) &&
		    (e = fp_vec_push(ARENA, &v, &ext.items[k])))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

/* The resource a reference names, within the input: a contained resource
 * (#id), or an entry of the Bundle given by fullUrl or Type/id. */
static const cJSON *
find_reference(struct fp_ctx *c, const char *ref)
{
	const cJSON *root = c->env->resource, *e, *r;
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entry");
	const cJSON *contained = cJSON_GetObjectItemCaseSensitive(root, "contained");
	size_t n;

	if (ref[0] == '#') {
		cJSON_ArrayForEach(r, contained)
		{
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");

			if (cJSON_IsString(id) && !strcmp(id->valuestring, ref + 1))
				return r;
		}
		return NULL;
	}
	cJSON_ArrayForEach(e, entries)
	{
		const cJSON *full = cJSON_GetObjectItemCaseSensitive(e, "fullUrl");
		const cJSON *rt, *id;

		r = cJSON_GetObjectItemCaseSensitive(e, "resource");
		if (!r)
			continue;
		if (cJSON_IsString(full) && !strcmp(full->valuestring, ref))
			return r;
		rt = cJSON_GetObjectItemCaseSensitive(r, "resourceType");
		id = cJSON_GetObjectItemCaseSensitive(r, "id");
		if (!cJSON_IsString(rt) || !cJSON_IsString(id))
			continue;
		n = strlen(rt->valuestring);
		if (!strncmp(ref, rt->valuestring, n) && ref[n] == '/' &&
		    !strcmp(ref + n + 1, id->valuestring))
			return r;
		/* an absolute reference ending in Type/id */
		if (strlen(ref) > n + 1 + strlen(id->valuestring)) {
			const char *tail = ref + strlen(ref) - strlen(id->valuestring) - n - 1;

			if (tail[-1] == '/' && !strncmp(tail, rt->valuestring, n) &&
			    tail[n] == '/' && !strcmp(tail + n + 1, id->valuestring))
				return r;
		}
	}
	return NULL;
}

FN(f_resolve)
{
	struct fp_vec v = {0};
	struct cg_fp_item it;
	enum cg_err e;
	size_t k;

	(void)call;
	for (k = 0; k < in->n; k++) {
		const struct cg_fp_item *x = &in->items[k];
		const char *ref = NULL;
		const cJSON *r;

		if (x->kind == CG_FP_STRING)
			ref = x->u.s;
		else if (x->kind == CG_FP_OBJECT) {
			const cJSON *s = cJSON_GetObjectItemCaseSensitive(x->node, "reference");

			if (cJSON_IsString(s))
				ref = s->valuestring;
		}
		if (!ref || !(r = find_reference(c, ref)))
			continue;
		fp_resource_item(c, r, &it);
		if ((e = fp_vec_push(ARENA, &v, &it)))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

/* ---- aggregate ---------------------------------------------------------- */

FN(f_aggregate)
{
	struct cg_fp_coll total = {0}, r;
	const struct cg_fp_coll *saved = c->total;
	enum cg_err e = CG_OK;
	size_t k;

	if (call->node->nargs > 1 &&
	    (e = fp_eval_node(c, call->node->args[1], call->outer, &total)))
		return e;
	for (k = 0; k < in->n; k++) {
		c->total = &total;
		e = fp_eval_on(c, call->node->args[0], &in->items[k], (long long)k, &r);
		c->total = saved;
		if (e)
			return e;
		total = r;
	}
	*out = total;
	return CG_OK;
}

/* ---- precision and boundaries ------------------------------------------ */

/* Digits after the point of a decimal or quantity value (as written, or as
 * printed when computed). */
static int
dec_scale(const struct cg_fp_item *it)
{
	char buf[64];
	int n;

	if (it->kind == CG_FP_INTEGER)
		return 0;
	if (it->u.d.scale >= 0)
		return it->u.d.scale;
	n = snprintf(buf, sizeof(buf), "%.15g", it->u.d.v);
	if (n < 0 || (size_t)n >= sizeof(buf) || strpbrk(buf, "eE"))
		return 8;
	return fp_scale_of(buf, (size_t)n);
}

/* Digits of precision of a date, date-time or time for its field count, and
 * back: year 4, month 6, day 8, hour 10, minute 12, second 14, millisecond
 * 17 (a time: hour 2, minute 4, second 6, millisecond 9). */
static const int dt_digits[] = {0, 4, 6, 8, 10, 12, 14, 17};
static const int tm_digits[] = {0, 2, 4, 6, 9};

static int
dt_prec_of_digits(enum cg_fp_kind k, long long digits)
{
	int n = k == CG_FP_TIME ? 4 : k == CG_FP_DATE ? 3 : 7, f;

	for (f = 1; f <= n; f++)
		if ((k == CG_FP_TIME ? tm_digits[f] : dt_digits[f]) == digits)
			return f;
	return -1;
}

static int
days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return m >= 1 && m <= 12 ? d[m - 1] : 31;
}

FN(f_precision)
{
	const struct cg_fp_item *p;
	struct cg_fp_item it, res;

	CHECK(one(c, in, call, &p));
	fp_system_value(p, &it);
	switch (it.kind) {
	case CG_FP_INTEGER:
	case CG_FP_DECIMAL:
	case CG_FP_QUANTITY:
		fp_int(&res, dec_scale(&it));
		break;
	case CG_FP_DATE:
	case CG_FP_DATETIME:
		fp_int(&res, dt_digits[it.u.dt.prec < 1 || it.u.dt.prec > 7 ? 0 : it.u.dt.prec]);
		break;
	case CG_FP_TIME:
		fp_int(&res, tm_digits[it.u.dt.prec < 1 || it.u.dt.prec > 4 ? 0 : it.u.dt.prec]);
		break;
	default:
		return fp_fail(c, "precision() needs a number, a quantity, a date or a time");
	}
	return ret_item(c, &res, out);
}

/* x rounded down (dir -1) or up (1) to p digits after the point; values a
 * hair off a multiple of 10^-p (binary floating point) count as on it. */
static double
round_dir(double x, long long p, int dir)
{
	double m = pow(10, (double)p), y = x * m, r = round(y);

	if (fabs(y - r) <= 1e-9 * (fabs(y) > 1 ? fabs(y) : 1))
		y = r;
	else
		y = dir < 0 ? floor(y) : ceil(y);
	return y / m;
}

/* lowBoundary() (high 0) and highBoundary() (1): the least or greatest value
 * the input may stand for given its precision, to p digits (decimals: after
 * the point, 8 by default, at most 28; dates and times: digits of precision
 * as precision() counts them). An impossible precision is empty. */
FN(f_boundary)
{
	int high = call->node->fn->name[0] == 'h';
	const struct cg_fp_item *p0;
	struct cg_fp_item it, res;
	long long p = -1;

	CHECK(one(c, in, call, &p0));
	fp_system_value(p0, &it);
	it.node = NULL;
	it.ftype = NULL;
	it.ext = NULL;
	it.ctx = NULL;
	if (call->node->nargs) {
		int r = arg_int(c, call, 0, &p);

		if (r < 0)
			return CG_EINVAL;
		if (r == 0)
			return CG_OK;
		if (p < 0)
			return CG_OK;
	}
	switch (it.kind) {
	case CG_FP_INTEGER:
	case CG_FP_DECIMAL:
	case CG_FP_QUANTITY: {
		int s = dec_scale(&it);
		double v = it.kind == CG_FP_INTEGER ? (double)it.u.i : it.u.d.v;
		double half = 0.5 * pow(10, -(double)s);

		if (p < 0)
			p = 8;
		if (p > 28)
			return CG_OK;
		v = round_dir(high ? v + half : v - half, p, high ? 1 : -1);
		res = it;
		if (it.kind == CG_FP_INTEGER)
			fp_dec(&res, v, (int)p);
		res.u.d.v = v;
		res.u.d.scale = (int)p;
		return ret_item(c, &res, out);
	}
	case CG_FP_DATE:
	case CG_FP_DATETIME:
	case CG_FP_TIME: {
		struct cg_fp_dt *d = &res.u.dt;
		int f, base = it.kind == CG_FP_TIME ? 3 : 0;

		if (p < 0)
			p = it.kind == CG_FP_TIME ? 9 : it.kind == CG_FP_DATE ? 8 : 17;
		f = dt_prec_of_digits(it.kind, p);
		if (f < 0)
			return CG_OK;
		res = it;
		/* fields past the input's precision: the least or greatest */
		for (int k = it.u.dt.prec + 1 + base; k <= 7; k++) {
			switch (k) {
			case 2:
				d->month = high ? 12 : 1;
				break;
			case 3:
				d->day = high ? (short)days_in_month(d->year, d->month) : 1;
				break;
			case 4:
				d->hour = high ? 23 : 0;
				break;
			case 5:
				d->minute = high ? 59 : 0;
				break;
			case 6:
				d->second = high ? 59 : 0;
				break;
			case 7:
				d->ms = high ? 999 : 0;
				break;
			default:
				break;
			}
		}
		d->prec = (signed char)f;
		if (it.kind == CG_FP_DATETIME && !it.u.dt.has_tz && f >= 4) {
			/* no zone: the earliest (+14:00) or latest (-12:00) one */
			d->has_tz = 1;
			d->tz = high ? -12 * 60 : 14 * 60;
		}
		return ret_item(c, &res, out);
	}
	default:
		return fp_fail(c, "%s() needs a number, a quantity, a date or a time",
		               call->node->fn->name);
	}
}

/* ---- sort --------------------------------------------------------------- */

struct sort_ctx {
	struct fp_ctx *c;
	const struct cg_fp_item **keys; /* n * nk; NULL: an empty key */
	const int *desc;
	int nk;
	int failed;
};

static int
sort_cmp(struct sort_ctx *s, size_t x, size_t y)
{
	for (int k = 0; k < s->nk; k++) {
		const struct cg_fp_item *a = s->keys[x * (size_t)s->nk + (size_t)k];
		const struct cg_fp_item *b = s->keys[y * (size_t)s->nk + (size_t)k];
		int r;

		if (!a || !b) {
			/* an empty key first, ascending or descending */
			if (a || b)
				return !a ? -1 : 1;
			continue;
		}
		r = fp_item_compare(a, b);
		if (r == -2) {
			if (!s->failed)
				fp_fail(s->c, "sort() cannot compare these values");
			s->failed = 1;
			return 0;
		}
		if (r == -3)
			r = 0;
		if (r)
			return s->desc[k] ? -r : r;
	}
	return 0;
}

/* sort(key, ...): stable, ascending by each key in turn; a key written
 * -expr sorts descending (strings too); an empty key sorts first either
 * way; without keys the items themselves are the key. */
FN(f_sort)
{
	int nk = call->node->nargs ? call->node->nargs : 1;
	struct sort_ctx s = {c, NULL, NULL, nk, 0};
	size_t n = in->n, *idx, *tmp, w, i;
	int *desc;
	enum cg_err e;
	struct fp_vec v = {0};

	if (n == 0)
		return CG_OK;
	if (n > ((size_t)1 << 24))
		return fp_fail(c, "sort() on too large a collection");
	s.keys = cg_arena_alloc(ARENA, n * (size_t)nk * sizeof(*s.keys));
	desc = cg_arena_alloc(ARENA, (size_t)nk * sizeof(*desc));
	idx = cg_arena_alloc(ARENA, n * sizeof(*idx));
	tmp = cg_arena_alloc(ARENA, n * sizeof(*tmp));
	if (!s.keys || !desc || !idx || !tmp)
		return CG_ENOMEM;
	s.desc = desc;
	for (int k = 0; k < nk; k++) {
		const struct fp_node *key = call->node->nargs ? call->node->args[k] : NULL;

		desc[k] = key && key->kind == N_NEG;
		if (desc[k])
			key = key->left;
		for (i = 0; i < n; i++) {
			struct cg_fp_coll r;

			if (!key) {
				s.keys[i * (size_t)nk] = &in->items[i];
				continue;
			}
			if ((e = fp_eval_on(c, key, &in->items[i], (long long)i, &r)))
				return e;
			if (r.n > 1)
				return fp_fail(c, "a key of sort() gave %zu items for one item",
				               r.n);
			s.keys[i * (size_t)nk + (size_t)k] = r.n ? &r.items[0] : NULL;
		}
	}
	for (i = 0; i < n; i++)
		idx[i] = i;
	/* bottom-up merge sort: stable, O(n log n) */
	for (w = 1; w < n; w *= 2) {
		for (i = 0; i < n; i += 2 * w) {
			size_t lo = i, mid = i + w < n ? i + w : n,
			       hi = i + 2 * w < n ? i + 2 * w : n;
			size_t a = lo, b = mid, o = lo;

			while (a < mid && b < hi)
				tmp[o++] = sort_cmp(&s, idx[b], idx[a]) < 0 ? idx[b++] : idx[a++];
			while (a < mid)
				tmp[o++] = idx[a++];
			while (b < hi)
				tmp[o++] = idx[b++];
		}
		memcpy(idx, tmp, n * sizeof(*idx));
	}
	if (s.failed)
		return CG_EINVAL;
	for (i = 0; i < n; i++)
		if ((e = fp_vec_push(ARENA, &v, &in->items[idx[i]])))
			return e;
	fp_vec_done(&v, out);
	return CG_OK;
}

/* ---- encode, decode, escape, unescape ----------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(int ch, int url)
{
	const char *p;

	if (!ch)
		return -1;
	if (url && (ch == '+' || ch == '/'))
		return -1;
	if (url && ch == '-')
		return 62;
	if (url && ch == '_')
		return 63;
	p = strchr(b64, ch);
	return p ? (int)(p - b64) : -1;
}

static int
hex_value(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* encode('base64' | 'urlbase64' | 'hex') and decode(...): the string's
 * UTF-8 bytes; decoding to bytes that are not a string (a NUL) fails. */
FN(f_encode)
{
	int dec = call->node->fn->name[0] == 'd';
	const char *s, *how;
	size_t n, k, o = 0;
	char *r;
	int url;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &how));
	url = !strcmp(how, "urlbase64");
	n = strlen(s);
	if (!strcmp(how, "hex")) {
		if (!dec) {
			if (n > CG_FP_MAX_STRING / 2)
				return too_long(c);
			if (!(r = cg_arena_alloc(ARENA, 2 * n + 1)))
				return CG_ENOMEM;
			for (k = 0; k < n; k++)
				o += (size_t)snprintf(r + o, 3, "%02x", (unsigned char)s[k]);
		} else {
			if (n % 2)
				return fp_fail(c, "decode('hex'): an odd number of digits");
			if (!(r = cg_arena_alloc(ARENA, n / 2 + 1)))
				return CG_ENOMEM;
			for (k = 0; k < n; k += 2) {
				int hi = hex_value((unsigned char)s[k]),
				    lo = hex_value((unsigned char)s[k + 1]);

				if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
					return fp_fail(c, "decode('hex'): not hexadecimal text");
				r[o++] = (char)(hi * 16 + lo);
			}
		}
	} else if (url || !strcmp(how, "base64")) {
		if (!dec) {
			const char *al = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy"
			                       "z0123456789-_"
			                     : b64;

			if (n > CG_FP_MAX_STRING / 4 * 3)
				return too_long(c);
			if (!(r = cg_arena_alloc(ARENA, (n + 2) / 3 * 4 + 1)))
				return CG_ENOMEM;
			for (k = 0; k < n; k += 3) {
				unsigned v = (unsigned)(unsigned char)s[k] << 16;
				size_t m = n - k < 3 ? n - k : 3;

				if (m > 1)
					v |= (unsigned)(unsigned char)s[k + 1] << 8;
				if (m > 2)
					v |= (unsigned char)s[k + 2];
				r[o++] = al[(v >> 18) & 63];
				r[o++] = al[(v >> 12) & 63];
				r[o++] = m > 1 ? al[(v >> 6) & 63] : '=';
				r[o++] = m > 2 ? al[v & 63] : '=';
			}
		} else {
			unsigned v = 0;
			int bits = 0;

			if (!(r = cg_arena_alloc(ARENA, n / 4 * 3 + 4)))
				return CG_ENOMEM;
			for (k = 0; k < n && s[k] != '='; k++) {
				int d = b64_value((unsigned char)s[k], url);

				if (d < 0)
					return fp_fail(c, "decode('%s'): not %s text", how, how);
				v = (v << 6 | (unsigned)d) & 0xffffff;
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					r[o] = (char)((v >> bits) & 0xff);
					if (!r[o])
						return fp_fail(c, "decode('%s'): not a string",
						               how);
					o++;
				}
			}
			for (; k < n; k++)
				if (s[k] != '=')
					return fp_fail(c, "decode('%s'): not %s text", how, how);
		}
	} else {
		return fp_fail(c, "%s(): unknown encoding '%s'", call->node->fn->name, how);
	}
	r[o] = '\0';
	return ret_str(c, r, o, out);
}

/* escape('html' | 'json') and unescape(...). */
FN(f_escape)
{
	int un = call->node->fn->name[0] == 'u', html;
	const char *s, *how;
	size_t n, k, o = 0;
	char *r;

	CHECK(one_string(c, in, call, &s));
	CHECK(arg_string(c, call, 0, &how));
	html = !strcmp(how, "html");
	if (!html && strcmp(how, "json"))
		return fp_fail(c, "%s(): unknown format '%s'", call->node->fn->name, how);
	n = strlen(s);
	if (n > CG_FP_MAX_STRING / 6)
		return too_long(c);
	if (!(r = cg_arena_alloc(ARENA, 6 * n + 1)))
		return CG_ENOMEM;
	for (k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (!un && html) {
			const char *e = ch == '"'    ? "&quot;"
			                : ch == '<'  ? "&lt;"
			                : ch == '>'  ? "&gt;"
			                : ch == '&'  ? "&amp;"
			                : ch == '\'' ? "&#39;"
			                             : NULL;

			if (e) {
				memcpy(r + o, e, strlen(e));
				o += strlen(e);
			} else {
				r[o++] = (char)ch;
			}
		} else if (!un) {
			if (ch == '"' || ch == '\\') {
				r[o++] = '\\';
				r[o++] = (char)ch;
			} else if (ch < 0x20) {
				const char *e = ch == '\n'   ? "\\n"
				                : ch == '\r' ? "\\r"
				                : ch == '\t' ? "\\t"
				                             : NULL;

				if (e) {
					memcpy(r + o, e, 2);
					o += 2;
				} else {
					o += (size_t)snprintf(r + o, 7, "\\u%04x", ch);
				}
			} else {
				r[o++] = (char)ch;
			}
		} else if (html && ch == '&') {
			static const struct {
				const char *name;
				char ch;
			} ents[] = {{"&quot;", '"'}, {"&lt;", '<'},    {"&gt;", '>'},
			            {"&amp;", '&'},  {"&apos;", '\''}, {"&#39;", '\''}};
			size_t e;

			for (e = 0; e < sizeof(ents) / sizeof(ents[0]); e++)
				if (!strncmp(s + k, ents[e].name, strlen(ents[e].name)))
					break;
			if (e < sizeof(ents) / sizeof(ents[0])) {
				r[o++] = ents[e].ch;
				k += strlen(ents[e].name) - 1;
			} else {
				r[o++] = '&';
			}
		} else if (!html && ch == '\\' && s[k + 1]) {
			char nx = s[++k];

			r[o++] = nx == 'n' ? '\n' : nx == 'r' ? '\r' : nx == 't' ? '\t' : nx;
		} else {
			r[o++] = (char)ch;
		}
	}
	r[o] = '\0';
	return ret_str(c, r, o, out);
}

/* ---- the table ---------------------------------------------------------- */

static const struct fp_func funcs[] = {
        {"empty", 0, 0, 0, f_empty},
        {"exists", 0, 1, 1, f_exists},
        {"all", 1, 1, 1, f_all},
        {"allTrue", 0, 0, 0, f_alltrue},
        {"anyTrue", 0, 0, 0, f_anytrue},
        {"allFalse", 0, 0, 0, f_allfalse},
        {"anyFalse", 0, 0, 0, f_anyfalse},
        {"subsetOf", 1, 1, 0, f_subsetof},
        {"supersetOf", 1, 1, 0, f_supersetof},
        {"count", 0, 0, 0, f_count},
        {"distinct", 0, 0, 0, f_distinct},
        {"isDistinct", 0, 0, 0, f_isdistinct},
        {"where", 1, 1, 1, f_where},
        {"select", 1, 1, 1, f_select},
        {"repeat", 1, 1, 1, f_repeat},
        {"ofType", 1, 1, 1, f_oftype},
        {"is", 1, 1, 1, f_is},
        {"as", 1, 1, 1, f_as},
        {"first", 0, 0, 0, f_first},
        {"last", 0, 0, 0, f_last},
        {"tail", 0, 0, 0, f_tail},
        {"skip", 1, 1, 0, f_skip},
        {"take", 1, 1, 0, f_take},
        {"single", 0, 0, 0, f_single},
        {"union", 1, 1, 0, f_union},
        {"combine", 1, 1, 0, f_combine},
        {"intersect", 1, 1, 0, f_intersect},
        {"exclude", 1, 1, 0, f_exclude},
        {"iif", 2, 3, 1, f_iif},
        {"not", 0, 0, 0, f_not},
        {"trace", 1, 2, 0, f_trace},
        {"now", 0, 0, 0, f_now},
        {"today", 0, 0, 0, f_now},
        {"timeOfDay", 0, 0, 0, f_now},
        {"toInteger", 0, 0, 0, f_to},
        {"toDecimal", 0, 0, 0, f_to},
        {"toBoolean", 0, 0, 0, f_to},
        {"toString", 0, 0, 0, f_to},
        {"toDate", 0, 0, 0, f_to},
        {"toDateTime", 0, 0, 0, f_to},
        {"toTime", 0, 0, 0, f_to},
        {"toQuantity", 0, 1, 0, f_to},
        {"convertsToInteger", 0, 0, 0, f_convertsto},
        {"convertsToDecimal", 0, 0, 0, f_convertsto},
        {"convertsToBoolean", 0, 0, 0, f_convertsto},
        {"convertsToString", 0, 0, 0, f_convertsto},
        {"convertsToDate", 0, 0, 0, f_convertsto},
        {"convertsToDateTime", 0, 0, 0, f_convertsto},
        {"convertsToTime", 0, 0, 0, f_convertsto},
        {"convertsToQuantity", 0, 1, 0, f_convertsto},
        {"indexOf", 1, 1, 0, f_indexof},
        {"substring", 1, 2, 0, f_substring},
        {"startsWith", 1, 1, 0, f_startswith},
        {"endsWith", 1, 1, 0, f_endswith},
        {"contains", 1, 1, 0, f_contains},
        {"upper", 0, 0, 0, f_case},
        {"lower", 0, 0, 0, f_case},
        {"replace", 2, 2, 0, f_replace},
        {"matches", 1, 1, 0, f_matches},
        {"replaceMatches", 2, 2, 0, f_replacematches},
        {"length", 0, 0, 0, f_length},
        {"trim", 0, 0, 0, f_trim},
        {"split", 1, 1, 0, f_split},
        {"join", 0, 1, 0, f_join},
        {"toChars", 0, 0, 0, f_tochars},
        {"abs", 0, 0, 0, f_math},
        {"ceiling", 0, 0, 0, f_math},
        {"floor", 0, 0, 0, f_math},
        {"round", 0, 1, 0, f_math},
        {"sqrt", 0, 0, 0, f_math},
        {"ln", 0, 0, 0, f_math},
        {"log", 1, 1, 0, f_math},
        {"exp", 0, 0, 0, f_math},
        {"power", 1, 1, 0, f_math},
        {"truncate", 0, 0, 0, f_math},
        {"children", 0, 0, 0, f_children},
        {"descendants", 0, 0, 0, f_descendants},
        {"hasValue", 0, 0, 0, f_hasvalue},
        {"extension", 1, 1, 0, f_extension},
        {"resolve", 0, 0, 0, f_resolve},
        {"aggregate", 1, 2, 1, f_aggregate},
        {"precision", 0, 0, 0, f_precision},
        {"sort", 0, 16, 1, f_sort},
        {"encode", 1, 1, 0, f_encode},
        {"decode", 1, 1, 0, f_encode},
        {"escape", 1, 1, 0, f_escape},
        {"unescape", 1, 1, 0, f_escape},
        {"matchesFull", 1, 1, 0, f_matches},
        {"lowBoundary", 0, 1, 0, f_boundary},
        {"highBoundary", 0, 1, 0, f_boundary},
};

const struct fp_func *
fp_func_find(const char *name, size_t len)
{
	size_t k;

	for (k = 0; k < sizeof(funcs) / sizeof(funcs[0]); k++)
		if (strlen(funcs[k].name) == len && !strncmp(funcs[k].name, name, len))
			return &funcs[k];
	return NULL;
}
