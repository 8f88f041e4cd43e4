/*
 * fp_fn_math.c: the math functions (abs, ceiling, floor, round, sqrt, ln,
 * log, exp, power, truncate) on integers and decimals.
 */
#include <math.h>
#include <string.h>

#include "fp_fn.h"

/* ---- math --------------------------------------------------------------- */

static int
one_number(struct fp_ctx *c, const struct cg_fp_coll *in, const struct fp_call *call,
           struct cg_fp_item *it)
{
	const struct cg_fp_item *p;
	int r = fp_one(c, in, call, &p);

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

FN(fp_fn_math)
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
		return fp_ret_item(c, &res, out);
	}
	if (!strcmp(f, "ceiling") || !strcmp(f, "floor") || !strcmp(f, "truncate")) {
		v = f[0] == 'c' ? ceil(x) : f[0] == 'f' ? floor(x) : trunc(x);
		fp_int(&res, (long long)v);
		return fp_ret_item(c, &res, out);
	}
	if (!strcmp(f, "round")) {
		long long p = 0;
		double m;

		if (call->node->nargs)
			CHECK(fp_arg_int(c, call, 0, &p));
		if (p < 0)
			return fp_fail(c, "round() needs a precision of 0 or more");
		m = pow(10, (double)p);
		fp_dec(&res, round(x * m) / m, (int)p);
		return fp_ret_item(c, &res, out);
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
			return fp_ret_item(c, &res, out);
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
	return fp_ret_item(c, &res, out);
}

/* comparable(quantity): whether the input quantity's unit converts to the
 * argument's (1 'cm' and 1 '[in_i]' do; 1 'cm' and 1 's' do not). */
FN(fp_fn_comparable)
{
	const struct cg_fp_item *p, *q;
	struct cg_fp_item a, b;
	struct fp_ucum ua, ub;

	CHECK(fp_one(c, in, call, &p));
	CHECK(fp_one(c, &call->args[0], call, &q));
	fp_system_value(p, &a);
	fp_system_value(q, &b);
	if (a.kind != CG_FP_QUANTITY || b.kind != CG_FP_QUANTITY)
		return fp_fail(c, "comparable() needs quantities");
	if (!strcmp(fp_ucum_code(a.u.d.unit), fp_ucum_code(b.u.d.unit)))
		return fp_ret_bool(c, 1, out);
	return fp_ret_bool(c,
	                   !fp_ucum_parse(a.u.d.unit, &ua) && !fp_ucum_parse(b.u.d.unit, &ub) &&
	                           fp_ucum_comparable(&ua, &ub),
	                   out);
}
