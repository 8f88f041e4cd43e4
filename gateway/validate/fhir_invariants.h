/*
 * fhir_invariants.h: the FHIRPath invariants of the R4 core definitions
 * (mappings/fhir-r4/invariants.json, generated from the official
 * StructureDefinitions: no invariant is written in C), compiled once and
 * evaluated on FHIR resources with the FHIRPath engine (fhirpath.h).
 *
 * On by default in validation (cellgate validate --no-invariants and the
 * configuration's fhir_invariants: false switch them off). ele-1 and ext-1
 * are evaluated on every element and Extension; those the validator checks
 * under codes of their own (bdl-1..4, bdl-7, txt-1, txt-2) are not; an
 * invariant decided from which members its node has (fp_quick.c) skips the
 * engine. They are evaluated as the HL7 validator evaluates R4's: as() on
 * many items keeps those of the type (cg_fp_env.as_filters; dom-3 needs
 * it). An invariant that does not compile or cannot be evaluated on a
 * resource is counted, never reported as broken; the counts, per
 * invariant, are cg_fhir_invariants_failures', which `cellgate validate`
 * prints and the gateway shows on /metrics. A broken invariant is an
 * issue fhir-invariant (error) or fhir-invariant-warning (warning), as its
 * definition's severity says, with its key and human text, at the element
 * it is on.
 */
#ifndef CG_FHIR_INVARIANTS_H
#define CG_FHIR_INVARIANTS_H

#include <stddef.h>

#include "check.h"
#include "err.h"
#include "fhir_structure.h"

struct cJSON;
struct cg_fhir_invariants;

/* Loads and compiles dir/fhir-r4/invariants.json. CG_EIO/CG_EINVAL with
 * *why (malloc'd) when it cannot be read. */
enum cg_err cg_fhir_invariants_load(const char *mappings_dir, struct cg_fhir_invariants **out,
                                    char **why);
void cg_fhir_invariants_free(struct cg_fhir_invariants *v);

/* How many there are, how many compiled. */
void cg_fhir_invariants_counts(const struct cg_fhir_invariants *v, size_t *total, size_t *compiled);

/* What could not be evaluated since the load: invariants whose expression
 * did not compile (never evaluated), and evaluations the engine could not
 * complete (an error: a singleton expected, a type error, a limit), which
 * are counted and never reported as broken. */
struct cg_fhir_failures {
	size_t not_compiled;       /* invariants */
	size_t invariants;         /* invariants with evaluations that failed */
	unsigned long evaluations; /* evaluations that failed, in all */
};
/* Called per invariant that did not compile (n == 0) and per invariant
 * with failed evaluations (n of them): key ("dom-3") and where
 * ("DomainResource", "Observation.component") from the definitions, never
 * from a resource. A non-zero return stops the calls and is returned. */
typedef enum cg_err (*cg_fhir_failure_fn)(void *ctx, const char *key, const char *where,
                                          unsigned long n);
/* Fills *sum and calls fn (when not NULL) in the file's order. The counts
 * are kept in v by every thread that evaluates (atomic, relaxed: a reader
 * may miss the evaluations under way); a new load starts from zero. */
enum cg_err cg_fhir_invariants_failures(const struct cg_fhir_invariants *v, cg_fhir_failure_fn fn,
                                        void *ctx, struct cg_fhir_failures *sum);

/*
 * Evaluation, during the structural validation's walk (fhir_validate.c),
 * which calls these as it meets each resource and each object value: the
 * tree is walked once. A walk is one validation's; it reports into c at c's
 * current path, after c's own issues on the same element (cg_diag.late).
 * new: NULL when out of memory. free: *not_evaluated (may be NULL) counts
 * the evaluations that failed (an engine limit), which are not issues;
 * they are also added to v's counts (cg_fhir_invariants_failures).
 */
struct cg_fhir_inv_walk;
struct cg_fhir_inv_walk *cg_fhir_inv_walk_new(const struct cg_fhir_invariants *v,
                                              const struct cg_fhir_structure *s,
                                              struct cg_check *c);
void cg_fhir_inv_walk_free(struct cg_fhir_inv_walk *w, size_t *not_evaluated);

/* The rank of the object the walk enters, before its members: the
 * invariants' issues on it are kept, past the issue limit, as if evaluated
 * there (cg_diag.late_rank). */
size_t cg_fhir_inv_enter(struct cg_fhir_inv_walk *w);
/* %resource and %rootResource outside the resource being walked; the
 * resource's rank. */
struct cg_fhir_inv_outer {
	const struct cJSON *resource, *root;
	size_t rank;
};
/* Resource r, whose type is known, begins: %resource is r (and
 * %rootResource too, unless r is contained). */
void cg_fhir_inv_resource_begin(struct cg_fhir_inv_walk *w, const struct cJSON *r, int contained,
                                struct cg_fhir_inv_outer *outer);
/* Resource r of type t ends, its members walked: its own invariants and its
 * bases', then %resource is outer's again. */
void cg_fhir_inv_resource_end(struct cg_fhir_inv_walk *w, const struct cJSON *r,
                              const struct cg_fhir_type *t, const struct cg_fhir_inv_outer *outer);
/* Object val, a value of element el of type t (a complex type or a
 * backbone element), its members walked: ele-1, el's own invariants, ext-1
 * on an Extension, the type's and its bases', then those of the core profile
 * R4 gives t in el (el->profile: sqty-1 of SimpleQuantity). */
void cg_fhir_inv_value(struct cg_fhir_inv_walk *w, const struct cJSON *val,
                       const struct cg_fhir_element *el, const struct cg_fhir_type *t, size_t rank);
/* Object p, a primitive's "_name" partner where the primitive has no
 * value: ele-1 (one with a value holds of it). */
void cg_fhir_inv_partner(struct cg_fhir_inv_walk *w, const struct cJSON *p, size_t rank);

#endif
