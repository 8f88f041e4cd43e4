/*
 * fhir_structure.c: loading mappings/fhir-r4/structure.json into contexts
 * with hashed look-up; see fhir_structure.h.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "fhir_primitive.h"
#include "fhir_structure.h"
#include "fileio.h"
#include "json_scan.h"

#define MAX_FILE (64u * 1024 * 1024)

struct slot {
	const char *key;
	void *value;
};

struct map {
	struct slot *v;
	size_t cap; /* a power of two */
	size_t n;
};

struct cg_fhir_structure {
	cJSON *doc;             /* in arena: the tables point into it */
	struct cg_arena *arena; /* doc's nodes and strings */
	struct map types;       /* name -> struct cg_fhir_type */
	struct map contexts;    /* path -> struct cg_fhir_context */
	struct map valuesets;   /* url -> struct cg_fhir_valueset */
	struct cg_fhir_type *type_store;
	struct cg_fhir_context *ctx_store;
	size_t nctx;
	struct cg_fhir_element *el_store;
	size_t nel;
	struct cg_fhir_valueset *vs_store;
	char *strings; /* paths and names, one block */
	size_t resources;
};

/* FNV-1a over name[0, n). */
static uint64_t
hash_n(const char *name, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
	return h;
}

static uint64_t
hash(const char *s)
{
	return hash_n(s, strlen(s));
}

static int
map_init(struct map *m, size_t n)
{
	m->cap = 16;
	while (m->cap < n * 2)
		m->cap *= 2;
	m->n = 0;
	m->v = calloc(m->cap, sizeof(*m->v));
	return m->v ? 0 : -1;
}

static void
map_put(struct map *m, const char *key, void *value)
{
	size_t i = hash(key) & (m->cap - 1);

	while (m->v[i].key) {
		if (strcmp(m->v[i].key, key) == 0) {
			m->v[i].value = value;
			return;
		}
		i = (i + 1) & (m->cap - 1);
	}
	m->v[i].key = key;
	m->v[i].value = value;
	m->n++;
}

static void *
map_get(const struct map *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = hash(key) & (m->cap - 1); m->v[i].key; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->v[i].key, key) == 0)
			return m->v[i].value;
	return NULL;
}

void
cg_fhir_structure_free(struct cg_fhir_structure *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nctx; i++) {
		free(s->ctx_store[i].kids);
		free(s->ctx_store[i].by_name);
		free(s->ctx_store[i].choices);
		free(s->ctx_store[i].required);
	}
	for (i = 0; i < s->nel; i++)
		free((void *)(uintptr_t)s->el_store[i].types);
	free(s->types.v);
	free(s->contexts.v);
	free(s->valuesets.v);
	free(s->type_store);
	free(s->ctx_store);
	free(s->el_store);
	free(s->vs_store);
	free(s->strings);
	cg_arena_free(s->arena);
	free(s);
}

/* Strings made by the loader (full paths, bare names) live in one block. */
struct strings {
	char *p;
	size_t used, cap;
};

static const char *
keep(struct strings *st, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
	char *out;

	if (st->used + la + lb + lc + 1 > st->cap)
		return NULL;
	out = st->p + st->used;
	memcpy(out, a, la);
	if (b)
		memcpy(out + la, b, lb);
	if (c)
		memcpy(out + la + lb, c, lc);
	out[la + lb + lc] = '\0';
	st->used += la + lb + lc + 1;
	return out;
}

/* src[0, n) into dst of cap bytes, cut as snprintf would cut it (this runs
 * for each of the 7,500 elements at every start). */
