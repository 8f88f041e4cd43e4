/* fhir_invariants.c: the R4 invariants evaluated; see fhir_invariants.h. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "fhir_invariants.h"
#include "fhirpath.h"
#include "fileio.h"
#include "json_member.h"
#include "json_type.h"

struct inv {
	char *type;  /* the type whose definition adds it */
	char *where; /* "Type" or "Type.path.to.element" */
	char *key, *human;
	int warning;
	struct cg_fp_program *prog; /* NULL: not evaluated (did not compile, or skipped) */
	struct cg_fp_quick *quick;  /* decides it from members present, or NULL */
	int bad;                    /* its expression did not compile */
};

/* The invariants on one "where": its own (Type or Type.path), and for a
 * type those of its bases after them, as apply_type() evaluates them. */
struct slot {
	const char *key; /* NULL: a free slot */
	unsigned hash;
	const struct inv *const *own, *const *chain;
	size_t nown, nchain;
};

struct cg_fhir_invariants {
	cJSON *doc;
	struct inv *v;
	size_t n, compiled, not_compiled;
	/* evaluations of v[i] the engine could not complete, since the load:
	 * the one thing written after it, by every thread that evaluates */
	atomic_ulong *failed;
	struct inv **by_where; /* the evaluated ones but ele-1/ext-1, sorted by where */
	size_t nwhere;
	/* by_where indexed: an open-addressing hash table of every where and
	 * type name with invariants, so that each element of a resource costs
	 * one hash of its path and its type name, not a search through the
	 * bases and the sorted list (that was three quarters of the time) */
	struct slot *slots;
	size_t mask;                   /* slots: mask + 1, a power of two */
	const struct inv **chains;     /* the lists that slot.chain points into */
	const struct inv *ele1, *ext1; /* Element's and Extension's own, or NULL */
	int ele1_fast;                 /* ele-1's expression is R4's: see element() */
};

#define ELE1_R4 "hasValue() or (children().count() > id.count())"

/* Invariants that fhir_validate.c checks under an issue code of its own
 * (fhir-bundle; fhir-narrative for txt-1 and txt-2, whose htmlChecks() is
 * the same checker, which also says where the fault is): evaluating them
 * as well would report one fault twice. Whoever moves a rule to its
 * invariant removes it here. */
static const char *const checked_elsewhere[] = {"bdl-1", "bdl-2", "bdl-3", "bdl-4",
                                                "bdl-7", "txt-1", "txt-2", NULL};

static char *
dup(const char *s)
{
	return strdup(s ? s : "");
}

/* A malloc'd "what path" for *why (NULL when out of memory). */
static char *
message(const char *what, const char *path)
{
	char *m = malloc(strlen(what) + strlen(path) + 1);

	if (m)
		sprintf(m, "%s%s", what, path);
	return m;
}

void
cg_fhir_invariants_free(struct cg_fhir_invariants *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++) {
		free(v->v[i].type);
		free(v->v[i].where);
		free(v->v[i].key);
		free(v->v[i].human);
		cg_fp_program_free(v->v[i].prog);
		cg_fp_quick_free(v->v[i].quick);
	}
	free(v->v);
	free(v->failed);
	free(v->by_where);
	free(v->slots);
	free(v->chains);
	cJSON_Delete(v->doc);
	free(v);
}

static int
skipped(const char *key)
{
	size_t i;

	for (i = 0; checked_elsewhere[i]; i++)
		if (!strcmp(key, checked_elsewhere[i]))
			return 1;
	return 0;
}

static int
by_where(const void *a, const void *b)
{
	const struct inv *x = *(const struct inv *const *)a, *y = *(const struct inv *const *)b;
	int d = strcmp(x->where, y->where);

	/* ties in file order, so that issues come in a stable order */
	return d ? d : (x < y ? -1 : x > y);
}

