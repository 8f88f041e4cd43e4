/*
 * fp_eval.c: evaluation of a compiled FHIRPath program over a cJSON tree:
 * navigation (with the R4 tables for choice elements and types), the
 * operators with FHIRPath's empty propagation and three-valued logic, and
 * type tests. Every collection lives in the environment's arena.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "fhir_structure.h"
#include "json_scan.h"
#include "fp_internal.h"

#define MAX_EVAL_DEPTH 400

enum cg_err
fp_fail(struct fp_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->env->error, sizeof(c->env->error), fmt, ap);
	va_end(ap);
	return CG_EINVAL;
}

enum cg_err
fp_vec_push(struct cg_arena *a, struct fp_vec *v, const struct cg_fp_item *it)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		struct cg_fp_item *p;

		/* An expression's collections can grow as a product of its
		 * nesting ((1|2).select((1|2).select(...))): a cap on the whole
		 * evaluation keeps a hostile expression from taking the machine. */
		if (cap > 1024 && cg_arena_used(a) > CG_FP_MAX_EVAL_BYTES)
			return CG_ELIMIT;
		p = cg_arena_alloc(a, cap * sizeof(*p));
		if (!p)
			return CG_ENOMEM;
		if (v->n)
			memcpy(p, v->items, v->n * sizeof(*p));
		v->items = p;
		v->cap = cap;
	}
	v->items[v->n++] = *it;
	return CG_OK;
}

void
fp_vec_done(struct fp_vec *v, struct cg_fp_coll *out)
{
	out->items = v->items;
	out->n = v->n;
}

/* ---- navigation ---------------------------------------------------------- */

void
fp_resource_item(struct fp_ctx *c, const cJSON *node, struct cg_fp_item *out)
{
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(node, "resourceType");

	memset(out, 0, sizeof(*out));
	out->kind = CG_FP_OBJECT;
	out->node = node;
	if (cJSON_IsString(rt)) {
		out->ftype = rt->valuestring;
		if (c->env->structure)
			out->ctx = cg_fhir_context(c->env->structure, rt->valuestring);
	}
}

/* Digits after the point of a JSON number, as cJSON kept it. */
static int
json_scale(const cJSON *n)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.15g", n->valuedouble);
	if (strchr(buf, 'e'))
		return 0;
	if (!strchr(buf, '.'))
		return (n->type & CG_JSON_NOT_INTEGRAL) ? 1 : 0;
	return fp_scale_of(buf, strlen(buf));
}

/* The item for JSON value v of element el with type t. */
static void
make_item(struct fp_ctx *c, const cJSON *v, const cJSON *ext, const struct cg_fhir_element *el,
          const struct cg_fhir_type *t, struct cg_fp_item *it)
{
	memset(it, 0, sizeof(*it));
	it->node = v;
	it->ext = cJSON_IsObject(ext) ? ext : NULL;
	it->ftype = t ? t->name : NULL;
	if (!v || cJSON_IsNull(v)) {
		it->kind = CG_FP_NOVALUE;
		it->node = NULL;
		return;
	}
	if (cJSON_IsObject(v)) {
		it->kind = CG_FP_OBJECT;
		if (el && (el->ref || (t && t->inline_ctx))) {
			it->ctx = el->ctx;
			if (!it->ftype || el->ref)
				it->ftype = "BackboneElement";
		} else if ((t && (t->any_resource || t->kind == CG_FHIR_RESOURCE)) ||
		           (!t && cJSON_GetObjectItemCaseSensitive(v, "resourceType"))) {
			fp_resource_item(c, v, it);
		} else if (t) {
			it->ctx = t->ctx;
		}
		return;
	}
	if (cJSON_IsString(v)) {
		const char *ft = it->ftype;
		enum cg_fp_kind k;
		struct cg_fp_dt dt;

		it->kind = CG_FP_STRING;
		it->u.s = v->valuestring;
		if (ft &&
		    (!strcmp(ft, "date") || !strcmp(ft, "dateTime") || !strcmp(ft, "instant") ||
		     !strcmp(ft, "time")) &&
		    !fp_dt_parse(v->valuestring, strlen(v->valuestring), !strcmp(ft, "time"), &k,
		                 &dt)) {
			it->kind = strcmp(ft, "date") && k == CG_FP_DATE ? CG_FP_DATETIME : k;
			it->u.dt = dt;
		}
		return;
	}
	if (cJSON_IsNumber(v)) {
		const char *ft = it->ftype;
		int integral = !(v->type & CG_JSON_NOT_INTEGRAL) &&
		               v->valuedouble == floor(v->valuedouble) &&
		               fabs(v->valuedouble) < 9.0e15;

		if (ft ? (strcmp(ft, "integer") == 0 || strcmp(ft, "positiveInt") == 0 ||
		          strcmp(ft, "unsignedInt") == 0) &&
		                    integral
		       : integral) {
			it->kind = CG_FP_INTEGER;
			it->u.i = (long long)v->valuedouble;
		} else {
			it->kind = CG_FP_DECIMAL;
			it->u.d.v = v->valuedouble;
			it->u.d.scale = json_scale(v);
		}
		return;
	}
	if (cJSON_IsBool(v)) {
		it->kind = CG_FP_BOOLEAN;
		it->u.b = cJSON_IsTrue(v);
		return;
	}
	it->kind = CG_FP_NOVALUE;
}

