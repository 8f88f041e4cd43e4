/*
 * fp_quick.c: deciding an expression from which of a few members %context
 * has, without evaluating it (see cg_fp_quick_new in fhirpath.h).
 *
 * Most invariants are tests of presence: "extension.exists() !=
 * value.exists()", "dataAbsentReason.empty() or value.empty()",
 * "contained.contained.empty()". Their value is a function of whether a
 * few members of %context are there, which the analysis below works out
 * from the AST once per presence pattern of those members (the "heads":
 * the names a path from the focus starts with). Evaluating then costs a
 * look at %context's members and a table lookup.
 *
 * The analysis is exact or gives up: a pattern is decided only when every
 * step the evaluator would take on the way is known not to fail and its
 * result is known, following the evaluator's order (the left operand of
 * and/or/implies first, which decides alone when it can; a function's base,
 * then its arguments when they are eager). Anything it does not model
 * (comparisons, arithmetic, most functions, criteria on a non-empty
 * collection) makes the pattern undecided, and the caller evaluates.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fhir_structure.h"
#include "fp_internal.h"
#include "json_member.h"
#include "json_type.h"

#define MAX_HEADS 6

/* A string test on a head, "reference.startsWith('#')": its value is one
 * more bit of the pattern, read from the head's one string at run time. */
struct test {
	const struct fp_node *call;
	int head;        /* the head it tests */
	char op;         /* 's' startsWith, 'e' endsWith, 'c' contains */
	const char *lit; /* the argument, a string literal */
};

struct cg_fp_quick {
	const char *heads[MAX_HEADS];
	size_t len[MAX_HEADS];
	int nheads;
	struct test tests[MAX_HEADS];
	int ntests;                        /* bits nheads .. nheads + ntests - 1 */
	signed char table[1 << MAX_HEADS]; /* by presence bits: -1, or 0 1 2 */
};

/* What the analysis knows of a value: the outcomes it may have (a single
 * true, a single false, empty, or any other collection), and whether
 * computing it may fail. */
enum { O_T = 1, O_F = 2, O_E = 4, O_OTHER = 8 };

struct abs {
	int can;  /* O_ bits: the outcomes still possible */
	int safe; /* no error is possible on the way */
};

static const struct abs unsafe = {O_T | O_F | O_E | O_OTHER, 0};

static int
fn_is(const struct fp_node *n, const char *name)
{
	return n->kind == N_CALL && n->fn && !strcmp(n->fn->name, name);
}

/* A head: a member name on the focus that the presence test can decide
 * (not "Patient." naming the context's type, not resourceType). */
static int
is_head(const struct fp_node *n)
{
	return n->kind == N_MEMBER && !n->left && n->name && !isupper((unsigned char)n->name[0]) &&
	       strcmp(n->name, "resourceType") != 0;
}

static int
head_index(const struct cg_fp_quick *q, const char *name)
{
	int k;

	for (k = 0; k < q->nheads; k++)
		if (!strcmp(q->heads[k], name))
			return k;
	return -1;
}

/* startsWith, endsWith or contains of a string literal, on a head. */
static char
string_test(const struct fp_node *n)
{
	char op = fn_is(n, "startsWith") ? 's'
	          : fn_is(n, "endsWith") ? 'e'
	          : fn_is(n, "contains") ? 'c'
	                                 : 0;

	if (!op || n->nargs != 1 || !n->left || !is_head(n->left) ||
	    n->args[0]->kind != N_LITERAL || n->args[0]->lit.kind != CG_FP_STRING ||
	    !n->args[0]->lit.u.s)
		return 0;
	return op;
}

static void
collect_heads(const struct fp_node *n, struct cg_fp_quick *q, int *overflow)
{
	int k;

	if (!n)
		return;
	if (is_head(n)) {
		if (head_index(q, n->name) >= 0)
			return;
		if (q->nheads + q->ntests == MAX_HEADS) {
			*overflow = 1;
			return;
		}
		q->heads[q->nheads] = n->name;
		q->len[q->nheads++] = strlen(n->name);
		return;
	}
	if (string_test(n)) {
		collect_heads(n->left, q, overflow);
		if (*overflow || q->nheads + q->ntests == MAX_HEADS) {
			*overflow = 1;
			return;
		}
		q->tests[q->ntests].call = n;
		q->tests[q->ntests].head = head_index(q, n->left->name);
		q->tests[q->ntests].op = string_test(n);
		q->tests[q->ntests++].lit = n->args[0]->lit.u.s;
		return;
	}
	collect_heads(n->left, q, overflow);
	collect_heads(n->right, q, overflow);
	/* arguments of lazy functions run on other foci: not heads */
	if (n->kind == N_CALL && n->fn && !n->fn->lazy)
		for (k = 0; k < n->nargs; k++)
			collect_heads(n->args[k], q, overflow);
}

