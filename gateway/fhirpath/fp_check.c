/*
 * fp_check.c: the semantic check of a compiled program against the R4
 * model, before any evaluation: the static type of each step is followed
 * from the input's type through the element definitions of the R4 tables,
 * and a step naming an element that type does not have is an error (the R4
 * suite's invalid="semantic"), as is an order-dependent function on the
 * unordered result of children() or descendants().
 *
 * The check is conservative: a step whose type is not known statically (a
 * primitive, an element of type Resource, an abstract type, the result of
 * resolve(), a union, most functions) is not checked, and neither is
 * anything reached from it. So an expression that passes may still find
 * nothing, but one that fails names something no input of that type has.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fhir_structure.h"
#include "fp_internal.h"

/* The static type of a collection: one FHIR type (t), the types of an
 * element (el: a choice such as value[x], or a backbone element), or a
 * backbone element's context (ctx, for an input given by its path). None of
 * them: not known, and nothing below it is checked. */
struct st {
	const struct cg_fhir_type *t;
	const struct cg_fhir_element *el;
	const struct cg_fhir_context *ctx;
	int unordered; /* the result of children() or descendants() */
};

struct chk {
	const struct cg_fhir_structure *s;
	struct st root;       /* %context */
	int root_is_resource; /* %resource is the root too */
	struct cg_fp_syntax *err;
};

static int
known(const struct st *x)
{
	return x->t || x->el || x->ctx;
}