/* One invariant of type t from its definition c, compiled unless skipped. */
static enum cg_err
add(struct cg_fhir_invariants *v, const char *t, const cJSON *c)
{
	struct inv *in = &v->v[v->n++];
	const char *p = cJSON_GetStringValue(cg_json_member(c, "path"));
	const char *sev = cJSON_GetStringValue(cg_json_member(c, "severity"));
	int element = !strcmp(t, "Element") || !strcmp(t, "Extension");
	struct cg_fp_syntax err;

	in->type = dup(t);
	in->key = dup(cJSON_GetStringValue(cg_json_member(c, "key")));
	in->human = dup(cJSON_GetStringValue(cg_json_member(c, "human")));
	in->warning = sev && !strcmp(sev, "warning");
	if (p && *p) {
		in->where = malloc(strlen(t) + strlen(p) + 2);
		if (in->where)
			sprintf(in->where, "%s.%s", t, p);
	} else {
		in->where = dup(t);
	}
	if (!in->type || !in->key || !in->human || !in->where)
		return CG_ENOMEM;
	/* Element.extension repeats ele-1 and ext-1 for each extension, which
	 * is an Element and an Extension already: evaluated once, as such. */
	if (skipped(in->key) || (element && p && *p))
		return CG_OK;
	if (cg_fp_compile(cJSON_GetStringValue(cg_json_member(c, "expression")), &in->prog, &err) !=
	    CG_OK) {
		in->bad = 1;
		v->not_compiled++;
		return CG_OK; /* counted, never evaluated */
	}
	v->compiled++;
	in->quick = cg_fp_quick_new(in->prog); /* NULL: always the engine */
	if (element && !strcmp(t, "Element") && !v->ele1) {
		v->ele1 = in;
		v->ele1_fast =
		        !strcmp(ELE1_R4, cJSON_GetStringValue(cg_json_member(c, "expression")));
	} else if (element && !v->ext1)
		v->ext1 = in;
	else if (!element)
		v->by_where[v->nwhere++] = in;
	return CG_OK;
}

/* FNV-1a. */
static unsigned
hash_of(const char *k)
{
	unsigned h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

static struct slot *
slot_find(const struct cg_fhir_invariants *v, const char *key)
{
	unsigned h = hash_of(key);
	size_t i = h & v->mask;

	for (; v->slots[i].key; i = (i + 1) & v->mask)
		if (v->slots[i].hash == h && !strcmp(v->slots[i].key, key))
			return &v->slots[i];
	return NULL;
}

/* The slot of key, added when new (the table has room: see build_index). */
static struct slot *
slot_add(struct cg_fhir_invariants *v, const char *key)
{
	unsigned h = hash_of(key);
	size_t i = h & v->mask;

	for (; v->slots[i].key; i = (i + 1) & v->mask)
		if (v->slots[i].hash == h && !strcmp(v->slots[i].key, key))
			return &v->slots[i];
	v->slots[i].key = key;
	v->slots[i].hash = h;
	return &v->slots[i];
}

/* The slots: each where's own run of by_where; then, for each type name
 * (a where, or a type of "bases"), the runs of the type and its bases
 * (at most 16 hops, as before) copied one after another into chains. */
static enum cg_err
build_index(struct cg_fhir_invariants *v)
{
	const cJSON *bases = cg_json_member(v->doc, "bases"), *b;
	size_t nkeys = v->nwhere + (size_t)cJSON_GetArraySize(bases), size = 16, i, j, used = 0;
	int pass;

	while (size < 2 * nkeys + 2)
		size *= 2;
	v->slots = calloc(size, sizeof(*v->slots));
	if (!v->slots)
		return CG_ENOMEM;
	v->mask = size - 1;
	for (i = 0; i < v->nwhere; i = j) {
		struct slot *sl = slot_add(v, v->by_where[i]->where);

		for (j = i; j < v->nwhere && !strcmp(v->by_where[j]->where, v->by_where[i]->where);
		     j++)
			;
		sl->own = (const struct inv *const *)&v->by_where[i];
		sl->nown = j - i;
	}
	cJSON_ArrayForEach(b, bases) slot_add(v, b->string);
	/* two passes: the chains' lengths, then the chains */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i <= v->mask; i++) {
			struct slot *sl = &v->slots[i];
			const char *type = sl->key;
			int hops = 0;

			if (!type)
				continue;
			sl->chain = pass ? &v->chains[used] : NULL;
			sl->nchain = 0;
			while (type && hops++ < 16) {
				const struct slot *t = slot_find(v, type);

				for (j = 0; t && j < t->nown; j++, sl->nchain++)
					if (pass)
						v->chains[used + sl->nchain] = t->own[j];
				type = cJSON_GetStringValue(cg_json_member(bases, type));
			}
			used += sl->nchain;
		}
		if (!pass) {
			v->chains = calloc(used + 1, sizeof(*v->chains));
			if (!v->chains)
				return CG_ENOMEM;
			used = 0;
		}
	}
	return CG_OK;
}