static struct abs
known(int can)
{
	struct abs a = {can, 1};

	return a;
}

/* The outcomes of logic() over every pair of possible operand outcomes
 * (each a boolean, or empty). */
static int
logic_outcomes(enum fp_binop op, int l, int r)
{
	static const int vals[3] = {O_T, O_F, O_E};
	int out = 0, i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++) {
			int a, b, v;

			if (!(l & vals[i]) || !(r & vals[j]))
				continue;
			a = i == 0 ? 1 : i == 1 ? 0 : -1;
			b = j == 0 ? 1 : j == 1 ? 0 : -1;
			v = fp_logic3(op, a, b);
			out |= v == 1 ? O_T : v == 0 ? O_F : O_E;
		}
	return out;
}

static struct abs analyse(const struct fp_node *n, const struct cg_fp_quick *q, unsigned bits);

static struct abs
analyse_call(const struct fp_node *n, const struct cg_fp_quick *q, unsigned bits)
{
	struct abs base;
	int k;

	/* a string test: empty on an absent head, else its bit (the run
	 * time makes sure the head is one string, or decides nothing) */
	for (k = 0; k < q->ntests; k++)
		if (q->tests[k].call == n) {
			if (!(bits & (1u << q->tests[k].head)))
				return known(O_E);
			return known(bits & (1u << (q->nheads + k)) ? O_T : O_F);
		}
	base = n->left ? analyse(n->left, q, bits) : known(O_OTHER);

	if (!base.safe)
		return unsafe;
	if (n->fn->lazy && !(fn_is(n, "exists") && !n->nargs)) {
		/* the criteria run per item: on an empty collection, never */
		if (base.can != O_E)
			return unsafe;
		if (fn_is(n, "where") || fn_is(n, "select"))
			return known(O_E);
		if (fn_is(n, "exists"))
			return known(O_F);
		if (fn_is(n, "all"))
			return known(O_T);
		return unsafe;
	}
	/* eager arguments are evaluated on the focus before the function */
	for (k = 0; k < n->nargs; k++)
		if (!analyse(n->args[k], q, bits).safe)
			return unsafe;
	if (fn_is(n, "exists") || fn_is(n, "empty")) {
		int can = 0, yes = fn_is(n, "exists") ? O_T : O_F, no = yes == O_T ? O_F : O_T;

		if (base.can & O_E)
			can |= no;
		if (base.can & ~O_E)
			can |= yes;
		return known(can);
	}
	if (fn_is(n, "not")) {
		/* more than one item would fail; a single non-boolean is true */
		if (base.can & O_OTHER)
			return unsafe;
		return known((base.can & O_E) | (base.can & O_T ? O_F : 0) |
		             (base.can & O_F ? O_T : 0));
	}
	if (fn_is(n, "trace"))
		return base;
	/* functions of one string: empty on empty, before their arguments
	 * are looked at (one_string() first) */
	if ((fn_is(n, "substring") || fn_is(n, "startsWith") || fn_is(n, "endsWith") ||
	     fn_is(n, "contains") || fn_is(n, "indexOf")) &&
	    base.can == O_E)
		return known(O_E);
	if (fn_is(n, "first") || fn_is(n, "last") || fn_is(n, "tail"))
		return base.can == O_E ? known(O_E) : known(O_T | O_F | O_E | O_OTHER);
	return unsafe;
}

/* What n gives on %context, given which heads are present (bit k: head k
 * gives a non-empty collection). */
/* n's operands analysed in the evaluator's order, left first: 1 when
 * neither can fail (*l, *r), 0 when one can (the right one is then not
 * looked at, as the evaluator would not reach it). */
static int
both_safe(const struct fp_node *n, const struct cg_fp_quick *q, unsigned bits, struct abs *l,
          struct abs *r)
{
	*l = analyse(n->left, q, bits);
	if (!l->safe)
		return 0;
	*r = analyse(n->right, q, bits);
	return r->safe;
}