static enum cg_err fail(struct chk *k, const struct fp_node *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static enum cg_err
fail(struct chk *k, const struct fp_node *n, const char *fmt, ...)
{
	va_list ap;

	k->err->column = n->column;
	va_start(ap, fmt);
	vsnprintf(k->err->message, sizeof(k->err->message), fmt, ap);
	va_end(ap);
	return CG_EINVAL;
}

/* The static type of a value of FHIR type t: not known for a primitive
 * (its children are its extensions), an abstract type (Element, Resource:
 * the value is of some type derived from it) or a type without elements. */
static void
of_type(const struct cg_fhir_type *t, struct st *out)
{
	memset(out, 0, sizeof(*out));
	if (t && t->kind != CG_FHIR_PRIMITIVE && !t->abstract && !t->any_resource && t->ctx)
		out->t = t;
}

/* The static type of the values of element el, as fp_node_item() types
 * them: a backbone element (or a contentReference) by its own context, a
 * single type by that type, a choice by the element. */
static void
of_element(const struct cg_fhir_element *el, struct st *out)
{
	memset(out, 0, sizeof(*out));
	if (el->ref || (el->ntypes == 1 && el->tptr[0] && el->tptr[0]->inline_ctx)) {
		if (el->ctx)
			out->ctx = el->ctx;
	} else if (el->ntypes == 1) {
		of_type(el->tptr[0], out);
	} else if (el->ntypes > 1) {
		out->el = el;
	}
}

/* A name for the type in messages. */
static const char *
type_name(const struct st *x)
{
	if (x->t)
		return x->t->name;
	if (x->ctx)
		return x->ctx->path;
	return x->el->path;
}

/* The child element of ctx named name (value for value[x]), or NULL. */
static const struct cg_fhir_element *
child(const struct cg_fhir_context *ctx, const char *name)
{
	size_t len = strlen(name), k;

	for (k = 0; k < ctx->nkids; k++)
		if (ctx->kids[k]->name_len == len && !memcmp(ctx->kids[k]->name, name, len))
			return ctx->kids[k];
	return NULL;
}

/* Whether the name is a choice element of ctx written with its type, as
 * JSON names it (valueQuantity for value[x]): that element, or NULL. */
static const struct cg_fhir_element *
json_choice(const struct cg_fhir_context *ctx, const char *name)
{
	size_t k;

	for (k = 0; k < ctx->nkids; k++) {
		const struct cg_fhir_element *el = ctx->kids[k];

		if (el->choice && !strncmp(name, el->name, el->name_len) &&
		    isupper((unsigned char)name[el->name_len]))
			return el;
	}
	return NULL;
}

/* Whether FHIR type t is named name or derives from it (Patient from
 * DomainResource and Resource). */
static int
derives(const struct chk *k, const struct cg_fhir_type *t, const char *name)
{
	int depth;

	for (depth = 0; t && depth < 16; depth++) {
		if (!strcmp(t->name, name))
			return 1;
		t = t->base ? cg_fhir_type(k->s, t->base) : NULL;
	}
	return 0;
}

/* Member name of a collection of static type base (n its node): the static
 * type of the result, or an error when every type base may have is known
 * and none has an element of that name. */
static enum cg_err
member(struct chk *k, const struct fp_node *n, const struct st *base, int first, struct st *out)
{
	const struct cg_fhir_context *cands[64];
	const struct cg_fhir_element *found = NULL, *choice = NULL;
	size_t nc = 0, j;
	int unsure = 0, many = 0;

	memset(out, 0, sizeof(*out));
	out->unordered = base->unordered;
	if (!known(base))
		return CG_OK;
	/* a path may start with the type of its input: Patient.name */
	if (first && base->t && isupper((unsigned char)n->name[0]) &&
	    derives(k, base->t, n->name)) {
		*out = *base;
		return CG_OK;
	}
	if (base->ctx) {
		cands[nc++] = base->ctx;
	} else if (base->t) {
		cands[nc++] = base->t->ctx;
	} else {
		for (j = 0; j < base->el->ntypes; j++) {
			struct st one;

			of_type(base->el->tptr[j], &one);
			if (!one.t || nc == sizeof(cands) / sizeof(cands[0]))
				unsure = 1;
			else
				cands[nc++] = one.t->ctx;
		}
	}
	for (j = 0; j < nc; j++) {
		const struct cg_fhir_element *el = child(cands[j], n->name);

		if (el && found && el != found)
			many = 1;
		if (el)
			found = el;
		else if (!choice)
			choice = json_choice(cands[j], n->name);
	}
	if (!found) {
		if (unsure)
			return CG_OK;
		if (choice)
			return fail(k, n,
			            "%s is no element of %s: the choice element %.*s[x] is "
			            "named %.*s (its type: ofType())",
			            n->name, type_name(base), (int)choice->name_len, choice->name,
			            (int)choice->name_len, choice->name);
		return fail(k, n, "%s is no element of %s", n->name, type_name(base));
	}
	if (!many) {
		of_element(found, out);
		out->unordered = base->unordered;
	}
	return CG_OK;
}

/* The type name an argument of ofType() or as() is written as (Patient,
 * FHIR.Patient), or NULL. */
static const char *
type_arg(const struct fp_node *n)
{
	if (n->kind != N_MEMBER)
		return NULL;
	if (!n->left)
		return n->name;
	if (n->left->kind == N_MEMBER && !n->left->left && !strcmp(n->left->name, "FHIR"))
		return n->name;
	return NULL;
}

/* The static type a type name (of is, as, ofType) stands for. */
static void
named_type(const struct chk *k, const char *name, struct st *out)
{
	memset(out, 0, sizeof(*out));
	if (!name || !strncmp(name, "System.", 7))
		return;
	if (!strncmp(name, "FHIR.", 5))
		name += 5;
	of_type(cg_fhir_type(k->s, name), out);
}

static enum cg_err check(struct chk *k, const struct fp_node *n, const struct st *focus,
                         const struct st *this_st, struct st *out);

/* The static type of n->fn on a collection of type base: its arguments
 * checked on what they are evaluated on (criteria: each item; others: the
 * expression's focus), and order-dependent functions refused on an
 * unordered collection. */
static enum cg_err
call(struct chk *k, const struct fp_node *n, const struct st *base, const struct st *focus,
     const struct st *this_st, struct st *out)
{
	static const char *const keeps[] = {"where",  "distinct", "trace", "intersect", "exclude",
	                                    "first",  "last",     "tail",  "skip",      "take",
	                                    "single", "sort",     NULL};
	static const char *const ordered[] = {"first", "last", "tail", "skip", "take", NULL};
	const char *fn = n->fn->name;
	struct st item = *base, arg;
	enum cg_err e;
	int j;

	memset(out, 0, sizeof(*out));
	item.unordered = 0;
	for (j = 0; ordered[j]; j++)
		if (!strcmp(fn, ordered[j]) && base->unordered)
			return fail(k, n, "%s() on the unordered result of %s", fn,
			            "children() or descendants()");
	if (!strcmp(fn, "ofType") || !strcmp(fn, "as") || !strcmp(fn, "is")) {
		/* the argument is a type name, not a path */
		if (strcmp(fn, "is")) {
			named_type(k, type_arg(n->args[0]), out);
			out->unordered = base->unordered;
		}
		return CG_OK;
	}
	for (j = 0; j < n->nargs; j++) {
		if (!strcmp(fn, "iif"))
			e = check(k, n->args[j], base, this_st, &arg);
		else if (n->fn->lazy || (!strcmp(fn, "trace") && j == 1))
			/* criteria, and trace()'s projection: on each item */
			e = check(k, n->args[j], &item, &item, &arg);
		else
			e = check(k, n->args[j], focus, this_st, &arg);
		if (e)
			return e;
		if (!strcmp(fn, "select") && j == 0) {
			*out = arg;
			out->unordered |= base->unordered;
		}
	}
	for (j = 0; keeps[j]; j++)
		if (!strcmp(fn, keeps[j])) {
			*out = *base;
			out->unordered =
			        base->unordered && strcmp(fn, "sort") && strcmp(fn, "single");
		}
	if (!strcmp(fn, "extension")) {
		of_type(cg_fhir_type(k->s, "Extension"), out);
		out->unordered = base->unordered;
	} else if (!strcmp(fn, "children") || !strcmp(fn, "descendants")) {
		out->unordered = 1;
	} else if (!strcmp(fn, "repeat")) {
		out->unordered = base->unordered;
	}
	return CG_OK;
}

static enum cg_err
check(struct chk *k, const struct fp_node *n, const struct st *focus, const struct st *this_st,
      struct st *out)
{
	struct st l, r;
	enum cg_err e;

	memset(out, 0, sizeof(*out));
	switch (n->kind) {
	case N_THIS:
		*out = this_st ? *this_st : *focus;
		return CG_OK;
	case N_VAR:
		/* %rootResource may be a container of another type */
		if (!strcmp(n->name, "context") ||
		    (k->root_is_resource && !strcmp(n->name, "resource")))
			*out = k->root;
		return CG_OK;
	case N_MEMBER:
		if (n->left && (e = check(k, n->left, focus, this_st, &l)))
			return e;
		return member(k, n, n->left ? &l : focus, !n->left, out);
	case N_CALL:
		if (n->left && (e = check(k, n->left, focus, this_st, &l)))
			return e;
		return call(k, n, n->left ? &l : focus, focus, this_st, out);
	case N_INDEXER:
		if ((e = check(k, n->left, focus, this_st, &l)) ||
		    (e = check(k, n->right, focus, this_st, &r)))
			return e;
		if (l.unordered)
			return fail(k, n, "an index on the unordered result of %s",
			            "children() or descendants()");
		*out = l;
		return CG_OK;
	case N_NEG:
	case N_IS:
		return check(k, n->left, focus, this_st, &l);
	case N_AS:
		if ((e = check(k, n->left, focus, this_st, &l)))
			return e;
		named_type(k, n->name, out);
		out->unordered = l.unordered;
		return CG_OK;
	case N_BINARY:
		if ((e = check(k, n->left, focus, this_st, &l)) ||
		    (e = check(k, n->right, focus, this_st, &r)))
			return e;
		return CG_OK;
	case N_LITERAL:
	case N_EMPTY:
	case N_INDEX:
	case N_TOTAL:
		return CG_OK;
	}
	return CG_OK;
}

enum cg_err
cg_fp_check(const struct cg_fp_program *p, const struct cg_fhir_structure *s, const char *root_type,
            struct cg_fp_syntax *err)
{
	struct chk k;
	struct st out;

	memset(&k, 0, sizeof(k));
	memset(err, 0, sizeof(*err));
	k.s = s;
	k.err = err;
	if (!s || !root_type)
		return CG_OK;
	if (strchr(root_type, '.')) {
		k.root.ctx = cg_fhir_context(s, root_type);
	} else {
		of_type(cg_fhir_type(s, root_type), &k.root);
		k.root_is_resource = k.root.t && k.root.t->kind == CG_FHIR_RESOURCE;
	}
	return check(&k, p->root, &k.root, NULL, &out);
}
