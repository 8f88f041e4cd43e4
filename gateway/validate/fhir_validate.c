/*
 * fhir_validate.c: FHIR R4 structure, element by element.
 *
 * Every JSON member is resolved against the element definitions of its
 * context (a type, or a backbone element): unknown elements, repeated ones,
 * two variants of one choice, arrays where one value belongs and the
 * reverse, empty objects and arrays, missing required elements. Values are
 * checked by type: primitives by their JSON form, complex types and backbone
 * elements by recursion, resources by their resourceType. On top: required
 * bindings, the form and target of references and the Bundle rules. The
 * FHIRPath invariants (obs-6, dom-2...) are fhir_invariants.c's: none is
 * written in C here.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "fhir_attachment.h"
#include "fhir_bundle_rules.h"
#include "fhir_invariants.h"
#include "fhir_narrative.h"
#include "fhir_primitive.h"
#include "fhir_validate.h"
#include "json_type.h"

struct fv {
	struct cg_check c;
	const struct cg_fhir_structure *s;
	struct cg_fhir_bundle *bundle; /* the innermost Bundle being walked, or NULL */
	struct cg_fhir_inv_walk *inv;  /* the invariants, evaluated on the way; or NULL */
	/* the types with rules of their own, found once (types are unique by
	 * name: a pointer comparison tells them) */
	const struct cg_fhir_type *reference, *coding, *concept, *attachment, *uri, *url;
};

static void check_resource(struct fv *v, const cJSON *obj, const char *member, int contained);
static void check_object(struct fv *v, const cJSON *obj, const struct cg_fhir_context *ctx,
                         int resource);

/* ---- references ------------------------------------------------------- */

static int
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
target_allowed(const cJSON *targets, const char *type)
{
	const cJSON *t;

	if (!targets)
		return 1;
	cJSON_ArrayForEach(t, targets) if (!strcmp(t->valuestring, type) ||
	                                   !strcmp(t->valuestring, "Resource")) return 1;
	return 0;
}

/* Reference.reference: "#id", "Type/id[/_history/v]", an absolute URL, or a
 * urn:uuid / urn:oid that (inside a Bundle) must name an entry. */
static void
check_reference(struct fv *v, const cJSON *ref, const cJSON *targets, const char *path)
{
	const cJSON *r = cg_json_member(ref, "reference");
	const char *s = cJSON_GetStringValue(r), *slash;
	char type[80];
	size_t n;

	if (!s || s[0] == '#')
		return;
	if (v->bundle)
		cg_fhir_bundle_reference(v->bundle, &v->c, r, path);
	if (!strncmp(s, "urn:uuid:", 9) || !strncmp(s, "urn:oid:", 8))
		return;
	if (strstr(s, "://")) {
		/* Absolute: its type is the second-to-last or fourth-to-last part. */
		return;
	}
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : 0;
	if (!slash || n == 0 || n >= sizeof(type) || !is_upper(s[0]) || !slash[1]) {
		cg_check_issue(
		        &v->c, CG_C_FHIR_REFERENCE, r, "reference", 0,
		        "not a reference: use Type/id, an absolute URL, urn:uuid: or #id (%s)",
		        path);
		return;
	}
	memcpy(type, s, n);
	type[n] = '\0';
	{
		const struct cg_fhir_type *t = cg_fhir_type(v->s, type);

		if (!t || t->kind != CG_FHIR_RESOURCE || t->abstract)
			cg_check_issue(&v->c, CG_C_FHIR_REFERENCE, r, "reference", 0,
			               "'%s' is not a resource type (%s)", type, path);
		else if (!target_allowed(targets, type))
			cg_check_issue(&v->c, CG_C_FHIR_REFERENCE, r, "reference", 0,
			               "a %s may not be referenced here (%s)", type, path);
	}
}

/* ---- required bindings on Coding and CodeableConcept -------------------- */

static void
check_coding_binding(struct fv *v, const cJSON *coding, const struct cg_fhir_valueset *vs,
                     const char *path)
{
	const char *sys = cJSON_GetStringValue(cg_json_member(coding, "system"));
	const cJSON *code = cg_json_member(coding, "code");

	if (cg_json_is_string(code) && !cg_fhir_valueset_has(vs, sys, code->valuestring))
		cg_check_issue(&v->c, CG_C_FHIR_BINDING, code, "code", 0,
		               "'%s' is not in the required value set %s (%s)", code->valuestring,
		               vs->url, path);
}