static struct abs
analyse(const struct fp_node *n, const struct cg_fp_quick *q, unsigned bits)
{
	struct abs l, r;
	int k;

	switch (n->kind) {
	case N_MEMBER:
		if (is_head(n)) {
			for (k = 0; k < q->nheads; k++)
				if (!strcmp(q->heads[k], n->name))
					return known(bits & (1u << k) ? O_OTHER | O_T | O_F : O_E);
			return unsafe;
		}
		if (!n->left)
			return known(O_T | O_F | O_E | O_OTHER);
		l = analyse(n->left, q, bits);
		if (!l.safe)
			return unsafe;
		/* navigation never fails; from nothing it finds nothing */
		return known(l.can == O_E ? O_E : O_T | O_F | O_E | O_OTHER);
	case N_LITERAL:
		if (n->lit.kind == CG_FP_TIME && n->lit.u.dt.has_tz)
			return unsafe; /* fails when evaluated */
		if (n->lit.kind == CG_FP_BOOLEAN)
			return known(n->lit.u.b ? O_T : O_F);
		return known(O_OTHER);
	case N_EMPTY:
		return known(O_E);
	case N_VAR:
		/* the variables variable() knows: one item each; others fail */
		if (!strcmp(n->name, "resource") || !strcmp(n->name, "rootResource") ||
		    !strcmp(n->name, "context") || !strcmp(n->name, "ucum") ||
		    !strcmp(n->name, "sct") || !strcmp(n->name, "loinc") ||
		    !strncmp(n->name, "vs-", 3) || !strncmp(n->name, "ext-", 4))
			return known(O_OTHER);
		return unsafe;
	case N_CALL:
		return analyse_call(n, q, bits);
	case N_BINARY:
		break;
	default:
		return unsafe;
	}
	switch (n->op) {
	case OP_AND:
	case OP_OR:
	case OP_IMPLIES:
	case OP_XOR:
		l = analyse(n->left, q, bits);
		/* a collection that is not one boolean or empty may fail */
		if (!l.safe || (l.can & O_OTHER))
			return unsafe;
		if ((n->op == OP_AND && l.can == O_F) || (n->op == OP_OR && l.can == O_T))
			return known(l.can);
		if (n->op == OP_IMPLIES && l.can == O_F)
			return known(O_T);
		r = analyse(n->right, q, bits);
		if (!r.safe || (r.can & O_OTHER))
			return unsafe;
		return known(logic_outcomes(n->op, l.can, r.can));
	case OP_EQ:
	case OP_NE:
		if (!both_safe(n, q, bits, &l, &r))
			return unsafe;
		/* = never fails: empty on an empty side, else a boolean */
		if (l.can == O_E || r.can == O_E)
			return known(O_E);
		if ((l.can & ~(O_T | O_F)) || (r.can & ~(O_T | O_F)))
			return known(O_T | O_F | O_E);
		if ((l.can == O_T || l.can == O_F) && (r.can == O_T || r.can == O_F))
			return known((l.can == r.can) == (n->op == OP_EQ) ? O_T : O_F);
		return known(O_T | O_F);
	case OP_IN:
	case OP_CONTAINS:
		/* both sides are evaluated; an empty element gives empty */
		if (!both_safe(n, q, bits, &l, &r))
			return unsafe;
		if ((n->op == OP_IN ? l.can : r.can) == O_E)
			return known(O_E);
		return unsafe;
	default:
		return unsafe;
	}
}

struct cg_fp_quick *
cg_fp_quick_new(const struct cg_fp_program *p)
{
	struct cg_fp_quick *q;
	int overflow = 0, decided = 0;
	unsigned bits;

	if (!p || !p->root)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	collect_heads(p->root, q, &overflow);
	if (overflow || !q->nheads) {
		free(q);
		return NULL;
	}
	for (bits = 0; bits < (1u << (q->nheads + q->ntests)); bits++) {
		struct abs a = analyse(p->root, q, bits);

		q->table[bits] = -1;
		if (a.safe && a.can == O_T)
			q->table[bits] = 1;
		else if (a.safe && a.can == O_F)
			q->table[bits] = 0;
		else if (a.safe && a.can == O_E)
			q->table[bits] = 2;
		decided += q->table[bits] >= 0;
	}
	if (!decided) {
		free(q);
		return NULL;
	}
	return q;
}

void
cg_fp_quick_free(struct cg_fp_quick *q)
{
	free(q);
}

/* Whether navigating to name from the context item finds anything, as
 * fp_children_named() would: 1 or 0, or -1 when only it can tell. It finds
 * a member named name, one named name plus a type ("valueString", when the
 * context's definition has value[x]: ctx, when the caller knows it), and
 * the "_name" companion. */