/* The items of member m (and its "_name" companion ext) of an object. */
static enum cg_err
push_member(struct fp_ctx *c, const cJSON *m, const cJSON *ext, const struct cg_fhir_element *el,
            const struct cg_fhir_type *t, struct fp_vec *out)
{
	struct cg_fp_item it;
	enum cg_err r;

	if (cJSON_IsArray(m) || (!m && cJSON_IsArray(ext))) {
		const cJSON *e = cJSON_IsArray(ext) ? ext->child : NULL;
		const cJSON *v = m ? m->child : NULL;

		while (v || e) {
			if ((v && !cJSON_IsNull(v)) || cJSON_IsObject(e)) {
				make_item(c, v, e, el, t, &it);
				if ((r = fp_vec_push(c->env->arena, out, &it)))
					return r;
			}
			v = v ? v->next : NULL;
			e = e ? e->next : NULL;
		}
		return CG_OK;
	}
	if (m && cJSON_IsNull(m) && !cJSON_IsObject(ext))
		return CG_OK;
	make_item(c, m, ext, el, t, &it);
	return fp_vec_push(c->env->arena, out, &it);
}

/* The "_name" companion of member name in obj, or NULL. */
static const cJSON *
companion(const cJSON *obj, const char *name)
{
	char key[128];

	if (strlen(name) + 2 > sizeof(key))
		return NULL;
	key[0] = '_';
	strcpy(key + 1, name);
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

enum cg_err
fp_children_named(struct fp_ctx *c, const struct cg_fp_item *item, const char *name,
                  struct fp_vec *out)
{
	size_t len = strlen(name);
	const cJSON *obj = item->node, *m;
	enum cg_err r;
	int found = 0;

	if (item->kind != CG_FP_OBJECT) {
		/* a primitive's id and extensions are in its companion */
		if (!item->ext)
			return CG_OK;
		m = cJSON_GetObjectItemCaseSensitive(item->ext, name);
		if (!m)
			return CG_OK;
		return push_member(c, m, NULL, NULL,
		                   c->env->structure && !strcmp(name, "extension")
		                           ? cg_fhir_type(c->env->structure, "Extension")
		                           : NULL,
		                   out);
	}
	if (!cJSON_IsObject(obj))
		return CG_OK;
	for (m = obj->child; m; m = m->next) {
		const char *k = m->string;
		const struct cg_fhir_element *el = NULL;
		const struct cg_fhir_type *t = NULL;
		size_t idx = 0;

		if (!k || k[0] == '_')
			continue;
		if (!strcmp(k, "resourceType") && item->ftype && obj == item->node &&
		    cJSON_GetObjectItemCaseSensitive(obj, "resourceType") == m)
			continue;
		if (!strcmp(k, name)) {
			if (item->ctx)
				el = cg_fhir_child(item->ctx, k, &t, &idx);
		} else if (item->ctx && !strncmp(k, name, len) && isupper((unsigned char)k[len])) {
			el = cg_fhir_child(item->ctx, k, &t, &idx);
			if (!el || !el->choice || el->name_len != len)
				continue;
		} else {
			continue;
		}
		found = 1;
		if ((r = push_member(c, m, companion(obj, k), el, t, out)))
			return r;
	}
	if (!found) {
		/* a primitive present only through its extensions */
		const cJSON *e = companion(obj, name);

		if (e) {
			const struct cg_fhir_element *el = NULL;
			const struct cg_fhir_type *t = NULL;
			size_t idx = 0;

			if (item->ctx)
				el = cg_fhir_child(item->ctx, name, &t, &idx);
			(void)el;
			return push_member(c, NULL, e, el, t, out);
		}
	}
	return CG_OK;
}

enum cg_err
fp_children_all(struct fp_ctx *c, const struct cg_fp_item *item, struct fp_vec *out)
{
	const cJSON *m;
	enum cg_err r;

	if (item->kind != CG_FP_OBJECT)
		return CG_OK;
	for (m = item->node->child; m; m = m->next) {
		const struct cg_fhir_element *el = NULL;
		const struct cg_fhir_type *t = NULL;
		size_t idx = 0;

		if (!m->string || !strcmp(m->string, "resourceType"))
			continue;
		if (m->string[0] == '_') {
			/* a primitive without a value is a child too, through its
			 * extensions; one with a value comes with it below */
			if (cJSON_GetObjectItemCaseSensitive(item->node, m->string + 1))
				continue;
			if (item->ctx)
				el = cg_fhir_child(item->ctx, m->string + 1, &t, &idx);
			if ((r = push_member(c, NULL, m, el, t, out)))
				return r;
			continue;
		}
		if (item->ctx)
			el = cg_fhir_child(item->ctx, m->string, &t, &idx);
		if ((r = push_member(c, m, companion(item->node, m->string), el, t, out)))
			return r;
	}
	return CG_OK;
}

/* ---- types -------------------------------------------------------------- */

static int
is_resource_type(struct fp_ctx *c, const char *name)
{
	const struct cg_fhir_type *t;

	if (!c->env->structure || !name)
		return 0;
	t = cg_fhir_type(c->env->structure, name);
	return t && t->kind == CG_FHIR_RESOURCE;
}

int
fp_is_type(struct fp_ctx *c, const struct cg_fp_item *it, const char *type)
{
	static const char *const sys[][2] = {
	        {"Boolean", "boolean"}, {"Integer", "integer"},   {"Decimal", "decimal"},
	        {"String", "string"},   {"Date", "date"},         {"DateTime", "dateTime"},
	        {"Time", "time"},       {"Quantity", "Quantity"},
	};
	int system = 0, fhir = 0;
	size_t k;

	if (!strncmp(type, "System.", 7)) {
		system = 1;
		type += 7;
	} else if (!strncmp(type, "FHIR.", 5)) {
		fhir = 1;
		type += 5;
	}
	if (it->ftype) {
		if (system)
			return 0;
		if (!strcmp(it->ftype, type))
			return 1;
		if (it->kind == CG_FP_OBJECT && is_resource_type(c, it->ftype))
			return !strcmp(type, "Resource") ||
			       (!strcmp(type, "DomainResource") && strcmp(it->ftype, "Bundle") &&
			        strcmp(it->ftype, "Parameters") && strcmp(it->ftype, "Binary"));
		if (!strcmp(type, "Quantity") &&
		    (!strcmp(it->ftype, "Age") || !strcmp(it->ftype, "Duration") ||
		     !strcmp(it->ftype, "Distance") || !strcmp(it->ftype, "Count") ||
		     !strcmp(it->ftype, "SimpleQuantity") || !strcmp(it->ftype, "MoneyQuantity")))
			return 1;
		return 0;
	}
	if (fhir)
		return 0;
	for (k = 0; k < sizeof(sys) / sizeof(sys[0]); k++)
		if (!strcmp(type, sys[k][0])) {
			static const enum cg_fp_kind kinds[] = {
			        CG_FP_BOOLEAN, CG_FP_INTEGER,  CG_FP_DECIMAL, CG_FP_STRING,
			        CG_FP_DATE,    CG_FP_DATETIME, CG_FP_TIME,    CG_FP_QUANTITY};

			return it->kind == kinds[k];
		}
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

int
fp_to_bool(struct fp_ctx *c, const struct cg_fp_coll *v)
{
	if (v->n == 0)
		return -1;
	if (v->n > 1) {
		fp_fail(c, "a single boolean expected, found %zu items", v->n);
		return -2;
	}
	if (v->items[0].kind == CG_FP_BOOLEAN)
		return v->items[0].u.b;
	return 1; /* a single item of another type counts as true */
}

static enum cg_err
push_bool(struct fp_ctx *c, int b, struct cg_fp_coll *out)
{
	struct cg_fp_item it;

	fp_bool(&it, b);
	return fp_single(c->env->arena, &it, out);
}

enum cg_err
fp_eval_on(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_item *item,
           long long index, struct cg_fp_coll *out)
{
	const struct cg_fp_item *saved = c->this_item;
	long long saved_index = c->index;
	struct cg_fp_item copy = *item;
	struct cg_fp_coll focus = {&copy, 1};
	enum cg_err r;

	c->this_item = item;
	c->index = index;
	r = fp_eval_node(c, n, &focus, out);
	c->this_item = saved;
	c->index = saved_index;
	return r;
}

/* ---- operators ---------------------------------------------------------- */

static enum cg_err
logic(struct fp_ctx *c, enum fp_binop op, const struct cg_fp_coll *l, const struct cg_fp_coll *r,
      struct cg_fp_coll *out)
{
	int a = fp_to_bool(c, l), b = fp_to_bool(c, r), v;

	if (a == -2 || b == -2)
		return CG_EINVAL;
	switch (op) {
	case OP_AND:
		v = (a == 0 || b == 0) ? 0 : (a == 1 && b == 1) ? 1 : -1;
		break;
	case OP_OR:
		v = (a == 1 || b == 1) ? 1 : (a == 0 && b == 0) ? 0 : -1;
		break;
	case OP_XOR:
		v = (a < 0 || b < 0) ? -1 : a != b;
		break;
	default: /* implies */
		v = a == 0 ? 1 : a == 1 ? b : (b == 1 ? 1 : -1);
		break;
	}
	if (v < 0) {
		out->n = 0;
		return CG_OK;
	}
	return push_bool(c, v, out);
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
		return push_bool(c, op == OP_EQ ? eq : !eq, out);
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
	return push_bool(c, op == OP_EQUIV ? eq : !eq, out);
}

static enum cg_err
single(struct fp_ctx *c, const struct cg_fp_coll *v, const char *what)
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

	if ((e = single(c, l, "comparison")) || (e = single(c, r, "comparison")))
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
		return push_bool(c, v < 0, out);
	case OP_GT:
		return push_bool(c, v > 0, out);
	case OP_LE:
		return push_bool(c, v <= 0, out);
	default:
		return push_bool(c, v >= 0, out);
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

		if ((e = single(c, l, "&")) || (e = single(c, r, "&")))
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
	if ((e = single(c, l, "arithmetic")) || (e = single(c, r, "arithmetic")))
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
	if (a.kind == CG_FP_QUANTITY && (b.kind == CG_FP_QUANTITY || is_number(&b))) {
		double y = b.kind == CG_FP_QUANTITY ? b.u.d.v : numval(&b);

		res = a;
		if ((op == OP_ADD || op == OP_SUB) && b.kind == CG_FP_QUANTITY &&
		    !strcmp(a.u.d.unit, b.u.d.unit))
			res.u.d.v = op == OP_ADD ? a.u.d.v + y : a.u.d.v - y;
		else if (op == OP_MUL && is_number(&b))
			res.u.d.v = a.u.d.v * y;
		else if (op == OP_DIV && is_number(&b) && y != 0)
			res.u.d.v = a.u.d.v / y;
		else if (op == OP_DIV && b.kind == CG_FP_QUANTITY &&
		         !strcmp(a.u.d.unit, b.u.d.unit) && y != 0) {
			fp_dec(&res, a.u.d.v / y, -1);
			return fp_single(c->env->arena, &res, out);
		} else
			return fp_fail(c,
			               "quantity arithmetic with these units is not supported yet");
		return fp_single(c->env->arena, &res, out);
	}
	return fp_fail(c, "cannot apply an arithmetic operator to %s and %s", cg_fp_type_name(&a),
	               cg_fp_type_name(&b));
}

static enum cg_err
binary(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_coll *focus,
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
			return push_bool(c, n->op != OP_AND, out);
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

		if ((e = single(c, elem, n->op == OP_IN ? "in" : "contains")))
			return e;
		if (!elem->n) {
			out->n = 0;
			return CG_OK;
		}
		return push_bool(c, contains_item(set, &elem->items[0]), out);
	}
	default:
		return arith(c, n->op, &l, &r, out);
	}
}

