/*
 * fp_ops.c: the operators, with FHIRPath's empty propagation and
 * three-valued logic: and, or, xor, implies; union; =, !=, ~, !~; ordering;
 * in and contains; arithmetic on numbers, strings, dates and quantities.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fp_internal.h"

/* ---- operators ---------------------------------------------------------- */

/* R4's table of the boolean operators over true, false and empty. */
int
fp_logic3(enum fp_binop op, int a, int b)
{
	switch (op) {
	case OP_AND:
		return (a == 0 || b == 0) ? 0 : (a == 1 && b == 1) ? 1 : -1;
	case OP_OR:
		return (a == 1 || b == 1) ? 1 : (a == 0 && b == 0) ? 0 : -1;
	case OP_XOR:
		return (a < 0 || b < 0) ? -1 : a != b;
	default: /* implies */
		return a == 0 ? 1 : a == 1 ? b : (b == 1 ? 1 : -1);
	}
}

static enum cg_err
logic(struct fp_ctx *c, enum fp_binop op, const struct cg_fp_coll *l, const struct cg_fp_coll *r,
      struct cg_fp_coll *out)
{
	int a = fp_to_bool(c, l), b = fp_to_bool(c, r), v;

	if (a == -2 || b == -2)
		return CG_EINVAL;
	v = fp_logic3(op, a, b);
	if (v < 0) {
		out->n = 0;
		return CG_OK;
	}
	return fp_ret_bool(c, v, out);
}

static int
contains_item(const struct cg_fp_coll *v, const struct cg_fp_item *it)
{
	size_t k;

	for (k = 0; k < v->n; k++)
		if (fp_item_equal(&v->items[k], it) == 1)
			return 1;
	return 0;
}

static enum cg_err
union_of(struct fp_ctx *c, const struct cg_fp_coll *l, const struct cg_fp_coll *r,
         struct cg_fp_coll *out)
{
	struct fp_vec v = {0};
	struct cg_fp_coll sofar;
	enum cg_err e;
	size_t k;