static void
check_concept_binding(struct fv *v, const cJSON *cc, const struct cg_fhir_valueset *vs,
                      const char *path)
{
	const cJSON *codings = cg_json_member(cc, "coding"), *c;
	size_t i = 0, mark;

	if (!cg_json_is_array(codings))
		return; /* text only: nothing to check */
	mark = cg_check_push_key(&v->c, "coding");
	cJSON_ArrayForEach(c, codings)
	{
		size_t im = cg_check_push_index(&v->c, i++);

		check_coding_binding(v, c, vs, path);
		cg_check_pop(&v->c, im);
	}
	cg_check_pop(&v->c, mark);
}

/* ---- values ----------------------------------------------------------- */

/* The value of element el, of type `type`, at the current path. */
/* The value of element el, of type t, at the current path. */
static void
check_value(struct fv *v, const cJSON *val, const struct cg_fhir_element *el,
            const struct cg_fhir_type *t)
{
	size_t rank;

	if (el->ref || (t && t->inline_ctx)) {
		/* contentReference, or a backbone element: the element itself
		 * defines what is inside. */
		rank = v->inv ? cg_fhir_inv_enter(v->inv) : 0;
		if (el->ctx)
			check_object(v, val, el->ctx, 0);
		if (v->inv && cg_json_is_object(val))
			cg_fhir_inv_value(v->inv, val, el, t, rank);
		return;
	}
	if (!t)
		return; /* a type the tables do not define: nothing to check against */
	if (t->any_resource || t->kind == CG_FHIR_RESOURCE) {
		check_resource(v, val, NULL, !strcmp(el->name, "contained"));
		return;
	}
	if (t->kind == CG_FHIR_PRIMITIVE) {
		enum cg_code code;
		const char *why;

		if (cg_fhir_primitive_check((enum cg_fhir_prim)t->prim, val, &code, &why)) {
			cg_check_issue(&v->c, code, val, NULL, 0, "%s (%s, type %s)", why, el->path,
			               t->name);
			return;
		}
		if (el->binding && cg_json_is_string(val) &&
		    !cg_fhir_valueset_has(el->binding, NULL, val->valuestring))
			cg_check_issue(&v->c, CG_C_FHIR_BINDING, val, NULL, 0,
			               "'%s' is not in the required value set %s (%s)",
			               val->valuestring, el->binding->url, el->path);
		if (t->prim == CG_PRIM_XHTML)
			cg_fhir_narrative_check(&v->c, val, el->path);
		else if (v->bundle && (t == v->uri || t == v->url))
			cg_fhir_bundle_uri(v->bundle, val, el->name, el->path);
		return;
	}
	rank = v->inv ? cg_fhir_inv_enter(v->inv) : 0;
	check_object(v, val, t->ctx, 0);
	if (!cg_json_is_object(val))
		return;
	if (t == v->reference)
		check_reference(v, val, el->targets, el->path);
	else if (el->binding && t == v->coding)
		check_coding_binding(v, val, el->binding, el->path);
	else if (el->binding && t == v->concept)
		check_concept_binding(v, val, el->binding, el->path);
	else if (t == v->attachment)
		cg_fhir_attachment_check(&v->c, val, el->path);
	if (v->inv)
		cg_fhir_inv_value(v->inv, val, el, t, rank);
}

/* One object of a _name partner: an Element; value is the primitive's value
 * it goes with (NULL when none): ele-1 is evaluated where there is none. */
static void
check_partner_object(struct fv *v, const cJSON *p, const struct cg_fhir_context *ctx,
                     const cJSON *value)
{
	size_t rank = v->inv ? cg_fhir_inv_enter(v->inv) : 0;

	check_object(v, p, ctx, 0);
	if (v->inv && cg_json_is_object(p) && (!value || cg_json_is_null(value)))
		cg_fhir_inv_partner(v->inv, p, rank);
}

/* The _name partner of a primitive: an Element (id, extension), or an array
 * of them (null where the value array has no extension). value is the
 * primitive's member, or NULL. */