/* ---- nodes -------------------------------------------------------------- */

/* %context as an item: a resource by its resourceType, or an object typed
 * by env->context_type (a backbone element's path makes a BackboneElement). */
static void
context_item(struct fp_ctx *c, struct cg_fp_item *it)
{
	const char *ct = c->env->context_type;

	fp_resource_item(c, c->env->context ? c->env->context : c->env->resource, it);
	if (it->ftype || !ct || !c->env->structure)
		return;
	it->ftype = strchr(ct, '.') ? "BackboneElement" : ct;
	it->ctx = cg_fhir_context(c->env->structure, ct);
}

static enum cg_err
variable(struct fp_ctx *c, const struct fp_node *n, struct cg_fp_coll *out)
{
	static const char *const known[][2] = {
	        {"ucum", "http://unitsofmeasure.org"},
	        {"sct", "http://snomed.info/sct"},
	        {"loinc", "http://loinc.org"},
	};
	struct cg_fp_item it;
	size_t k;

	if (!strcmp(n->name, "resource")) {
		fp_resource_item(c, c->env->resource, &it);
		return fp_single(c->env->arena, &it, out);
	}
	if (!strcmp(n->name, "rootResource")) {
		fp_resource_item(
		        c, c->env->root_resource ? c->env->root_resource : c->env->resource, &it);
		return fp_single(c->env->arena, &it, out);
	}
	if (!strcmp(n->name, "context")) {
		if (c->env->context && c->env->context != c->env->resource) {
			make_item(c, c->env->context, NULL, NULL, NULL, &it);
			if (cJSON_IsObject(c->env->context))
				context_item(c, &it);
		} else {
			fp_resource_item(c, c->env->resource, &it);
		}
		return fp_single(c->env->arena, &it, out);
	}
	for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (!strcmp(n->name, known[k][0])) {
			fp_str(&it, known[k][1]);
			return fp_single(c->env->arena, &it, out);
		}
	if (!strncmp(n->name, "vs-", 3) || !strncmp(n->name, "ext-", 4)) {
		const char *base = n->name[0] == 'v' ? "http://hl7.org/fhir/ValueSet/"
		                                     : "http://hl7.org/fhir/StructureDefinition/";
		size_t lb = strlen(base), ln = strlen(strchr(n->name, '-') + 1);
		char *s = cg_arena_alloc(c->env->arena, lb + ln + 1);

		if (!s)
			return CG_ENOMEM;
		memcpy(s, base, lb);
		memcpy(s + lb, strchr(n->name, '-') + 1, ln + 1);
		fp_str(&it, s);
		return fp_single(c->env->arena, &it, out);
	}
	return fp_fail(c, "unknown variable %%%s", n->name);
}

