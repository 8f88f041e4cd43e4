/*
 * fp_internal.h: what the files of the FHIRPath engine share and nothing
 * outside it sees: tokens, the AST, the function table, the evaluation
 * context and the value helpers.
 */
#ifndef CG_FP_INTERNAL_H
#define CG_FP_INTERNAL_H

#include <stddef.h>

#include "arena.h"
#include "fhirpath.h"

/* ---- tokens (fp_lex.c) -------------------------------------------------- */

enum fp_tok_kind {
	T_EOF,
	T_IDENT,   /* a name or keyword; quoted when written `like this` */
	T_STRING,  /* 'text' */
	T_NUMBER,  /* 12, 1.5 */
	T_DATE,    /* @2012-04-15T10:00, @T12:00 */
	T_EXTVAR,  /* %name, %`name`, %'name' */
	T_SPECIAL, /* $this, $index, $total */
	T_PUNCT    /* . [ ] ( ) , + - * / & | = ~ != !~ < > <= >= { } */
};

struct fp_tok {
	enum fp_tok_kind kind;
	size_t off, len; /* the token's text in the expression */
	int quoted;      /* a delimited identifier: never a keyword */
};

/* The token at *pos (white space and comments skipped); *pos past it. 0, or
 * -1 with err filled (an unterminated string or comment, a stray
 * character). */
int fp_lex_next(const char *s, size_t *pos, struct fp_tok *t, struct cg_fp_syntax *err);
/* Decodes a string literal's or delimited identifier's body (without its
 * quotes) into arena memory; NULL when out of memory or an escape is bad. */
char *fp_unescape(struct cg_arena *a, const char *p, size_t len);

/* ---- AST (fp_parse.c) --------------------------------------------------- */

enum fp_node_kind {
	N_LITERAL, /* lit */
	N_EMPTY,   /* {} */
	N_MEMBER,  /* left.name, or name on the focus when left is NULL */
	N_CALL,    /* left.fn(args), or fn(args) on the focus */
	N_THIS,
	N_INDEX,
	N_TOTAL,
	N_VAR,     /* %name */
	N_INDEXER, /* left[right] */
	N_NEG,     /* -left */
	N_BINARY,  /* left op right */
	N_IS,      /* left is name */
	N_AS       /* left as name */
};

enum fp_binop {
	OP_MUL,
	OP_DIV,
	OP_IDIV,
	OP_MOD,
	OP_ADD,
	OP_SUB,
	OP_CONCAT,
	OP_UNION,
	OP_LT,
	OP_GT,
	OP_LE,
	OP_GE,
	OP_EQ,
	OP_EQUIV,
	OP_NE,
	OP_NEQUIV,
	OP_IN,
	OP_CONTAINS,
	OP_AND,
	OP_OR,
	OP_XOR,
	OP_IMPLIES
};

struct fp_func;

struct fp_node {
	enum fp_node_kind kind;
	enum fp_binop op;
	size_t column;
	struct fp_node *left, *right;
	struct fp_node **args;
	int nargs;
	const char *name; /* member, variable or type name */
	const struct fp_func *fn;
	struct cg_fp_item lit;
};

struct cg_fp_program {
	struct cg_arena *arena;
	struct fp_node *root;
};

/* ---- evaluation (fp_eval.c) --------------------------------------------- */

struct fp_ctx {
	struct cg_fp_env *env;
	const struct cg_fp_item *this_item; /* $this, or NULL at the top */
	long long index;                    /* $index */
	const struct cg_fp_coll *total;     /* $total inside aggregate() */
	const struct cg_fp_coll *root;      /* the input collection */
	int depth;
};

/* A collection being built, in the evaluation's arena. */
struct fp_vec {
	struct cg_fp_item *items;
	size_t n, cap;
};

enum cg_err fp_vec_push(struct cg_arena *a, struct fp_vec *v, const struct cg_fp_item *it);
void fp_vec_done(struct fp_vec *v, struct cg_fp_coll *out);

enum cg_err fp_eval_node(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_coll *focus,
                         struct cg_fp_coll *out);
/* Evaluates n with item as $this and focus (criteria of where, select...). */
enum cg_err fp_eval_on(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_item *item,
                       long long index, struct cg_fp_coll *out);
