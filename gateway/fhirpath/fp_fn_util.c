/*
 * fp_fn_util.c: utility functions (iif, not, trace, now, today, timeOfDay),
 * tree navigation (children, descendants), aggregate() and sort().
 */
#include <string.h>
#include <time.h>

#include "fp_fn.h"

/* ---- utility ------------------------------------------------------------ */

FN(fp_fn_iif)
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

FN(fp_fn_not)
{
	int b = fp_to_bool(c, in);

	(void)call;
	if (b == -2)
		return CG_EINVAL;
	if (b < 0)
		return CG_OK;
	return fp_ret_bool(c, !b, out);
}

FN(fp_fn_trace)
{
	(void)c;
	(void)call;
	*out = *in; /* traces go nowhere yet: the result is the input */
	return CG_OK;
}

FN(fp_fn_now)
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
	return fp_ret_item(c, &it, out);
}

/* ---- tree navigation ---------------------------------------------------- */

/* The children of every item of in, appended to v. */
static enum cg_err
children_of(struct fp_ctx *c, const struct cg_fp_coll *in, struct fp_vec *v)
{
	enum cg_err e;
	size_t k;

	for (k = 0; k < in->n; k++)
		if ((e = fp_children_all(c, &in->items[k], v)))
			return e;
	return CG_OK;
}

FN(fp_fn_children)
{
	struct fp_vec v = {0};
	enum cg_err e;

	(void)call;
	if ((e = children_of(c, in, &v)))
		return e;
	fp_vec_done(&v, out);
	return CG_OK;
}

FN(fp_fn_descendants)
{
	struct fp_vec v = {0};
	enum cg_err e;
	size_t k;

	(void)call;
	if ((e = children_of(c, in, &v)))
		return e;
	/* v grows as it is walked: each item's children go at its end */
	for (k = 0; k < v.n; k++) {
		struct cg_fp_item it = v.items[k];

		if ((e = fp_children_all(c, &it, &v)))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

/* ---- aggregate ---------------------------------------------------------- */

FN(fp_fn_aggregate)
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
FN(fp_fn_sort)
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