static void
check_primitive_extension(struct fv *v, const cJSON *m, const struct cg_fhir_element *el,
                          const cJSON *value)
{
	const struct cg_fhir_context *ctx = cg_fhir_context(v->s, "Element");
	const cJSON *it, *val = cg_json_is_array(value) ? value->child : value;
	size_t i = 0;

	if (!ctx)
		return;
	if (el->max != 1) {
		if (!cg_json_is_array(m)) {
			cg_check_issue(&v->c, CG_C_FHIR_CARDINALITY, m, NULL, 0,
			               "must be an array, as %s repeats", el->path);
			return;
		}
		cJSON_ArrayForEach(it, m)
		{
			size_t im = cg_check_push_index(&v->c, i++);

			if (!cg_json_is_null(it))
				check_partner_object(v, it, ctx, val);
			cg_check_pop(&v->c, im);
			/* the values go with the partners by place */
			val = val && cg_json_is_array(value) ? val->next : NULL;
		}
		return;
	}
	check_partner_object(v, m, ctx, val);
}

static int
is_primitive(const struct cg_fhir_type *t)
{
	return t && t->kind == CG_FHIR_PRIMITIVE;
}

/* One member of an object: its cardinality and its value(s). */
static void
check_member(struct fv *v, const cJSON *m, const struct cg_fhir_element *el,
             const struct cg_fhir_type *type)
{
	const cJSON *it;
	size_t i = 0, n = 0;

	if (el->max == 1 || el->max == 0) {
		if (cg_json_is_array(m)) {
			cg_check_issue(&v->c, CG_C_FHIR_CARDINALITY, m, NULL, 0,
			               "must be a single value, not an array (%s has at most one)",
			               el->path);
			return;
		}
		check_value(v, m, el, type);
		return;
	}
	if (!cg_json_is_array(m)) {
		cg_check_issue(&v->c, CG_C_FHIR_CARDINALITY, m, NULL, 0,
		               "must be an array, as %s repeats (even for one value)", el->path);
		return;
	}
	if (!m->child) {
		cg_check_issue(&v->c, CG_C_EMPTY, m, NULL, 0,
		               "must not be an empty array (leave the element out)");
		return;
	}
	cJSON_ArrayForEach(it, m)
	{
		size_t im = cg_check_push_index(&v->c, i++);

		if (cg_json_is_null(it))
			cg_check_issue(&v->c, CG_C_TYPE, it, NULL, 0,
			               "null is only allowed in an array with a _%s partner",
			               el->name);
		else
			check_value(v, it, el, type);
		cg_check_pop(&v->c, im);
		n++;
	}
	if (el->max > 0 && n > (size_t)el->max)
		cg_check_issue(&v->c, CG_C_FHIR_CARDINALITY, m, NULL, 0,
		               "%zu values, but %s allows at most %d", n, el->path, el->max);
}

/* ---- objects ---------------------------------------------------------- */

static void
check_object(struct fv *v, const cJSON *obj, const struct cg_fhir_context *ctx, int resource)
{
	const cJSON *seen_stack[64];
	const cJSON **seen = seen_stack;
	const cJSON *m;
	size_t i, hint = 0;

	if (!cg_json_is_object(obj)) {
		cg_check_issue(&v->c, CG_C_TYPE, obj, NULL, 0, "must be an object, not %s (%s)",
		               cg_json_type_name(obj), ctx->path);
		return;
	}
	if (!obj->child) {
		cg_check_issue(&v->c, CG_C_EMPTY, obj, NULL, 0,
		               "an empty object is not allowed in FHIR (%s)", ctx->path);
		return;
	}
	if (ctx->nkids > 64) {
		seen = calloc(ctx->nkids, sizeof(*seen));
		if (!seen) {
			v->c.err = CG_ENOMEM;
			return;
		}
	} else {
		memset(seen_stack, 0, ctx->nkids * sizeof(seen_stack[0]));
	}
	for (m = obj->child; m; m = m->next) {
		const char *name = m->string;
		const struct cg_fhir_type *type = NULL;
		const struct cg_fhir_element *el;
		size_t k = hint, mark;

		if (resource && !strcmp(name, "resourceType"))
			continue;
		el = cg_fhir_child(ctx, name[0] == '_' ? name + 1 : name, &type, &k);
		if (el)
			hint = k + 1;
		if (!el || (name[0] == '_' && !is_primitive(type))) {
			cg_check_issue(&v->c, CG_C_UNKNOWN_FIELD, m, name, 1,
			               "unknown element '%s' in %s", name, ctx->path);
			continue;
		}
		mark = cg_check_push_key(&v->c, name);
		if (name[0] == '_') {
			check_primitive_extension(v, m, el,
			                          v->inv ? cg_json_member(obj, name + 1) : NULL);
			if (!seen[k])
				seen[k] = m; /* present through its extension */
			cg_check_pop(&v->c, mark);
			continue;
		}
		if (seen[k] && seen[k]->string[0] != '_') {
			if (strcmp(seen[k]->string, name) == 0)
				cg_check_issue(&v->c, CG_C_JSON_DUPLICATE_KEY, m, NULL, 1,
				               "element '%s' appears more than once", name);
			else
				cg_check_issue(&v->c, CG_C_FHIR_CHOICE, m, NULL, 1,
				               "%s takes one type only: '%s' and '%s' both given",
				               el->path, seen[k]->string, name);
			cg_check_pop(&v->c, mark);
			continue;
		}
		seen[k] = m;
		check_member(v, m, el, type);
		cg_check_pop(&v->c, mark);
	}
	for (i = 0; i < ctx->nrequired; i++) {
		const struct cg_fhir_element *req = ctx->kids[ctx->required[i]];

		if (!seen[ctx->required[i]])
			cg_check_issue(&v->c, CG_C_REQUIRED, obj, req->choice ? NULL : req->name, 0,
			               "missing required element %s", req->path);
	}
	if (seen != seen_stack)
		free(seen);
}