static void
copy_cut(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct cg_fhir_context *
context_for(struct cg_fhir_structure *s, const char *path)
{
	struct cg_fhir_context *c = map_get(&s->contexts, path);

	if (!c) {
		c = &s->ctx_store[s->nctx++];
		c->path = path;
		map_put(&s->contexts, path, c);
	}
	return c;
}

/* cg_fhir_child's index of c (see struct cg_fhir_context). */
static int
index_kids(struct cg_fhir_context *c)
{
	size_t cap = 8, i;

	while (cap < c->nkids * 2)
		cap *= 2;
	c->by_name = calloc(cap, sizeof(*c->by_name));
	c->choices = calloc(c->nkids ? c->nkids : 1, sizeof(*c->choices));
	c->required = calloc(c->nkids ? c->nkids : 1, sizeof(*c->required));
	if (!c->by_name || !c->choices || !c->required)
		return -1;
	c->name_mask = cap - 1;
	for (i = 0; i < c->nkids; i++) {
		const struct cg_fhir_element *el = c->kids[i];
		size_t k;

		if (el->min > 0)
			c->required[c->nrequired++] = (unsigned)i;
		if (el->choice) {
			c->choices[c->nchoices++] = (unsigned)i;
			continue;
		}
		for (k = hash_n(el->name, el->name_len) & c->name_mask; c->by_name[k];
		     k = (k + 1) & c->name_mask)
			;
		c->by_name[k] = (unsigned)i + 1;
	}
	return 0;
}

/* An element's "profiles" ({"Quantity": "SimpleQuantity"}: the core
 * profile of one of its types) onto el->profile and el->profiled, its types
 * resolved already. R4 profiles one type of an element at most; a table that
 * profiles more, a type the element does not have or a profile it does not
 * define is refused (*why set), not half read. */
static int
profiles(struct cg_fhir_structure *s, struct cg_fhir_element *el, const cJSON *p, char **why)
{
	const cJSON *m;
	size_t k;

	if (!p)
		return 0;
	m = p->child;
	if (cJSON_IsObject(p) && m && !m->next && cJSON_IsString(m)) {
		for (k = 0; k < el->ntypes; k++)
			if (el->types[k] && !strcmp(el->types[k], m->string))
				el->profiled = el->tptr[k];
		el->profile = map_get(&s->types, m->valuestring);
	}
	if (el->profile && el->profiled)
		return 0;
	{
		struct cg_buf b;

		cg_buf_init(&b, CG_BUF_MAX_MESSAGE);
		if (cg_buf_printf(&b,
		                  "structure.json: %.200s: profiles must name one of its types "
		                  "and a type of the table (regenerate it, see docs/fhir.md)",
		                  el->path) == CG_OK)
			*why = cg_buf_take(&b);
	}
	return -1;
}

static enum cg_err
build(struct cg_fhir_structure *s, char **why)
{
	const cJSON *types = cJSON_GetObjectItemCaseSensitive(s->doc, "types");
	const cJSON *vsets = cJSON_GetObjectItemCaseSensitive(s->doc, "valueSets");
	const cJSON *t, *e, *vs;
	struct strings st;
	size_t ntypes = 0, nel = 0, nvs = 0, bytes = 0, i;

	if (!cJSON_IsObject(types) || !cJSON_IsObject(vsets)) {
		*why = strdup("structure.json: no types or valueSets");
		return CG_EMAPPINGS;
	}
	cJSON_ArrayForEach(t, types)
	{
		ntypes++;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t, "elements"))
		{
			nel++;
			bytes += 2 * (strlen(t->string) + strlen(e->string) + 3);
		}
	}
	cJSON_ArrayForEach(vs, vsets) nvs++;
	s->type_store = calloc(ntypes, sizeof(*s->type_store));
	s->ctx_store = calloc(ntypes + nel, sizeof(*s->ctx_store));
	s->el_store = calloc(nel ? nel : 1, sizeof(*s->el_store));
	s->vs_store = calloc(nvs ? nvs : 1, sizeof(*s->vs_store));
	st.p = s->strings = malloc(bytes + 1);
	st.used = 0;
	st.cap = bytes + 1;
	if (!s->type_store || !s->ctx_store || !s->el_store || !s->vs_store || !st.p ||
	    map_init(&s->types, ntypes) || map_init(&s->contexts, ntypes + nel) ||
	    map_init(&s->valuesets, nvs))
		return CG_ENOMEM;
	i = 0;
	cJSON_ArrayForEach(vs, vsets)
	{
		s->vs_store[i].url = vs->string;
		s->vs_store[i].codes = vs;
		map_put(&s->valuesets, vs->string, &s->vs_store[i]);
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(t, types)
	{
		struct cg_fhir_type *ty = &s->type_store[i++];
		const char *kind =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "kind"));

		ty->name = t->string;
		if (strlen(ty->name) >= CG_FHIR_TYPE_NAME_MAX) {
			struct cg_buf b;

			cg_buf_init(&b, CG_BUF_MAX_MESSAGE);
			/* Without memory for the message, *why stays NULL: the
			 * caller says what the code says. */
			if (cg_buf_printf(&b,
			                  "structure.json: type name %.80s... is longer than %d "
			                  "characters (raise CG_FHIR_TYPE_NAME_MAX)",
			                  ty->name, CG_FHIR_TYPE_NAME_MAX - 1) == CG_OK)
				*why = cg_buf_take(&b);
			return CG_EMAPPINGS;
		}
		ty->kind = !kind || !strcmp(kind, "resource") ? CG_FHIR_RESOURCE
		           : !strcmp(kind, "primitive-type")  ? CG_FHIR_PRIMITIVE
		                                              : CG_FHIR_COMPLEX;
		ty->abstract = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "abstract"));
		ty->base = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "base"));
		ty->prim = ty->kind == CG_FHIR_PRIMITIVE ? (int)cg_fhir_prim_of(ty->name) : 0;
		ty->any_resource =
		        !strcmp(ty->name, "Resource") || !strcmp(ty->name, "DomainResource");
		ty->inline_ctx =
		        !strcmp(ty->name, "BackboneElement") || !strcmp(ty->name, "Element");
		if (ty->kind == CG_FHIR_RESOURCE && !ty->abstract)
			s->resources++;
		map_put(&s->types, ty->name, ty);
		if (ty->kind != CG_FHIR_PRIMITIVE)
			ty->ctx = context_for(s, ty->name);
	}
	/* Elements: each is a kid of the context its path minus the last part. */
	cJSON_ArrayForEach(t, types)
	{
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t, "elements"))
		{
			struct cg_fhir_element *el = &s->el_store[s->nel++];
			const char *rel = e->string, *dot = strrchr(rel, '.');
			const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type");
			const cJSON *max = cJSON_GetObjectItemCaseSensitive(e, "max");
			const char *bind = cJSON_GetStringValue(
			        cJSON_GetObjectItemCaseSensitive(e, "binding"));
			const char *ref =
			        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "ref"));
			const char *parent;
			struct cg_fhir_context *c;
			size_t n, k;
			char name[256];

			el->path = keep(&st, t->string, ".", rel);
			if (dot) {
				char pre[512];

				copy_cut(pre, sizeof(pre), rel, (size_t)(dot - rel));
				parent = keep(&st, t->string, ".", pre);
			} else {
				parent = t->string;
			}
			copy_cut(name, sizeof(name), dot ? dot + 1 : rel,
			         strlen(dot ? dot + 1 : rel));
			n = strlen(name);
			if (n > 3 && strcmp(name + n - 3, "[x]") == 0) {
				el->choice = 1;
				name[n - 3] = '\0';
			}
			el->name = keep(&st, name, NULL, NULL);
			el->name_len = strlen(name);
			if (!el->path || !parent || !el->name)
				return CG_ENOMEM;
			el->min = (int)cJSON_GetNumberValue(
			        cJSON_GetObjectItemCaseSensitive(e, "min"));
			el->max = cJSON_IsString(max) && strcmp(max->valuestring, "*") != 0
			                  ? atoi(max->valuestring)
			                  : -1;
			el->ref = ref;
			el->binding = bind ? map_get(&s->valuesets, bind) : NULL;
			el->targets = cJSON_GetObjectItemCaseSensitive(e, "targets");
			el->ntypes = (size_t)cJSON_GetArraySize(ty);
			if (el->ntypes) {
				/* Names and resolved types in one block, freed as types. */
				const char **v = calloc(el->ntypes, sizeof(*v) + sizeof(void *));
				const struct cg_fhir_type **tp;

				if (!v)
					return CG_ENOMEM;
				tp = (const struct cg_fhir_type **)(v + el->ntypes);
				for (k = 0; k < el->ntypes; k++) {
					v[k] = cJSON_GetStringValue(cJSON_GetArrayItem(ty, (int)k));
					tp[k] = v[k] ? map_get(&s->types, v[k]) : NULL;
				}
				el->types = v;
				el->tptr = tp;
			}
			if (profiles(s, el, cJSON_GetObjectItemCaseSensitive(e, "profiles"), why))
				return CG_EMAPPINGS;
			c = context_for(s, parent);
			{
				struct cg_fhir_element **kids =
				        realloc(c->kids, (c->nkids + 1) * sizeof(*kids));

				if (!kids)
					return CG_ENOMEM;
				kids[c->nkids++] = el;
				c->kids = kids;
			}
		}
	}
	/* Each element's own context (a backbone element's children, or where a
	 * contentReference points), found once rather than for every value. */
	for (i = 0; i < s->nel; i++) {
		struct cg_fhir_element *el = &s->el_store[i];

		el->ctx = map_get(&s->contexts, el->ref ? el->ref : el->path);
	}
	for (i = 0; i < s->nctx; i++)
		if (index_kids(&s->ctx_store[i]))
			return CG_ENOMEM;
	return CG_OK;
}

