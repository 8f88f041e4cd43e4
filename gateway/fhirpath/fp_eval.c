/*
 * fp_eval.c: evaluation of a compiled FHIRPath program over a cJSON tree:
 * the nodes of the AST (literals, $this, variables, members, calls,
 * indexers, unary minus, is and as); navigation is fp_nav.c's, the
 * operators fp_ops.c's, the functions fp_fn_*.c's. Every collection lives
 * in the environment's arena.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fhir_structure.h"
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

/* ---- nodes -------------------------------------------------------------- */

/* %context as an item: a resource by its resourceType, or an object typed
 * by env->context_type (a backbone element's path makes a BackboneElement). */
void
fp_context_item(struct fp_ctx *c, struct cg_fp_item *it)
{
	const char *ct = c->env->context_type;

	if (ct && c->env->context_ctx && c->env->context && c->env->structure) {
		/* a typed element that the caller's walk knows is no resource:
		 * what follows would find no resourceType in it */
		memset(it, 0, sizeof(*it));
		it->kind = CG_FP_OBJECT;
		it->node = c->env->context;
		it->ftype = strchr(ct, '.') ? "BackboneElement" : ct;
		it->ctx = c->env->context_ctx;
		return;
	}
	fp_resource_item(c, c->env->context ? c->env->context : c->env->resource, it);
	if (it->ftype || !ct || !c->env->structure)
		return;
	it->ftype = strchr(ct, '.') ? "BackboneElement" : ct;
	it->ctx =
	        c->env->context_ctx ? c->env->context_ctx : cg_fhir_context(c->env->structure, ct);
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
			fp_node_item(c, c->env->context, NULL, NULL, NULL, &it);
			if (cJSON_IsObject(c->env->context))
				fp_context_item(c, &it);
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

/* `as` on more than one item with env->as_filters (fhirpath.h): the items
 * of the type, as ofType() keeps them. */
static enum cg_err
as_filter(struct fp_ctx *c, const struct cg_fp_coll *l, const char *type, struct cg_fp_coll *out)
{
	struct fp_vec v = {0};
	enum cg_err e;
	size_t k;

	for (k = 0; k < l->n; k++) {
		int is = fp_is_type(c, &l->items[k], type, 0);

		if (is < 0)
			return fp_fail(c, "unknown type %s", type);
		if (is && (e = fp_vec_push(c->env->arena, &v, &l->items[k])))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

enum cg_err
fp_eval_node(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_coll *focus,
             struct cg_fp_coll *out)
{
	struct cg_fp_coll l, idx;
	struct cg_fp_item it;
	enum cg_err e = CG_OK;
	int is;

	if (++c->depth > MAX_EVAL_DEPTH) {
		c->depth--;
		fp_fail(c, "evaluation nested too deeply");
		return CG_ELIMIT;
	}
	out->n = 0;
	out->items = NULL;
	switch (n->kind) {
	case N_LITERAL:
		if (n->lit.kind == CG_FP_TIME && n->lit.u.dt.has_tz) {
			e = fp_fail(c, "a time has no time zone");
			break;
		}
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
		if ((e = fp_eval_node(c, n->left, focus, &l)) || (e = fp_at_most_one(c, &l, "-")) ||
		    !l.n)
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
		e = fp_binary(c, n, focus, out);
		break;
	case N_IS:
	case N_AS:
		if ((e = fp_eval_node(c, n->left, focus, &l)))
			break;
		if (n->kind == N_AS && l.n > 1 && c->env->as_filters) {
			e = as_filter(c, &l, n->name, out);
			break;
		}
		if ((e = fp_at_most_one(c, &l, n->name)) || !l.n)
			break;
		is = fp_is_type(c, &l.items[0], n->name, n->kind == N_IS);
		if (is < 0)
			e = fp_fail(c, "unknown type %s", n->name);
		else if (n->kind == N_IS)
			e = fp_ret_bool(c, is, out);
		else if (is)
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
	fp_context_item(&c, &root);
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