/* ---- resources -------------------------------------------------------- */

static int
absolute_uri(const char *s)
{
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':' && p[1];
}

/* bdl-7 allows one fullUrl twice for different versions of the resource. */
static int
distinct_versions(const cJSON *a, const cJSON *b)
{
	const char *va = cJSON_GetStringValue(
	        cg_json_member(cg_json_member(cg_json_member(a, "resource"), "meta"), "versionId"));
	const char *vb = cJSON_GetStringValue(
	        cg_json_member(cg_json_member(cg_json_member(b, "resource"), "meta"), "versionId"));

	return va && vb && strcmp(va, vb) != 0;
}

/* bdl-1 to bdl-4 and bdl-7; fullUrl absolute. */
static void
bundle_rules(struct fv *v, const cJSON *bundle)
{
	const char *type = cJSON_GetStringValue(cg_json_member(bundle, "type"));
	const cJSON *entries = cg_json_member(bundle, "entry"), *e, *prev;
	int needs_request, response_ok, search_ok, total_ok;
	size_t i = 0, mark;

	if (!type || !cg_json_is_array(entries))
		return;
	needs_request =
	        !strcmp(type, "transaction") || !strcmp(type, "batch") || !strcmp(type, "history");
	response_ok = !strcmp(type, "transaction-response") || !strcmp(type, "batch-response") ||
	              !strcmp(type, "history");
	search_ok = !strcmp(type, "searchset");
	total_ok = search_ok || !strcmp(type, "history");
	if (cg_json_member(bundle, "total") && !total_ok)
		cg_check_issue(&v->c, CG_C_FHIR_BUNDLE, cg_json_member(bundle, "total"), "total", 0,
		               "bdl-1: total only in a searchset or history Bundle");
	mark = cg_check_push_key(&v->c, "entry");
	cJSON_ArrayForEach(e, entries)
	{
		size_t im = cg_check_push_index(&v->c, i++);
		const cJSON *full = cg_json_member(e, "fullUrl");
		const char *url = cJSON_GetStringValue(full);

		if (cg_json_member(e, "search") && !search_ok)
			cg_check_issue(&v->c, CG_C_FHIR_BUNDLE, e, "search", 0,
			               "bdl-2: entry.search only in a searchset Bundle");
		if (needs_request && !cg_json_member(e, "request"))
			cg_check_issue(&v->c, CG_C_FHIR_BUNDLE, e, "request", 0,
			               "bdl-3: every entry of a %s Bundle needs a request", type);
		if (cg_json_member(e, "response") && !response_ok)
			cg_check_issue(
			        &v->c, CG_C_FHIR_BUNDLE, e, "response", 0,
			        "bdl-4: entry.response only in a response or history Bundle");
		if (url && !absolute_uri(url))
			cg_check_issue(
			        &v->c, CG_C_FHIR_BUNDLE, full, "fullUrl", 0,
			        "fullUrl must be an absolute URI (urn:uuid:..., https://...)");
		for (prev = entries->child; url && prev != e; prev = prev->next) {
			const char *pu = cJSON_GetStringValue(cg_json_member(prev, "fullUrl"));

			if (pu && !strcmp(pu, url) && strcmp(type, "history") != 0 &&
			    !distinct_versions(prev, e)) {
				cg_check_issue(&v->c, CG_C_FHIR_BUNDLE, full, "fullUrl", 0,
				               "bdl-7: fullUrl is not unique in the Bundle");
				break;
			}
		}
		cg_check_pop(&v->c, im);
	}
	cg_check_pop(&v->c, mark);
	cg_fhir_bundle_rules(v->bundle, &v->c);
}