enum cg_err
cg_fhir_structure_load(const char *path, struct cg_fhir_structure **out, char **why)
{
	struct cg_fhir_structure *s;
	char *text = NULL;
	size_t len;
	enum cg_err result;

	*out = NULL;
	*why = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return CG_ENOMEM;
	result = cg_file_read(path, MAX_FILE, &text, &len);
	if (result) {
		struct cg_buf b;

		cg_buf_init(&b, CG_BUF_MAX_MESSAGE);
		if (cg_buf_printf(&b, "%s: cannot read (%s)", path, cg_strerror(result)) == CG_OK)
			*why = cg_buf_take(&b); /* else NULL, as above */
		free(s);
		return CG_EMAPPINGS;
	}
	/* Parsed into an arena of its own, a node after the other, freed at
	 * once: cJSON's parser made a malloc per node and string (111,000 of
	 * them, half of every command's start) and cJSON_Delete a free each. */
	s->arena = cg_arena_new(len * 2);
	if (!s->arena) {
		free(text);
		free(s);
		return CG_ENOMEM;
	}
	{
		struct cg_json_limits lim;
		struct cg_json_fault f;
		size_t pos = 0;
		int r;

		cg_json_limits_default(&lim);
		lim.max_record = MAX_FILE;
		r = cg_json_parse(text, len, &pos, &lim, s->arena, &s->doc, &f);
		if (r == 0 && cg_json_skip_ws(text, len, pos) != len)
			r = -1;
		free(text);
		if (r) {
			*why = strdup(
			        r == -2 ? "structure.json: out of memory"
			                : "structure.json: not valid JSON (regenerate it, see "
			                  "docs/fhir.md)");
			cg_arena_free(s->arena);
			free(s);
			return r == -2 ? CG_ENOMEM : CG_EMAPPINGS;
		}
	}
	result = build(s, why);
	if (result) {
		if (!*why)
			*why = strdup(cg_strerror(result));
		cg_fhir_structure_free(s);
		return result == CG_ENOMEM ? CG_ENOMEM : CG_EMAPPINGS;
	}
	*out = s;
	return CG_OK;
}

