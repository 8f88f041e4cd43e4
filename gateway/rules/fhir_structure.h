/*
 * fhir_structure.h: the FHIR R4 structure, loaded from the generated table
 * mappings/fhir-r4/structure.json (see docs/fhir.md for how to regenerate).
 *
 * A context is where elements live: a type ("Observation", "CodeableConcept")
 * or a backbone element ("Observation.component"). Each context lists its
 * child elements with cardinality, types, the required binding if any,
 * Reference targets and the core profile of a type (SimpleQuantity). Loaded
 * once; read-only afterwards.
 */
#ifndef CG_FHIR_STRUCTURE_H
#define CG_FHIR_STRUCTURE_H

#include <stdbool.h>

#include <stddef.h>

#include "err.h"

struct cJSON;

/* Room for a type name and its NUL. Buffers that hold a resource type from
 * input (an item's type, a file name, an upstream URL) are sized by it, and
 * the loader refuses a table with a longer name, so no name is ever cut. The
 * longest in R4 is MedicinalProductUndesirableEffect (33). */
#define CG_FHIR_TYPE_NAME_MAX 64

enum cg_fhir_kind { CG_FHIR_PRIMITIVE, CG_FHIR_COMPLEX, CG_FHIR_RESOURCE };

struct cg_fhir_valueset {
	const char *url;
	const struct cJSON *codes; /* object: system -> array of codes */
};

struct cg_fhir_type;

struct cg_fhir_element {
	const char *path; /* full path, "Observation.value[x]" */
	const char *name; /* "value" (without [x]) */
	size_t name_len;
	int choice; /* the name ended in [x] */
	int min;
	int max;                                /* -1 for * */
	const char *const *types;               /* type codes */
	const struct cg_fhir_type *const *tptr; /* the same, resolved (NULL if unknown) */
	size_t ntypes;
	const char *ref;                        /* contentReference: the context to use instead */
	const struct cg_fhir_context *ctx;      /* its children: its own, or those ref names */
	const struct cg_fhir_valueset *binding; /* required binding we can check */
	const struct cJSON *targets;            /* Reference target types, or NULL */
	/* The core profile R4 gives one of its types (SimpleQuantity on the
	 * Quantity of Observation.referenceRange.low), whose invariants hold
	 * of its values of that type besides the type's own, or NULL; then
	 * profiled is that type. */
	const struct cg_fhir_type *profile;
	const struct cg_fhir_type *profiled;
};

struct cg_fhir_context {
	const char *path;
	struct cg_fhir_element **kids;
	size_t nkids;
	/* cg_fhir_child's index, built at load: the plain kids by the hash of
	 * their name (open addressing, a kid's place plus one, 0 empty), and
	 * the choice kids (value[x]) apart, matched by prefix. */
	unsigned *by_name;
	size_t name_mask;  /* the number of slots less one (a power of two) */
	unsigned *choices; /* places among kids */
	size_t nchoices;
	unsigned *required; /* the kids with min > 0, by place */
	size_t nrequired;
};

struct cg_fhir_type {
	const char *name;
	enum cg_fhir_kind kind;
	int abstract;
	const char *base;                  /* the type it specialises (code: string), or NULL */
	int prim;                          /* enum cg_fhir_prim, for primitives */
	int any_resource;                  /* Resource or DomainResource: any resource goes */
	int inline_ctx;                    /* BackboneElement or Element: the element defines it */
	const struct cg_fhir_context *ctx; /* NULL for primitives */
};

struct cg_fhir_structure;

enum cg_err cg_fhir_structure_load(const char *path, struct cg_fhir_structure **out, char **why);
void cg_fhir_structure_free(struct cg_fhir_structure *s);

const struct cg_fhir_type *cg_fhir_type(const struct cg_fhir_structure *s, const char *name);
const struct cg_fhir_context *cg_fhir_context(const struct cg_fhir_structure *s, const char *path);
/* The child element of ctx that JSON member name stands for (choice names
 * resolved: "valueQuantity" -> value[x] with *type Quantity), or NULL. On
 * entry *index is where among ctx->kids to look first (0, or one past the
 * previous member's: members mostly come in definition order), then the
 * name is looked up by hash; on return it is the element's place among
 * ctx->kids. */
const struct cg_fhir_element *cg_fhir_child(const struct cg_fhir_context *ctx, const char *name,
                                            const struct cg_fhir_type **type, size_t *index);
/* The choice element of ctx named choice[0, len) (value[x]: "value") whose
 * type member names ("valueQuantity" -> Quantity, *type), or NULL: what
 * cg_fhir_child finds for member when it is that choice, for less. */
const struct cg_fhir_element *cg_fhir_choice(const struct cg_fhir_context *ctx, const char *choice,
                                             size_t len, const char *member,
                                             const struct cg_fhir_type **type);
/* Whether code is in the value set (any of its systems; system may be NULL). */
bool cg_fhir_valueset_has(const struct cg_fhir_valueset *vs, const char *system, const char *code);
/* The number of resource types, for metadata and tests. */
size_t cg_fhir_resource_count(const struct cg_fhir_structure *s);

#endif