enum cg_err
cg_fhir_invariants_load(const char *dir, struct cg_fhir_invariants **out, char **why)
{
	struct cg_fhir_invariants *v = calloc(1, sizeof(*v));
	char path[4096], *text = NULL;
	const cJSON *types, *t, *c;
	size_t len, cap = 0, i;

	*out = NULL;
	*why = NULL;
	if (!v)
		return CG_ENOMEM;
	snprintf(path, sizeof(path), "%s/fhir-r4/invariants.json", dir);
	if (cg_file_read(path, 8u << 20, &text, &len)) {
		free(v);
		*why = message("cannot read ", path);
		return CG_EIO;
	}
	v->doc = cJSON_ParseWithLength(text, len);
	free(text);
	types = cg_json_member(v->doc, "invariants");
	if (!cg_json_is_object(types)) {
		cg_fhir_invariants_free(v);
		*why = message("not an invariants file: ", path);
		return CG_EINVAL;
	}
	cJSON_ArrayForEach(t, types) cJSON_ArrayForEach(c, t) cap++;
	v->v = calloc(cap + 1, sizeof(*v->v));
	v->failed = malloc((cap + 1) * sizeof(*v->failed));
	v->by_where = calloc(cap + 1, sizeof(*v->by_where));
	if (!v->v || !v->failed || !v->by_where) {
		cg_fhir_invariants_free(v);
		return CG_ENOMEM;
	}
	for (i = 0; i <= cap; i++)
		atomic_init(&v->failed[i], 0);
	cJSON_ArrayForEach(t, types)
	{
		cJSON_ArrayForEach(c, t)
		{
			if (add(v, t->string, c)) {
				cg_fhir_invariants_free(v);
				return CG_ENOMEM;
			}
		}
	}
	qsort(v->by_where, v->nwhere, sizeof(*v->by_where), by_where);
	if (build_index(v)) {
		cg_fhir_invariants_free(v);
		return CG_ENOMEM;
	}
	*out = v;
	return CG_OK;
}

void
cg_fhir_invariants_counts(const struct cg_fhir_invariants *v, size_t *total, size_t *compiled)
{
	*total = v ? v->n : 0;
	*compiled = v ? v->compiled : 0;
}

enum cg_err
cg_fhir_invariants_failures(const struct cg_fhir_invariants *v, cg_fhir_failure_fn fn, void *ctx,
                            struct cg_fhir_failures *sum)
{
	enum cg_err result = CG_OK;
	size_t i;

	memset(sum, 0, sizeof(*sum));
	if (!v)
		return CG_OK;
	sum->not_compiled = v->not_compiled;
	for (i = 0; i < v->n; i++) {
		unsigned long n = atomic_load_explicit(&v->failed[i], memory_order_relaxed);

		if (v->v[i].bad && fn && !result)
			result = fn(ctx, v->v[i].key, v->v[i].where, 0);
		if (!n)
			continue;
		sum->evaluations += n;
		sum->invariants++;
		if (fn && !result)
			result = fn(ctx, v->v[i].key, v->v[i].where, n);
	}
	return result;
}

/* ---- evaluation ---------------------------------------------------------- */