static enum cg_err
member(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_coll *focus,
       struct cg_fp_coll *out)
{
	struct cg_fp_coll base;
	struct fp_vec v = {0};
	enum cg_err e;
	size_t k;

	if (n->left) {
		if ((e = fp_eval_node(c, n->left, focus, &base)))
			return e;
	} else {
		base = *focus;
	}
	for (k = 0; k < base.n; k++) {
		const struct cg_fp_item *it = &base.items[k];

		/* A path may start with the type of its context: Patient.name */
		if (!n->left && isupper((unsigned char)n->name[0]) && it->kind == CG_FP_OBJECT &&
		    it->ftype && !strcmp(it->ftype, n->name) &&
		    cJSON_GetObjectItemCaseSensitive(it->node, "resourceType")) {
			if ((e = fp_vec_push(c->env->arena, &v, it)))
				return e;
			continue;
		}
		if ((e = fp_children_named(c, it, n->name, &v)))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

static enum cg_err
call(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_coll *focus,
     struct cg_fp_coll *out)
{
	struct fp_call fc;
	struct cg_fp_coll base;
	enum cg_err e;
	int k;

	if (n->left) {
		if ((e = fp_eval_node(c, n->left, focus, &base)))
			return e;
	} else {
		base = *focus;
	}
	memset(&fc, 0, sizeof(fc));
	fc.node = n;
	fc.outer = focus;
	if (!n->fn->lazy)
		for (k = 0; k < n->nargs; k++)
			if ((e = fp_eval_node(c, n->args[k], focus, &fc.args[k])))
				return e;
	out->n = 0;
	out->items = NULL;
	return n->fn->run(c, &fc, &base, out);
}

enum cg_err
fp_eval_node(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_coll *focus,
             struct cg_fp_coll *out)
{
	struct cg_fp_coll l, idx;
	struct cg_fp_item it;
	enum cg_err e = CG_OK;

	if (++c->depth > MAX_EVAL_DEPTH) {
		c->depth--;
		fp_fail(c, "evaluation nested too deeply");
		return CG_ELIMIT;
	}
	out->n = 0;
	out->items = NULL;
	switch (n->kind) {
	case N_LITERAL:
		e = fp_single(c->env->arena, &n->lit, out);
		break;
	case N_EMPTY:
		break;
	case N_THIS:
		if (c->this_item)
			e = fp_single(c->env->arena, c->this_item, out);
		else
			*out = *focus;
		break;
	case N_INDEX:
		fp_int(&it, c->index);
		e = fp_single(c->env->arena, &it, out);
		break;
	case N_TOTAL:
		if (c->total)
			*out = *c->total;
		break;
	case N_VAR:
		e = variable(c, n, out);
		break;
	case N_MEMBER:
		e = member(c, n, focus, out);
		break;
	case N_CALL:
		e = call(c, n, focus, out);
		break;
	case N_INDEXER:
		if ((e = fp_eval_node(c, n->left, focus, &l)) ||
		    (e = fp_eval_node(c, n->right, focus, &idx)))
			break;
		if (idx.n != 1 || idx.items[0].kind != CG_FP_INTEGER) {
			e = idx.n ? fp_fail(c, "an index must be one integer") : CG_OK;
			break;
		}
		if (idx.items[0].u.i >= 0 && (size_t)idx.items[0].u.i < l.n)
			e = fp_single(c->env->arena, &l.items[idx.items[0].u.i], out);
		break;
	case N_NEG:
		if ((e = fp_eval_node(c, n->left, focus, &l)) || (e = single(c, &l, "-")) || !l.n)
			break;
		fp_system_value(&l.items[0], &it);
		it.node = NULL;
		it.ftype = NULL;
		if (it.kind == CG_FP_INTEGER)
			it.u.i = -it.u.i;
		else if (it.kind == CG_FP_DECIMAL || it.kind == CG_FP_QUANTITY)
			it.u.d.v = -it.u.d.v;
		else {
			e = fp_fail(c, "unary minus needs a number");
			break;
		}
		e = fp_single(c->env->arena, &it, out);
		break;
	case N_BINARY:
		e = binary(c, n, focus, out);
		break;
	case N_IS:
	case N_AS:
		if ((e = fp_eval_node(c, n->left, focus, &l)) || (e = single(c, &l, n->name)) ||
		    !l.n)
			break;
		if (n->kind == N_IS)
			e = push_bool(c, fp_is_type(c, &l.items[0], n->name), out);
		else if (fp_is_type(c, &l.items[0], n->name))
			*out = l;
		break;
	}
	c->depth--;
	return e;
}

enum cg_err
cg_fp_eval(const struct cg_fp_program *p, struct cg_fp_env *env, struct cg_fp_coll *out)
{
	struct fp_ctx c;
	struct cg_fp_item root;
	struct cg_fp_coll focus;
	enum cg_err e;

	memset(&c, 0, sizeof(c));
	c.env = env;
	env->error[0] = '\0';
	out->items = NULL;
	out->n = 0;
	if (!env->resource)
		return CG_EINVAL;
	context_item(&c, &root);
	if ((e = fp_single(env->arena, &root, &focus)))
		return e;
	c.root = &focus;
	e = fp_eval_node(&c, p->root, &focus, out);
	if (e == CG_ENOMEM)
		snprintf(env->error, sizeof(env->error), "out of memory");
	else if (e == CG_ELIMIT && !env->error[0])
		snprintf(env->error, sizeof(env->error), "the result grew past %zu MB",
		         CG_FP_MAX_EVAL_BYTES >> 20);
	return e;
}