const struct cg_fhir_type *
cg_fhir_type(const struct cg_fhir_structure *s, const char *name)
{
	return map_get(&s->types, name);
}

const struct cg_fhir_context *
cg_fhir_context(const struct cg_fhir_structure *s, const char *path)
{
	return map_get(&s->contexts, path);
}

/* Whether member names choice element el ("valueQuantity", el value[x]
 * having the type Quantity): *type is then that type. */
static int
choice_types(const struct cg_fhir_element *el, const char *member, const struct cg_fhir_type **type)
{
	const char *rest = member + el->name_len;
	size_t k;

	if (rest[0] < 'A' || rest[0] > 'Z')
		return 0;
	for (k = 0; k < el->ntypes; k++) {
		const char *t = el->types[k];

		/* t[0] capitalised (type codes are ASCII letters) */
		if ((t[0] & ~0x20) == rest[0] && strcmp(t + 1, rest + 1) == 0) {
			*type = el->tptr[k];
			return 1;
		}
	}
	return 0;
}

/* Whether name begins with el[0, n) (el has n characters, name[0] is
 * el[0]): strncmp without the call, stopping at name's end. */
static inline int
same_start(const char *name, const char *el, size_t n)
{
	size_t j;

	for (j = 1; j < n; j++)
		if (name[j] != el[j])
			return 0;
	return 1;
}

