/* fhir_invariants.c: the R4 invariants evaluated; see fhir_invariants.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "fhir_invariants.h"
#include "fhirpath.h"
#include "fileio.h"
#include "json_member.h"

struct inv {
	char *type;  /* the type whose definition adds it */
	char *where; /* "Type" or "Type.path.to.element" */
	char *key, *human;
	int warning;
	struct cg_fp_program *prog; /* NULL: did not compile */
};

struct cg_fhir_invariants {
	cJSON *doc;
	struct inv *v;
	size_t n, compiled;
};

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
	}
	free(v->v);
	cJSON_Delete(v->doc);
	free(v);
}

enum cg_err
cg_fhir_invariants_load(const char *dir, struct cg_fhir_invariants **out, char **why)
{
	struct cg_fhir_invariants *v = calloc(1, sizeof(*v));
	char path[4096], *text = NULL;
	const cJSON *types, *t, *c;
	size_t len, cap = 0;

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
	if (!cJSON_IsObject(types)) {
		cg_fhir_invariants_free(v);
		*why = message("not an invariants file: ", path);
		return CG_EINVAL;
	}
	cJSON_ArrayForEach(t, types) cJSON_ArrayForEach(c, t) cap++;
	v->v = calloc(cap + 1, sizeof(*v->v));
	if (!v->v) {
		cg_fhir_invariants_free(v);
		return CG_ENOMEM;
	}
	cJSON_ArrayForEach(t, types){cJSON_ArrayForEach(c, t){struct inv *in = &v->v[v->n++];
	const char *p = cJSON_GetStringValue(cg_json_member(c, "path"));
	const char *sev = cJSON_GetStringValue(cg_json_member(c, "severity"));
	struct cg_fp_syntax err;

	in->type = dup(t->string);
	in->key = dup(cJSON_GetStringValue(cg_json_member(c, "key")));
	in->human = dup(cJSON_GetStringValue(cg_json_member(c, "human")));
	in->warning = sev && !strcmp(sev, "warning");
	if (p && *p) {
		in->where = malloc(strlen(t->string) + strlen(p) + 2);
		if (in->where)
			sprintf(in->where, "%s.%s", t->string, p);
	} else {
		in->where = dup(t->string);
	}
	if (!in->type || !in->key || !in->human || !in->where) {
		cg_fhir_invariants_free(v);
		return CG_ENOMEM;
	}
	/* ele-1 and ext-1 are on every element: the typed walk of
			 * primitives they need is to come */
	if (!strcmp(t->string, "Element") || !strcmp(t->string, "Extension"))
		continue;
	if (cg_fp_compile(cJSON_GetStringValue(cg_json_member(c, "expression")), &in->prog, &err) ==
	    CG_OK)
		v->compiled++;
}
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

struct walk {
	const struct cg_fhir_invariants *v;
	const struct cg_fhir_structure *s;
	struct cg_check *c;
	struct cg_arena *arena;
	size_t not_evaluated;
	int depth;
};

/* Every invariant that applies where, evaluated with node as %context. */
static void
apply(struct walk *w, const char *where, const cJSON *node, const cJSON *resource)
{
	size_t i;

	for (i = 0; i < w->v->n; i++) {
		const struct inv *in = &w->v->v[i];
		struct cg_fp_env env;
		struct cg_fp_coll out;

		if (!in->prog || strcmp(in->where, where) != 0)
			continue;
		memset(&env, 0, sizeof(env));
		env.arena = w->arena;
		env.structure = w->s;
		env.resource = resource;
		env.context = node;
		if (cg_fp_eval(in->prog, &env, &out) != CG_OK)
			w->not_evaluated++;
		else if (out.n == 1 && out.items[0].kind == CG_FP_BOOLEAN && !out.items[0].u.b)
			cg_check_issue(w->c,
			               in->warning ? CG_C_FHIR_INVARIANT_WARNING
			                           : CG_C_FHIR_INVARIANT,
			               node, NULL, 0, "%s: %s", in->key, in->human);
		cg_arena_reset(w->arena);
	}
}

/* A type's own invariants and its bases' (up to Element and Resource,
 * whose are not evaluated here). */
static void
apply_type(struct walk *w, const char *type, const cJSON *node, const cJSON *resource)
{
	const cJSON *bases = cg_json_member(w->v->doc, "bases");
	int hops = 0;

	while (type && hops++ < 16) {
		apply(w, type, node, resource);
		type = cJSON_GetStringValue(cg_json_member(bases, type));
	}
}

static void walk_resource(struct walk *w, const cJSON *r);

static void
walk_node(struct walk *w, const cJSON *node, const struct cg_fhir_context *ctx,
          const cJSON *resource)
{
	const cJSON *m;
	size_t idx = 0;

	if (++w->depth > 64) {
		w->depth--;
		return;
	}
	cJSON_ArrayForEach(m, node)
	{
		const struct cg_fhir_type *t = NULL;
		const struct cg_fhir_element *el;
		const cJSON *val;
		size_t mark, i = 0;

		if (!m->string || m->string[0] == '_' || !strcmp(m->string, "resourceType"))
			continue;
		el = cg_fhir_child(ctx, m->string, &t, &idx);
		if (!el)
			continue;
		mark = cg_check_push_key(w->c, m->string);
		for (val = cJSON_IsArray(m) ? m->child : m; val;
		     val = cJSON_IsArray(m) ? val->next : NULL, i++) {
			size_t im = cJSON_IsArray(m) ? cg_check_push_index(w->c, i) : 0;

			if (!cJSON_IsObject(val)) {
				/* primitives: their invariants are Element's (to come) */
			} else if (cg_json_member(val, "resourceType")) {
				walk_resource(w, val);
			} else {
				apply(w, el->path, val, resource);
				if (t && t->kind == CG_FHIR_COMPLEX && !t->inline_ctx) {
					apply_type(w, t->name, val, resource);
					if (t->ctx)
						walk_node(w, val, t->ctx, resource);
				} else if (el->ctx) {
					walk_node(w, val, el->ctx, resource);
				}
			}
			if (cJSON_IsArray(m))
				cg_check_pop(w->c, im);
			if (!cJSON_IsArray(m))
				break;
		}
		cg_check_pop(w->c, mark);
	}
	w->depth--;
}

static void
walk_resource(struct walk *w, const cJSON *r)
{
	const char *rt = cJSON_GetStringValue(cg_json_member(r, "resourceType"));
	const struct cg_fhir_type *t = rt ? cg_fhir_type(w->s, rt) : NULL;

	if (!t || t->kind != CG_FHIR_RESOURCE || !t->ctx)
		return;
	apply_type(w, rt, r, r);
	walk_node(w, r, t->ctx, r);
}

enum cg_err
cg_fhir_invariants_check(const struct cg_fhir_invariants *v, const struct cg_fhir_structure *s,
                         const cJSON *root, struct cg_check *c, size_t *not_evaluated)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.v = v;
	w.s = s;
	w.c = c;
	w.arena = cg_arena_new(64 * 1024);
	if (!w.arena)
		return CG_ENOMEM;
	walk_resource(&w, root);
	cg_arena_free(w.arena);
	if (not_evaluated)
		*not_evaluated = w.not_evaluated;
	return c->err;
}
