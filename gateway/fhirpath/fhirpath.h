/*
 * fhirpath.h: FHIRPath (the 2.0 grammar FHIR R4 uses) compiled once and
 * evaluated over cJSON trees of FHIR JSON.
 *
 * cg_fp_compile turns an expression into a program (an AST held in one
 * arena, read-only afterwards, so one program serves any number of
 * evaluations and threads). cg_fp_eval runs it on a resource: every value it
 * makes (collections, computed strings) comes from the arena of the
 * evaluation environment, which the caller resets between resources; nothing
 * is allocated per node on the heap. Values that stand for JSON nodes point
 * into the caller's tree, which must outlive the result.
 *
 * The FHIR type model (element types, choice elements such as value[x],
 * resource types for is/as/ofType) comes from the generated R4 structure
 * tables (fhir_structure.h); without them (structure NULL) navigation is by
 * JSON member name only and choice elements are not resolved.
 *
 * What the engine covers and what it does not yet is listed in docs/fhir.md.
 */
#ifndef CG_FHIRPATH_H
#define CG_FHIRPATH_H

#include <stddef.h>

#include "err.h"

struct cJSON;
struct cg_arena;
struct cg_buf;
struct cg_fhir_structure;
struct cg_fhir_context;

enum cg_fp_kind {
	CG_FP_BOOLEAN,
	CG_FP_INTEGER,
	CG_FP_DECIMAL,
	CG_FP_STRING,
	CG_FP_DATE,
	CG_FP_DATETIME,
	CG_FP_TIME,
	CG_FP_QUANTITY,
	CG_FP_OBJECT,  /* a FHIR complex value or resource: a JSON object */
	CG_FP_NOVALUE, /* a FHIR primitive with extensions but no value */
	CG_FP_TYPEINFO /* what type() answers: u.type, its namespace and name */
};

/* Dates, date-times and times keep the precision they were written with:
 * prec counts the fields given (1 year ... 6 seconds, 7 milliseconds; for a
 * time 1 hour ... 4 milliseconds). */
struct cg_fp_dt {
	short year, month, day, hour, minute, second;
	short ms;
	signed char prec;
	signed char has_tz;
	short tz; /* offset east of UTC in minutes */
};

/* One item of a collection. FHIR values keep their node and FHIR type;
 * System values (literals, computed results) have node == NULL. */
struct cg_fp_item {
	enum cg_fp_kind kind;
	const struct cJSON *node;          /* the JSON value, or NULL */
	const struct cJSON *ext;           /* a primitive's "_name" companion, or NULL */
	const char *ftype;                 /* FHIR type name ("string", "HumanName"), or NULL */
	const struct cg_fhir_context *ctx; /* where its children are defined, or NULL */
	union {
		int b;
		long long i;
		struct {
			double v;
			int scale;        /* digits after the point, for printing */
			const char *unit; /* quantities: the UCUM code or calendar word */
		} d;
		const char *s;
		struct cg_fp_dt dt;
		struct {
			const char *ns;   /* "System" or "FHIR" */
			const char *name; /* "Integer", "Patient", "boolean" */
		} type;
	} u;
};

struct cg_fp_coll {
	struct cg_fp_item *items;
	size_t n;
};

struct cg_fp_program;

struct cg_fp_syntax {
	size_t column; /* 1-based, in characters of the expression as bytes */
	char message[128];
};

/* CG_OK and *out, or CG_EINVAL with *err filled for a syntax error (or an
 * unknown function, or a function called with the wrong number of
 * arguments), or CG_ENOMEM. */
enum cg_err cg_fp_compile(const char *expr, struct cg_fp_program **out, struct cg_fp_syntax *err);
void cg_fp_program_free(struct cg_fp_program *p);