/* How many elements from the hint cg_fhir_child tries before hashing: a
 * resource's members follow its definition's order with a few absent
 * between them. */
#define NEAR 8

const struct cg_fhir_element *
cg_fhir_child(const struct cg_fhir_context *ctx, const char *name, const struct cg_fhir_type **type,
              size_t *index)
{
	const struct cg_fhir_element *el;
	size_t len, i, j, k;

	*type = NULL;
	/* At most one element can match a name, so the order in which they
	 * are tried changes nothing else. First the elements just after the
	 * previous member's (a validation's walk gives that hint)... */
	for (i = *index; i < ctx->nkids && i < *index + NEAR; i++) {
		el = ctx->kids[i];
		if (name[0] != el->name[0] || !same_start(name, el->name, el->name_len))
			continue;
		if (!el->choice ? name[el->name_len] == '\0' : choice_types(el, name, type)) {
			if (!el->choice)
				*type = el->ntypes == 1 ? el->tptr[0] : NULL;
			*index = i;
			return el;
		}
	}
	/* ...then a plain element by its whole name... */
	len = strlen(name);
	for (k = hash_n(name, len) & ctx->name_mask; ctx->by_name && ctx->by_name[k];
	     k = (k + 1) & ctx->name_mask) {
		el = ctx->kids[ctx->by_name[k] - 1];
		if (el->name_len == len && memcmp(el->name, name, len) == 0) {
			*index = ctx->by_name[k] - 1;
			*type = el->ntypes == 1 ? el->tptr[0] : NULL;
			return el;
		}
	}
	/* ...then valueQuantity: a choice's name, one of its types capitalised. */
	for (j = 0; j < ctx->nchoices; j++) {
		el = ctx->kids[ctx->choices[j]];
		if (len > el->name_len && memcmp(name, el->name, el->name_len) == 0 &&
		    choice_types(el, name, type)) {
			*index = ctx->choices[j];
			return el;
		}
	}
	return NULL;
}

const struct cg_fhir_element *
cg_fhir_choice(const struct cg_fhir_context *ctx, const char *choice, size_t len,
               const char *member, const struct cg_fhir_type **type)
{
	size_t j;

	*type = NULL;
	for (j = 0; j < ctx->nchoices; j++) {
		const struct cg_fhir_element *el = ctx->kids[ctx->choices[j]];

		if (el->name_len == len && memcmp(el->name, choice, len) == 0)
			return strncmp(member, choice, len) == 0 && choice_types(el, member, type)
			               ? el
			               : NULL;
	}
	return NULL;
}

bool
cg_fhir_valueset_has(const struct cg_fhir_valueset *vs, const char *system, const char *code)
{
	const cJSON *sys, *c;

	cJSON_ArrayForEach(sys, vs->codes)
	{
		if (system && strcmp(sys->string, system) != 0)
			continue;
		cJSON_ArrayForEach(c, sys) if (strcmp(c->valuestring, code) == 0) return 1;
	}
	return 0;
}

size_t
cg_fhir_resource_count(const struct cg_fhir_structure *s)
{
	return s->resources;
}
