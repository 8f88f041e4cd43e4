/*
 * fp_fn_coll.c: the functions on collections: existence (empty, exists, all,
 * allTrue..., subsetOf, count, distinct), filtering and projection (where,
 * select, repeat, ofType, is, as), subsetting (first, skip, take, single...)
 * and combining (union, combine, intersect, exclude).
 */
#include <string.h>

#include "fp_fn.h"

/* ---- existence ---------------------------------------------------------- */

FN(fp_fn_empty)
{
	(void)call;
	return fp_ret_bool(c, in->n == 0, out);
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

FN(fp_fn_exists)
{
	size_t hits;
	enum cg_err e;

	if (!call->node->nargs)
		return fp_ret_bool(c, in->n > 0, out);
	if ((e = criteria(c, call->node->args[0], in, NULL, &hits, NULL)))
		return e;
	return fp_ret_bool(c, hits > 0, out);
}

FN(fp_fn_all)
{
	size_t hits;
	enum cg_err e;

	if ((e = criteria(c, call->node->args[0], in, NULL, &hits, NULL)))
		return e;
	return fp_ret_bool(c, hits == in->n, out);
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
	return fp_ret_bool(c, all ? n == in->n : n > 0, out);
}

FN(fp_fn_alltrue)
{
	(void)call;
	return bools(c, in, 1, 1, out);
}
FN(fp_fn_anytrue)
{
	(void)call;
	return bools(c, in, 1, 0, out);
}
FN(fp_fn_allfalse)
{
	(void)call;
	return bools(c, in, 0, 1, out);
}
FN(fp_fn_anyfalse)
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

FN(fp_fn_subsetof)
{
	return fp_ret_bool(c, subset(in, &call->args[0]), out);
}

FN(fp_fn_supersetof)
{
	return fp_ret_bool(c, subset(&call->args[0], in), out);
}

FN(fp_fn_count)
{
	struct cg_fp_item it;

	(void)call;
	fp_int(&it, (long long)in->n);
	return fp_ret_item(c, &it, out);
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

FN(fp_fn_distinct)
{
	(void)call;
	return distinct(c, in, out);
}

FN(fp_fn_isdistinct)
{
	struct cg_fp_coll d;
	enum cg_err e;

	(void)call;
	if ((e = distinct(c, in, &d)))
		return e;
	return fp_ret_bool(c, d.n == in->n, out);
}

/* ---- filtering and projection ------------------------------------------- */

FN(fp_fn_where)
{
	struct fp_vec v = {0};
	size_t hits;
	enum cg_err e;

	if ((e = criteria(c, call->node->args[0], in, &v, &hits, NULL)))
		return e;
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(fp_fn_select)
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

FN(fp_fn_repeat)
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

FN(fp_fn_oftype)
{
	struct fp_vec v = {0};
	const char *t = type_of_arg(c, call);
	enum cg_err e;
	size_t k;

	if (!t)
		return CG_EINVAL;
	for (k = 0; k < in->n; k++) {
		int is = fp_is_type(c, &in->items[k], t, 0);

		if (is < 0)
			return fp_fail(c, "unknown type %s", t);
		if (is && (e = fp_vec_push(ARENA, &v, &in->items[k])))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(fp_fn_is)
{
	const struct cg_fp_item *it;
	const char *t = type_of_arg(c, call);
	int is;

	if (!t)
		return CG_EINVAL;
	CHECK(fp_one(c, in, call, &it));
	is = fp_is_type(c, it, t, 1);
	if (is < 0)
		return fp_fail(c, "unknown type %s", t);
	return fp_ret_bool(c, is, out);
}

/* On more than one item: an error, or (env->as_filters, fhirpath.h) the
 * items of the type, as ofType() keeps them. */
FN(fp_fn_as)
{
	const struct cg_fp_item *it;
	const char *t;
	int is;

	if (in->n > 1 && c->env->as_filters)
		return fp_fn_oftype(c, call, in, out);
	t = type_of_arg(c, call);
	if (!t)
		return CG_EINVAL;
	CHECK(fp_one(c, in, call, &it));
	is = fp_is_type(c, it, t, 0);
	if (is < 0)
		return fp_fail(c, "unknown type %s", t);
	if (is)
		return fp_ret_item(c, it, out);
	return CG_OK;
}

/* ---- subsetting --------------------------------------------------------- */

FN(fp_fn_first)
{
	(void)call;
	if (in->n)
		return fp_ret_item(c, &in->items[0], out);
	return CG_OK;
}

FN(fp_fn_last)
{
	(void)call;
	if (in->n)
		return fp_ret_item(c, &in->items[in->n - 1], out);
	return CG_OK;
}

FN(fp_fn_tail)
{
	(void)call;
	(void)c;
	if (in->n > 1) {
		out->items = in->items + 1;
		out->n = in->n - 1;
	}
	return CG_OK;
}

FN(fp_fn_skip)
{
	long long n;

	CHECK(fp_arg_int(c, call, 0, &n));
	if (n < 0)
		n = 0;
	if ((size_t)n < in->n) {
		out->items = in->items + n;
		out->n = in->n - (size_t)n;
	}
	return CG_OK;
}

FN(fp_fn_take)
{
	long long n;

	CHECK(fp_arg_int(c, call, 0, &n));
	if (n > 0) {
		out->items = in->items;
		out->n = (size_t)n < in->n ? (size_t)n : in->n;
	}
	return CG_OK;
}

FN(fp_fn_single)
{
	const struct cg_fp_item *it;

	CHECK(fp_one(c, in, call, &it));
	return fp_ret_item(c, it, out);
}

/* ---- combining ---------------------------------------------------------- */

FN(fp_fn_combine)
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

FN(fp_fn_union)
{
	struct cg_fp_coll all;
	enum cg_err e;

	if ((e = fp_fn_combine(c, call, in, &all)))
		return e;
	return distinct(c, &all, out);
}

FN(fp_fn_intersect)
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

FN(fp_fn_exclude)
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