struct walk {
	const struct cg_fhir_invariants *v;
	const struct cg_fhir_structure *s;
	const struct cg_fhir_type *extension; /* the type Extension (ext-1's) */
	struct cg_check *c;
	struct cg_arena *arena;
	const cJSON *resource, *root; /* %resource, %rootResource */
	size_t not_evaluated;
	size_t ranks; /* objects entered (cg_fhir_inv_enter) */
	size_t rank;  /* the one being evaluated on */
	/* what every evaluation shares, set once; eval() sets the rest (the
	 * engine clears error itself) */
	struct cg_fp_env env;
	/* slot_find() by the address of a path or type name of the structure
	 * tables (which outlive the walk): the same few dozen are looked up
	 * for every element of every resource */
	struct {
		const char *key;
		const struct slot *sl;
	} cache[256];
};

static const struct slot *
cached_slot(struct walk *w, const char *key)
{
	size_t i = ((size_t)key >> 3) & 255;

	if (w->cache[i].key != key) {
		w->cache[i].key = key;
		w->cache[i].sl = slot_find(w->v, key);
	}
	return w->cache[i].sl;
}

/* Evaluates one invariant with node as %context, of FHIR type `type` (a
 * type name, a backbone element's path, or NULL for a resource or an
 * untyped object); reports it when it is false. */
static void
eval(struct walk *w, const struct inv *in, const cJSON *node, const char *type,
     const struct cg_fhir_context *ctx)
{
	struct cg_fp_env *env = &w->env;
	struct cg_fp_coll out;
	int quick;

	env->resource = w->resource;
	env->root_resource = w->root;
	env->context = node;
	env->context_type = type;
	env->context_ctx = ctx;
	/* most are decided by which members node has (see fp_quick.c) */
	quick = cg_fp_quick_eval(in->quick, env);
	if (quick < 0 && cg_fp_eval(in->prog, env, &out) != CG_OK) {
		w->not_evaluated++;
		atomic_fetch_add_explicit(&w->v->failed[in - w->v->v], 1, memory_order_relaxed);
	} else if (quick == 0 || (quick < 0 && out.n == 1 && out.items[0].kind == CG_FP_BOOLEAN &&
	                          !out.items[0].u.b)) {
		/* after the structural issues on the same element (diag.h) */
		w->c->d->late = 1;
		w->c->d->late_rank = w->rank;
		cg_check_issue(w->c,
		               in->warning ? CG_C_FHIR_INVARIANT_WARNING : CG_C_FHIR_INVARIANT,
		               node, NULL, 0, "%s: %s", in->key, in->human);
		w->c->d->late = 0;
	}
	cg_arena_reset(w->arena);
}

/* Every invariant defined on `where` (in by_where's order), a path of
 * the structure tables; ctx is type's context, or NULL. */
static void
apply(struct walk *w, const char *where, const cJSON *node, const char *type,
      const struct cg_fhir_context *ctx)
{
	const struct slot *sl = cached_slot(w, where);
	size_t i;

	for (i = 0; sl && i < sl->nown; i++)
		eval(w, sl->own[i], node, type, ctx);
}

/* A type's own invariants and its bases' (Element's, ele-1, is evaluated on
 * every element apart: see element()); sl is the type's slot or NULL. */
static void
apply_type(struct walk *w, const struct slot *sl, const cJSON *node, const char *ctx_type,
           const struct cg_fhir_context *ctx)
{
	size_t i;

	for (i = 0; sl && i < sl->nchain; i++)
		eval(w, sl->chain[i], node, ctx_type, ctx);
}

/* Whether a member name is "id". */
static int
is_id(const char *k)
{
	return k[0] == 'i' && k[1] == 'd' && k[2] == '\0';
}

/* ele-1 ("hasValue() or (children().count() > id.count())") on an element
 * that is a JSON object: a complex value, or a primitive's "_name" partner
 * when the primitive has no value. A primitive with a value needs no
 * evaluation: hasValue() is true of it. An empty object is reported as
 * `empty` by the structural validation, and not again here. */