	for (k = 0; k < l->n + r->n; k++) {
		const struct cg_fp_item *it = k < l->n ? &l->items[k] : &r->items[k - l->n];

		fp_vec_done(&v, &sofar);
		if (contains_item(&sofar, it))
			continue;
		if ((e = fp_vec_push(c->env->arena, &v, it)))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

static enum cg_err
equality(struct fp_ctx *c, enum fp_binop op, const struct cg_fp_coll *l, const struct cg_fp_coll *r,
         struct cg_fp_coll *out)
{
	int eq = 1;
	size_t k, j;

	if (op == OP_EQ || op == OP_NE) {
		if (!l->n || !r->n) {
			out->n = 0;
			return CG_OK;
		}
		if (l->n != r->n) {
			eq = 0;
		} else {
			for (k = 0; k < l->n && eq == 1; k++)
				eq = fp_item_equal(&l->items[k], &r->items[k]);
			if (eq < 0) {
				out->n = 0;
				return CG_OK;
			}
		}
		return fp_ret_bool(c, op == OP_EQ ? eq : !eq, out);
	}
	if (l->n != r->n) {
		eq = 0;
	} else {
		for (k = 0; k < l->n && eq; k++) {
			for (j = 0; j < r->n; j++)
				if (fp_item_equiv(&l->items[k], &r->items[j]))
					break;
			eq = j < r->n;
		}
	}
	return fp_ret_bool(c, op == OP_EQUIV ? eq : !eq, out);
}

enum cg_err
fp_at_most_one(struct fp_ctx *c, const struct cg_fp_coll *v, const char *what)
{
	if (v->n > 1)
		return fp_fail(c, "%s: a single value expected, found %zu", what, v->n);
	return CG_OK;
}

static enum cg_err
compare(struct fp_ctx *c, enum fp_binop op, const struct cg_fp_coll *l, const struct cg_fp_coll *r,
        struct cg_fp_coll *out)
{
	enum cg_err e;
	int v;

	if ((e = fp_at_most_one(c, l, "comparison")) || (e = fp_at_most_one(c, r, "comparison")))
		return e;
	if (!l->n || !r->n) {
		out->n = 0;
		return CG_OK;
	}
	v = fp_item_compare(&l->items[0], &r->items[0]);
	if (v == -2)
		return fp_fail(c, "cannot compare %s with %s", cg_fp_type_name(&l->items[0]),
		               cg_fp_type_name(&r->items[0]));
	if (v == -3) {
		out->n = 0;
		return CG_OK;
	}
	switch (op) {
	case OP_LT:
		return fp_ret_bool(c, v < 0, out);
	case OP_GT:
		return fp_ret_bool(c, v > 0, out);
	case OP_LE:
		return fp_ret_bool(c, v <= 0, out);
	default:
		return fp_ret_bool(c, v >= 0, out);
	}
}

static double
numval(const struct cg_fp_item *it)
{
	return it->kind == CG_FP_INTEGER ? (double)it->u.i : it->u.d.v;
}

static int
is_number(const struct cg_fp_item *it)
{
	return it->kind == CG_FP_INTEGER || it->kind == CG_FP_DECIMAL;
}

static int
max_int(int a, int b)
{
	return a > b ? a : b;
}

/* The unit of a product (op '.') or quotient ('/') of quantities in units a
 * and b, as UCUM writes it: g/m, cm.m, g/(m.s); '1' for m/m. */
static const char *
unit_of(struct fp_ctx *c, const char *a, char op, const char *b)
{
	size_t la, lb;
	int paren;
	char *s;

	a = fp_ucum_code(a);
	b = fp_ucum_code(b);
	if (op == '/' && !strcmp(a, b))
		return "1";
	if (!strcmp(b, "1"))
		return a;
	if (op == '.' && !strcmp(a, "1"))
		return b;
	paren = strpbrk(b, op == '.' ? "/" : "./") != NULL;
	la = strlen(a);
	lb = strlen(b);
	s = cg_arena_alloc(c->env->arena, la + lb + 4);
	if (!s)
		return NULL;
	snprintf(s, la + lb + 4, paren ? "%s%c(%s)" : "%s%c%s", a, op, b);
	return s;
}

/* Arithmetic with quantities: + and - in commensurable units (b converted to
 * a's), * and / in any units (the unit is the product or quotient), and a
 * quantity times or divided by a number. */
static enum cg_err
quantity_arith(struct fp_ctx *c, enum fp_binop op, const struct cg_fp_item *a,
               const struct cg_fp_item *b, struct cg_fp_coll *out)
{
	struct cg_fp_item res;
	double y;

	if (a->kind != CG_FP_QUANTITY) /* 2 * 3 'g' */
		return quantity_arith(c, op, b, a, out);
	res = *a;
	if (is_number(b)) {
		y = numval(b);
		if (op == OP_MUL)
			res.u.d.v = a->u.d.v * y;
		else if (op == OP_DIV && y != 0)
			res.u.d.v = a->u.d.v / y;
		else if (op == OP_DIV)
			return CG_OK;
		else
			return fp_fail(c, "cannot apply this operator to a quantity and a number");
		return fp_single(c->env->arena, &res, out);
	}
	switch (op) {
	case OP_ADD:
	case OP_SUB:
		if (fp_ucum_convert(b->u.d.v, b->u.d.unit, a->u.d.unit, &y))
			return fp_fail(c, "cannot add or subtract quantities in '%s' and '%s'",
			               a->u.d.unit, b->u.d.unit);
		res.u.d.v = op == OP_ADD ? a->u.d.v + y : a->u.d.v - y;
		break;
	case OP_MUL:
		res.u.d.v = a->u.d.v * b->u.d.v;
		res.u.d.scale =
		        a->u.d.scale < 0 || b->u.d.scale < 0 ? -1 : a->u.d.scale + b->u.d.scale;
		if (!(res.u.d.unit = unit_of(c, a->u.d.unit, '.', b->u.d.unit)))
			return CG_ENOMEM;
		break;
	case OP_DIV:
		if (b->u.d.v == 0)
			return CG_OK;
		res.u.d.v = a->u.d.v / b->u.d.v;
		res.u.d.scale = -1;
		if (!(res.u.d.unit = unit_of(c, a->u.d.unit, '/', b->u.d.unit)))
			return CG_ENOMEM;
		break;
	default:
		return fp_fail(c, "cannot apply this operator to quantities");
	}
	if (!isfinite(res.u.d.v))
		return CG_OK;
	return fp_single(c->env->arena, &res, out);
}

static enum cg_err
arith(struct fp_ctx *c, enum fp_binop op, const struct cg_fp_coll *l, const struct cg_fp_coll *r,
      struct cg_fp_coll *out)
{
	struct cg_fp_item a, b, res;
	enum cg_err e;

	if (op == OP_CONCAT) {
		const char *x = "", *y = "";
		size_t lx, ly;
		char *s;

		if ((e = fp_at_most_one(c, l, "&")) || (e = fp_at_most_one(c, r, "&")))
			return e;
		if (l->n && !(x = fp_item_string(c->env->arena, &l->items[0])))
			return fp_fail(c, "& needs strings");
		if (r->n && !(y = fp_item_string(c->env->arena, &r->items[0])))
			return fp_fail(c, "& needs strings");
		lx = strlen(x);
		ly = strlen(y);
		if (lx + ly > CG_FP_MAX_STRING) {
			fp_fail(c, "a string longer than %zu bytes", CG_FP_MAX_STRING);
			return CG_ELIMIT;
		}
		s = cg_arena_alloc(c->env->arena, lx + ly + 1);
		if (!s)
			return CG_ENOMEM;
		memcpy(s, x, lx);
		memcpy(s + lx, y, ly + 1);
		fp_str(&res, s);
		return fp_single(c->env->arena, &res, out);
	}
	if ((e = fp_at_most_one(c, l, "arithmetic")) || (e = fp_at_most_one(c, r, "arithmetic")))
		return e;
	out->n = 0;
	if (!l->n || !r->n)
		return CG_OK;
	fp_system_value(&l->items[0], &a);
	fp_system_value(&r->items[0], &b);
	a.node = b.node = NULL;
	a.ftype = b.ftype = NULL;
	if (a.kind == CG_FP_STRING && b.kind == CG_FP_STRING && op == OP_ADD)
		return arith(c, OP_CONCAT, l, r, out);
	if (is_number(&a) && is_number(&b)) {
		double x = numval(&a), y = numval(&b), v;
		int ints = a.kind == CG_FP_INTEGER && b.kind == CG_FP_INTEGER;
		int sa = a.kind == CG_FP_DECIMAL ? a.u.d.scale : 0;
		int sb = b.kind == CG_FP_DECIMAL ? b.u.d.scale : 0;

		switch (op) {
		case OP_ADD:
		case OP_SUB:
		case OP_MUL:
			if (ints) {
				long long iv;
				int of = op == OP_ADD   ? __builtin_add_overflow(a.u.i, b.u.i, &iv)
				         : op == OP_SUB ? __builtin_sub_overflow(a.u.i, b.u.i, &iv)
				                        : __builtin_mul_overflow(a.u.i, b.u.i, &iv);

				if (of || iv > 2147483647LL || iv < -2147483648LL)
					return CG_OK;
				fp_int(&res, iv);
				break;
			}
			v = op == OP_ADD ? x + y : op == OP_SUB ? x - y : x * y;
			fp_dec(&res, v, op == OP_MUL ? sa + sb : max_int(sa, sb));
			break;
		case OP_DIV:
			if (y == 0)
				return CG_OK;
			fp_dec(&res, x / y, -1);
			break;
		case OP_IDIV:
			if (y == 0)
				return CG_OK;
			if (ints)
				fp_int(&res, a.u.i / b.u.i);
			else
				fp_int(&res, (long long)trunc(x / y));
			break;
		case OP_MOD:
			if (y == 0)
				return CG_OK;
			if (ints)
				fp_int(&res, a.u.i % b.u.i);
			else
				fp_dec(&res, fmod(x, y), max_int(sa, sb));
			break;
		default:
			return fp_fail(c, "bad operator");
		}
		if (!ints && res.kind == CG_FP_DECIMAL && !isfinite(res.u.d.v))
			return CG_OK;
		return fp_single(c->env->arena, &res, out);
	}
	if ((a.kind == CG_FP_DATE || a.kind == CG_FP_DATETIME || a.kind == CG_FP_TIME) &&
	    b.kind == CG_FP_QUANTITY && (op == OP_ADD || op == OP_SUB)) {
		if (fp_dt_add(&a, &b, op == OP_ADD ? 1 : -1, &res))
			return fp_fail(c, "cannot add '%s' to a date", b.u.d.unit);
		return fp_single(c->env->arena, &res, out);
	}
	if ((a.kind == CG_FP_QUANTITY && (b.kind == CG_FP_QUANTITY || is_number(&b))) ||
	    (is_number(&a) && b.kind == CG_FP_QUANTITY && op == OP_MUL))
		return quantity_arith(c, op, &a, &b, out);
	return fp_fail(c, "cannot apply an arithmetic operator to %s and %s", cg_fp_type_name(&a),
	               cg_fp_type_name(&b));
}

enum cg_err
fp_binary(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_coll *focus,
          struct cg_fp_coll *out)
{
	struct cg_fp_coll l, r;
	enum cg_err e;

	if ((e = fp_eval_node(c, n->left, focus, &l)))
		return e;
	/* and/or/implies need not evaluate the right side when the left decides */
	if (n->op == OP_AND || n->op == OP_OR || n->op == OP_IMPLIES) {
		int a = fp_to_bool(c, &l);

		if (a == -2)
			return CG_EINVAL;
		if ((n->op == OP_AND && a == 0) || (n->op == OP_OR && a == 1) ||
		    (n->op == OP_IMPLIES && a == 0))
			return fp_ret_bool(c, n->op != OP_AND, out);
	}
	if ((e = fp_eval_node(c, n->right, focus, &r)))
		return e;
	switch (n->op) {
	case OP_AND:
	case OP_OR:
	case OP_XOR:
	case OP_IMPLIES:
		return logic(c, n->op, &l, &r, out);
	case OP_UNION:
		return union_of(c, &l, &r, out);
	case OP_EQ:
	case OP_NE:
	case OP_EQUIV:
	case OP_NEQUIV:
		return equality(c, n->op, &l, &r, out);
	case OP_LT:
	case OP_GT:
	case OP_LE:
	case OP_GE:
		return compare(c, n->op, &l, &r, out);
	case OP_IN:
	case OP_CONTAINS: {
		const struct cg_fp_coll *elem = n->op == OP_IN ? &l : &r;
		const struct cg_fp_coll *set = n->op == OP_IN ? &r : &l;

		if ((e = fp_at_most_one(c, elem, n->op == OP_IN ? "in" : "contains")))
			return e;
		if (!elem->n) {
			out->n = 0;
			return CG_OK;
		}
		return fp_ret_bool(c, contains_item(set, &elem->items[0]), out);
	}
	default:
		return arith(c, n->op, &l, &r, out);
	}
}