struct cg_fp_env {
	struct cg_arena *arena;                    /* every value of the evaluation */
	const struct cg_fhir_structure *structure; /* the R4 tables, or NULL */
	const struct cJSON *resource;              /* %resource, and the input */
	const struct cJSON *context;               /* %context (NULL: the resource) */
	/* The FHIR type of %context ("Extension"), or the path of its backbone
	 * element ("Observation.component"), so that its choice elements and
	 * primitives are typed as a navigation to it would type them; NULL: a
	 * resource typed by its resourceType, anything else untyped. */
	const char *context_type;
	/* cg_fhir_context(structure, context_type) when the caller has it at
	 * hand (a validation's walk does), saving the look-up; NULL: looked up.
	 * With context_type NULL, the context of the resource %context is (of
	 * its resourceType); with context_type set, %context has no
	 * resourceType. */
	const struct cg_fhir_context *context_ctx;
	/* %rootResource: the resource that contains %resource (a contained
	 * resource's container); NULL: %resource itself. */
	const struct cJSON *root_resource;
	long long now_ms; /* now() in ms since the epoch (0: the clock) */
	/* as(T) and `as T` on more than one item: 0, an error, as FHIRPath 2.0
	 * says (and the R4 suite's testFHIRPathAsFunction21 checks); 1, the
	 * items of type T, as ofType(T) gives them: the HL7 Java validator's
	 * engine for FHIR before R5 (FHIRPathEngine's
	 * doNotEnforceAsSingletonRule), which R4's dom-3
	 * (%resource.descendants().as(canonical)) was written for. Set for
	 * the invariants (fhir_invariants.c); `cellgate fhirpath --as-filters`. */
	int as_filters;
	char error[160]; /* why an evaluation failed */
};

/* The longest string an evaluation may compute (FHIR's limit for strings):
 * replace() and & in a chain grow a string geometrically. */
#define CG_FP_MAX_STRING ((size_t)1 << 20)

/* The most memory one evaluation may take from its arena. */
#define CG_FP_MAX_EVAL_BYTES ((size_t)64 << 20)

/* Evaluates p on env->resource. CG_OK and *out, or CG_EINVAL with
 * env->error saying why (a singleton expected and a collection found, a
 * type error), or CG_ENOMEM, or CG_ELIMIT (too deep a recursion, or more than
 * CG_FP_MAX_EVAL_BYTES of values). */
enum cg_err cg_fp_eval(const struct cg_fp_program *p, struct cg_fp_env *env,
                       struct cg_fp_coll *out);

/* The semantic check of p against the R4 model (fp_check.c), for an input
 * of FHIR type root_type: a type name ("Patient", "Quantity") or a backbone
 * element's path ("Observation.component"). It fails on a path step naming
 * an element that the step's statically known type does not have
 * (name.given1 or Encounter.name on a Patient; Observation.valueQuantity,
 * a choice element named as JSON names it, where FHIRPath says value), and
 * on first(), last(), tail(), skip(), take() or an indexer applied to the
 * unordered result of children() or descendants(). Conservative: where the
 * type is not known statically (a primitive, an abstract type or Resource,
 * after resolve(), a union and most functions) nothing is checked. CG_OK,
 * also when structure or root_type is NULL or root_type is unknown; or
 * CG_EINVAL with err filled (the step's column, why). */
enum cg_err cg_fp_check(const struct cg_fp_program *p, const struct cg_fhir_structure *structure,
                        const char *root_type, struct cg_fp_syntax *err);

/* A program decided without evaluating it, from which members %context has
 * (fp_quick.c): made once from the compiled program, read-only afterwards.
 * NULL when no presence pattern decides it (or out of memory): evaluate.
 * Exact or silent: cg_fp_quick_eval gives a value only where cg_fp_eval
 * would give that value, and no error, on the same environment. */
struct cg_fp_quick;
struct cg_fp_quick *cg_fp_quick_new(const struct cg_fp_program *p);
void cg_fp_quick_free(struct cg_fp_quick *q);
/* 1: a single true; 0: a single false; 2: empty; -1: not decided, call
 * cg_fp_eval. Values it needs come from env->arena, like cg_fp_eval's. */
int cg_fp_quick_eval(const struct cg_fp_quick *q, struct cg_fp_env *env);

/* The FHIRPath type name of an item ("integer", "string", "dateTime",
 * "Quantity", a FHIR type name): the test suite's words. */
const char *cg_fp_type_name(const struct cg_fp_item *it);
/* Appends the item as a JSON value (a FHIR JSON value for nodes; a string
 * for dates and times; {"value","unit"} for System quantities). */
enum cg_err cg_fp_item_json(struct cg_buf *b, const struct cg_fp_item *it);

#endif