static void
element(struct walk *w, const cJSON *node)
{
	const cJSON *m;

	if (!w->v->ele1 || !cg_json_is_object(node) || !node->child)
		return;
	/* The expression as R4 has it holds of an object with a child that
	 * is not its id: children() counts it, id.count() does not. Seen
	 * first, that spares the engine on almost every element (it was
	 * half the invariants' time); anything else goes to the engine. */
	if (w->v->ele1_fast)
		for (m = node->child; m; m = m->next)
			if (!is_id(m->string) && !cg_json_is_null(m) &&
			    !(cg_json_is_array(m) && !m->child) && m->string[0] != '_')
				return;
	eval(w, w->v->ele1, node, NULL, NULL);
}

/* ---- the hooks of the structural walk ---------------------------------- */

struct cg_fhir_inv_walk *
cg_fhir_inv_walk_new(const struct cg_fhir_invariants *v, const struct cg_fhir_structure *s,
                     struct cg_check *c)
{
	struct walk *w = calloc(1, sizeof(*w)); /* the cache too: no key is NULL */

	if (!w)
		return NULL;
	w->v = v;
	w->s = s;
	w->c = c;
	w->extension = cg_fhir_type(s, "Extension"); /* types are unique by name */
	/* per thread, kept between resources: workers share v, never an arena */
	w->arena = cg_arena_thread(CG_ARENA_SLOT_FHIRPATH, 64 * 1024);
	if (!w->arena) {
		free(w);
		return NULL;
	}
	w->env.arena = w->arena;
	w->env.structure = s;
	/* as the HL7 validator evaluates R4's invariants: dom-3 needs it */
	w->env.as_filters = 1;
	return (struct cg_fhir_inv_walk *)w;
}

void
cg_fhir_inv_walk_free(struct cg_fhir_inv_walk *iw, size_t *not_evaluated)
{
	struct walk *w = (struct walk *)iw;

	if (not_evaluated)
		*not_evaluated = w ? w->not_evaluated : 0;
	if (!w)
		return;
	cg_arena_reset(w->arena);
	free(w);
}

size_t
cg_fhir_inv_enter(struct cg_fhir_inv_walk *iw)
{
	return ((struct walk *)iw)->ranks++;
}

void
cg_fhir_inv_resource_begin(struct cg_fhir_inv_walk *iw, const cJSON *r, int contained,
                           struct cg_fhir_inv_outer *outer)
{
	struct walk *w = (struct walk *)iw;

	outer->resource = w->resource;
	outer->root = w->root;
	outer->rank = w->ranks++;
	w->resource = r;
	if (!contained || !w->root)
		w->root = r;
}

void
cg_fhir_inv_resource_end(struct cg_fhir_inv_walk *iw, const cJSON *r, const struct cg_fhir_type *t,
                         const struct cg_fhir_inv_outer *outer)
{
	struct walk *w = (struct walk *)iw;

	w->rank = outer->rank;
	apply_type(w, slot_find(w->v, t->name), r, NULL, t->ctx);
	w->resource = outer->resource;
	w->root = outer->root;
}

void
cg_fhir_inv_value(struct cg_fhir_inv_walk *iw, const cJSON *val, const struct cg_fhir_element *el,
                  const struct cg_fhir_type *t, size_t rank)
{
	struct walk *w = (struct walk *)iw;

	w->rank = rank;
	element(w, val);
	if (el->ref || (t && t->inline_ctx)) {
		/* a backbone element, typed by its path */
		apply(w, el->path, val, el->ctx ? el->ctx->path : el->path, el->ctx);
	} else if (t && t->kind == CG_FHIR_COMPLEX) {
		apply(w, el->path, val, t->name, t->ctx);
		if (w->v->ext1 && t == w->extension)
			eval(w, w->v->ext1, val, t->name, t->ctx);
		apply_type(w, cached_slot(w, t->name), val, t->name, t->ctx);
		/* the profile R4 gives the type here (SimpleQuantity: sqty-1),
		 * its own invariants: its base's are the type's, just done */
		if (el->profile && el->profiled == t)
			apply(w, el->profile->name, val, t->name, t->ctx);
	}
}

void
cg_fhir_inv_partner(struct cg_fhir_inv_walk *iw, const cJSON *p, size_t rank)
{
	((struct walk *)iw)->rank = rank;
	element((struct walk *)iw, p);
}