/* Records why evaluation failed; returns CG_EINVAL. */
enum cg_err fp_fail(struct fp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A collection of one boolean or item, in the evaluation's arena. */
enum cg_err fp_ret_bool(struct fp_ctx *c, int b, struct cg_fp_coll *out);
enum cg_err fp_ret_item(struct fp_ctx *c, const struct cg_fp_item *it, struct cg_fp_coll *out);

/* ---- navigation and types (fp_nav.c) ------------------------------------ */

struct cg_fhir_element;
struct cg_fhir_type;

/* The item for JSON value v (ext: its "_name" companion) of element el
 * (NULL: unknown) with FHIR type t (NULL: unknown). */
void fp_node_item(struct fp_ctx *c, const struct cJSON *v, const struct cJSON *ext,
                  const struct cg_fhir_element *el, const struct cg_fhir_type *t,
                  struct cg_fp_item *it);

/* The children of item named name (choice elements resolved), appended. */
enum cg_err fp_children_named(struct fp_ctx *c, const struct cg_fp_item *item, const char *name,
                              struct fp_vec *out);
/* Whether fp_children_named() would append anything (1 or 0), without
 * making the items; -1 when item is not an object. */
int fp_has_children_named(const struct cg_fp_item *item, const char *name);
/* Every child of item, appended. */
enum cg_err fp_children_all(struct fp_ctx *c, const struct cg_fp_item *item, struct fp_vec *out);
/* %context as an item: a resource by its resourceType, or an object typed
 * by env->context_type. */
void fp_context_item(struct fp_ctx *c, struct cg_fp_item *it);
/* An item for a resource (an object with resourceType) of the tree. */
void fp_resource_item(struct fp_ctx *c, const struct cJSON *node, struct cg_fp_item *out);
/* Whether item is of the type named (FHIR.x, System.x or unqualified) or of
 * a type derived from it: 1 or 0, or -1 when no type has that name. With
 * specialise, a FHIR primitive is also of its base primitive type (a code
 * is a string): is() counts that, as() and ofType() do not, as the R4 suite
 * has it. */
int fp_is_type(struct fp_ctx *c, const struct cg_fp_item *item, const char *type, int specialise);

/* ---- operators (fp_ops.c) ----------------------------------------------- */

/* n (an N_BINARY node) on focus. */
/* and, or, xor, implies on three-valued booleans (1 true, 0 false, -1
 * empty): the result in the same terms. The operators' one table, which
 * fp_quick.c's decisions read too. */
int fp_logic3(enum fp_binop op, int a, int b);
enum cg_err fp_binary(struct fp_ctx *c, const struct fp_node *n, const struct cg_fp_coll *focus,
                      struct cg_fp_coll *out);
/* CG_OK when v has at most one item, else an error naming what needed one. */
enum cg_err fp_at_most_one(struct fp_ctx *c, const struct cg_fp_coll *v, const char *what);

/* ---- functions (fp_funcs.c: the table; fp_fn_*.c: the functions) ------- */

/* A call as a function sees it: its node (args, for lazy functions), the
 * focus of the expression around it (eager arguments were evaluated on
 * it) and the values of its eager arguments. */
struct fp_call {
	const struct fp_node *node;
	const struct cg_fp_coll *outer;
	struct cg_fp_coll args[16];
};

struct fp_func {
	const char *name;
	int min, max; /* arguments */
	int lazy;     /* arguments are evaluated per item by the function itself */
	enum cg_err (*run)(struct fp_ctx *c, const struct fp_call *call,
	                   const struct cg_fp_coll *focus, struct cg_fp_coll *out);
};

/* The type name an argument of ofType(), is() or as() is written as. */
const char *fp_type_arg(struct cg_arena *a, const struct fp_node *n);
/* The single boolean of a collection: 1, 0, or -1 when empty; -2 (an error
 * already recorded) when it has more than one item. */
int fp_to_bool(struct fp_ctx *c, const struct cg_fp_coll *v);
/* Date and time arithmetic (fp_dt.c): d plus (sign 1) or minus (-1)
 * quantity q. 0, or -1 when the unit is not a calendar duration. */
int fp_dt_add(const struct cg_fp_item *d, const struct cg_fp_item *q, int sign,
              struct cg_fp_item *out);

const struct fp_func *fp_func_find(const char *name, size_t len);

/* ---- UCUM units (fp_ucum.c) -------------------------------------------- */

#define FP_UCUM_DIMS 7 /* m, s, g, rad, K, C, cd */

/* A unit as a factor times powers of the base units, and the arbitrary unit
 * ([IU]) it is made of, if any. */
struct fp_ucum {
	double factor;
	int dim[FP_UCUM_DIMS];
	const char *arb;
	int arb_pow;
};

/* The UCUM code of a unit: a calendar word (week, days) as its UCUM
 * duration (wk, d), any other unit as it is. */
const char *fp_ucum_code(const char *unit);
/* Reads a UCUM expression (or a calendar word). 0, or -1 when it is not
 * one, or is a special unit (Cel) that converts by more than a factor. */
int fp_ucum_parse(const char *unit, struct fp_ucum *out);
/* Whether quantities of the two units can be converted into each other. */
int fp_ucum_comparable(const struct fp_ucum *a, const struct fp_ucum *b);
/* v in unit from as a value in unit to: 0 and *out, or -1 when the units
 * are not commensurable (or not known). */
int fp_ucum_convert(double v, const char *from, const char *to, double *out);

/* FHIR's htmlChecks() (fp_html.c): whether narrative XHTML keeps R4's rules. */
enum cg_err fp_fn_htmlchecks(struct fp_ctx *c, const struct fp_call *call,
                             const struct cg_fp_coll *in, struct cg_fp_coll *out);

/* ---- values (fp_value.c, fp_dt.c, fp_compare.c) ------------------------- */

/* fp_dt.c: parses a date, date-time or time (no '@'; a time without its 'T'), as
 * FHIRPath literals and FHIR JSON write them. *kind is CG_FP_DATE,
 * CG_FP_DATETIME or CG_FP_TIME (want_time: parse as a time). 0 or -1. */
int fp_dt_parse(const char *s, size_t len, int want_time, enum cg_fp_kind *kind,
                struct cg_fp_dt *out);
/* Writes a date, date-time or time as FHIR JSON would (no '@'). */
void fp_dt_format(const struct cg_fp_item *it, char *out, size_t size);
/* Two dates, date-times or times (of the same kind) in order: -1/0/1, or
 * -3 when they agree as far as the coarser precision goes. */
int fp_dt_compare(const struct cg_fp_item *a, const struct cg_fp_item *b);

/* fp_value.c: a System value made of a FHIR one where the kinds allow: a Quantity
 * object to a quantity; otherwise a copy. */
void fp_system_value(const struct cg_fp_item *in, struct cg_fp_item *out);
/* Whether t names one of FHIR's quantity types (Quantity, Age, Duration,
 * ...); the calendar duration a UCUM code stands for ("a": "year"), else
 * the code itself. */
int fp_is_quantity_type(const char *t);
const char *fp_calendar_of(const char *code);

/* fp_compare.c: = on two items: 1 equal, 0 not, -1 empty (dates of
 * different precision). */
int fp_item_equal(const struct cg_fp_item *a, const struct cg_fp_item *b);
int fp_item_equiv(const struct cg_fp_item *a, const struct cg_fp_item *b);
/* Ordering: -2 not comparable (error), -3 empty (precision), else -1/0/1. */
int fp_item_compare(const struct cg_fp_item *a, const struct cg_fp_item *b);

/* fp_value.c: the string form of an item (toString()); NULL when it has
 * none. */
const char *fp_item_string(struct cg_arena *a, const struct cg_fp_item *it);

/* Item constructors for System values. */
void fp_bool(struct cg_fp_item *it, int b);
void fp_int(struct cg_fp_item *it, long long i);
void fp_dec(struct cg_fp_item *it, double v, int scale);
void fp_str(struct cg_fp_item *it, const char *s);
/* A collection of one System item in the arena; CG_ENOMEM. */
enum cg_err fp_single(struct cg_arena *a, const struct cg_fp_item *it, struct cg_fp_coll *out);
char *fp_strndup(struct cg_arena *a, const char *s, size_t n);
/* Digits after the decimal point of a number as written ("1.50" 2). */
int fp_scale_of(const char *s, size_t len);

#endif