static int
present(const cJSON *obj, const char *name, size_t len, const struct cg_fhir_context *ctx)
{
	const cJSON *m, *e;
	int maybe = 0;

	for (m = obj->child; m; m = m->next) {
		const char *k = m->string;

		if (!k)
			continue;
		if (k[0] == name[0] && !strcmp(k, name)) {
			if (cg_json_is_array(m)) {
				for (e = m->child; e; e = e->next)
					if (!cg_json_is_null(e))
						return 1;
			} else if (!cg_json_is_null(m)) {
				return 1;
			}
			maybe = 1;
			continue;
		}
		if (k[0] == '_') {
			/* the companion "_name"; "_valueString" goes with its
			 * value, seen above */
			if (!strcmp(k + 1, name))
				maybe = 1;
		} else if (k[0] == name[0] && !strncmp(k, name, len) &&
		           isupper((unsigned char)k[len])) {
			/* valueString: is value[x] the context's? Its definition
			 * says, when the caller knows it; a value there is enough,
			 * as for the navigation */
			const struct cg_fhir_type *t;

			if (!ctx) {
				maybe = 1;
			} else if (cg_fhir_choice(ctx, name, len, k, &t)) {
				if (!cg_json_is_null(m) && !cg_json_is_array(m))
					return 1;
				maybe = 1;
			}
		}
	}
	return maybe ? -1 : 0;
}

/* The one string a navigation to head from %context gives, read without the
 * engine where the definitions settle it: head is a plain element of the
 * context's (so no choice member can answer to it) whose type is a string
 * to FHIRPath (a primitive, not a date or a time), and its member is one
 * JSON string. NULL: fp_children_named says. Only for a typed element
 * (context_type set), whose context_ctx is its type's or path's. */
static const char *
plain_string(const struct cg_fp_env *env, const cJSON *obj, const char *head)
{
	const struct cg_fhir_element *el;
	const struct cg_fhir_type *t;
	const cJSON *m;
	size_t idx = 0;

	if (!env->context_ctx || !env->context_type || !env->structure || obj != env->context)
		return NULL;
	el = cg_fhir_child(env->context_ctx, head, &t, &idx);
	if (!el || el->choice || !t || t->kind != CG_FHIR_PRIMITIVE || !strcmp(t->name, "date") ||
	    !strcmp(t->name, "dateTime") || !strcmp(t->name, "instant") || !strcmp(t->name, "time"))
		return NULL;
	m = cg_json_member(obj, head);
	return cJSON_IsString(m) ? m->valuestring : NULL;
}

int
cg_fp_quick_eval(const struct cg_fp_quick *q, struct cg_fp_env *env)
{
	const cJSON *obj = env->context ? env->context : env->resource;
	struct cg_fp_item item;
	struct fp_ctx c;
	int k, have_item = 0;
	unsigned bits = 0;

	if (!q || !env->resource || !cg_json_is_object(obj))
		return -1;
	for (k = 0; k < q->nheads; k++) {
		int p = present(obj, q->heads[k], q->len[k], env->context_ctx);

		if (p < 0) {
			/* a choice name, a companion, a null: as the navigation
			 * would see it */
			if (!have_item) {
				memset(&c, 0, sizeof(c));
				c.env = env;
				fp_context_item(&c, &item);
				have_item = 1;
			}
			p = fp_has_children_named(&item, q->heads[k]);
			if (p < 0)
				return -1;
		}
		bits |= (unsigned)p << k;
	}
	for (k = 0; k < q->ntests; k++) {
		const struct test *t = &q->tests[k];
		struct fp_vec v = {0};
		const char *str;
		size_t ls, lt;
		int b;

		if (!(bits & (1u << t->head)))
			continue; /* empty: decided without it */
		str = plain_string(env, obj, q->heads[t->head]);
		if (!str) {
			if (!have_item) {
				memset(&c, 0, sizeof(c));
				c.env = env;
				fp_context_item(&c, &item);
				have_item = 1;
			}
			/* the items the engine would test: one string, or the
			 * engine decides (and fails, on several or on a date) */
			if (fp_children_named(&c, &item, q->heads[t->head], &v) != CG_OK ||
			    v.n != 1 || v.items[0].kind != CG_FP_STRING)
				return -1;
			str = v.items[0].u.s;
		}
		ls = strlen(str);
		lt = strlen(t->lit);
		/* as f_startswith, f_endswith and f_contains compute them */
		b = t->op == 's'   ? !strncmp(str, t->lit, lt)
		    : t->op == 'e' ? lt <= ls && !strcmp(str + ls - lt, t->lit)
		                   : strstr(str, t->lit) != NULL;
		bits |= (unsigned)b << (q->nheads + k);
	}
	return q->table[bits];
}