/* A resource: where member is given, obj is that member of the current
 * object; contained: obj is a contained resource. */
static void
check_resource(struct fv *v, const cJSON *obj, const char *member, int contained)
{
	struct cg_fhir_inv_outer inv_outer;
	const cJSON *rt = cg_json_member(obj, "resourceType");
	const struct cg_fhir_type *t;
	struct cg_fhir_bundle *outer = v->bundle, *bundle = NULL;
	const cJSON *entered = outer ? cg_fhir_bundle_enter(outer, obj) : NULL;
	size_t mark = member ? cg_check_push_key(&v->c, member) : v->c.depth;

	if (!cg_json_is_object(obj)) {
		cg_check_issue(&v->c, CG_C_TYPE, obj, NULL, 0,
		               "a resource must be a JSON object, not %s", cg_json_type_name(obj));
		goto out;
	}
	if (!rt) {
		cg_check_issue(&v->c, CG_C_FHIR_RESOURCE_TYPE, obj, "resourceType", 0,
		               "missing resourceType");
		goto out;
	}
	t = cg_json_is_string(rt) ? cg_fhir_type(v->s, rt->valuestring) : NULL;
	if (!t || t->kind != CG_FHIR_RESOURCE || t->abstract) {
		cg_check_issue(&v->c, CG_C_FHIR_RESOURCE_TYPE, rt, "resourceType", 0,
		               "not a FHIR R4 resource type");
		goto out;
	}
	if (!strcmp(t->name, "Bundle")) {
		/* References inside resolve against this Bundle's entries. */
		bundle = cg_fhir_bundle_new(obj, v->s);
		if (!bundle) {
			v->c.err = CG_ENOMEM;
			goto out;
		}
		v->bundle = bundle;
	}
	if (v->inv)
		cg_fhir_inv_resource_begin(v->inv, obj, contained, &inv_outer);
	check_object(v, obj, t->ctx, 1);
	if (!strcmp(t->name, "Bundle"))
		bundle_rules(v, obj);
	if (v->inv)
		cg_fhir_inv_resource_end(v->inv, obj, t, &inv_outer);
out:
	v->bundle = outer;
	cg_fhir_bundle_free(bundle);
	if (outer)
		cg_fhir_bundle_leave(outer, entered);
	cg_check_pop(&v->c, mark);
}

enum cg_err
cg_fhir_validate_with(const cJSON *resource, const struct cg_fhir_structure *s,
                      const struct cg_fhir_invariants *invariants, struct cg_diag *d,
                      size_t *not_evaluated)
{
	struct fv v;

	if (not_evaluated)
		*not_evaluated = 0;
	/* No memset: the walk's path (v.c.segs, 16 KB) needs none, and
	 * clearing it cost more than validating a small resource. */
	cg_check_init(&v.c, d);
	v.s = s;
	v.bundle = NULL;
	v.inv = NULL;
	v.reference = cg_fhir_type(s, "Reference");
	v.coding = cg_fhir_type(s, "Coding");
	v.concept = cg_fhir_type(s, "CodeableConcept");
	v.attachment = cg_fhir_type(s, "Attachment");
	v.uri = cg_fhir_type(s, "uri");
	v.url = cg_fhir_type(s, "url");
	if (invariants && !(v.inv = cg_fhir_inv_walk_new(invariants, s, &v.c))) {
		cg_check_free(&v.c);
		return CG_ENOMEM;
	}
	check_resource(&v, resource, NULL, 0);
	cg_fhir_inv_walk_free(v.inv, not_evaluated);
	cg_check_free(&v.c);
	return v.c.err;
}

enum cg_err
cg_fhir_validate(const cJSON *resource, const struct cg_fhir_structure *s, struct cg_diag *d)
{
	return cg_fhir_validate_with(resource, s, NULL, d, NULL);
}
