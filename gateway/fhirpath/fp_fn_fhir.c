/*
 * fp_fn_fhir.c: FHIR's additions to FHIRPath: hasValue(), extension(url)
 * and resolve() (within the input: contained resources and Bundle entries),
 * and the reflection on FHIR types: type() and conformsTo().
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "fp_fn.h"

/* ---- FHIR --------------------------------------------------------------- */

FN(fp_fn_hasvalue)
{
	const struct cg_fp_item *it;

	if (in->n != 1)
		return fp_ret_bool(c, 0, out);
	CHECK(fp_one(c, in, call, &it));
	return fp_ret_bool(c, it->kind != CG_FP_OBJECT && it->kind != CG_FP_NOVALUE, out);
}

FN(fp_fn_extension)
{
	struct fp_vec ext = {0}, v = {0};
	const char *url;
	enum cg_err e;
	size_t k;

	CHECK(fp_arg_string(c, call, 0, &url));
	for (k = 0; k < in->n; k++)
		if ((e = fp_children_named(c, &in->items[k], "extension", &ext)))
			return e;
	for (k = 0; k < ext.n; k++) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(ext.items[k].node, "url");

		if (cJSON_IsString(u) && !strcmp(u->valuestring, url) &&
		    (e = fp_vec_push(ARENA, &v, &ext.items[k])))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

/* The resource a reference names, within the input: a contained resource
 * (#id), or an entry of the Bundle given by fullUrl or Type/id. */
static const cJSON *
find_reference(struct fp_ctx *c, const char *ref)
{
	const cJSON *root = c->env->resource, *e, *r;
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entry");
	const cJSON *contained = cJSON_GetObjectItemCaseSensitive(root, "contained");
	size_t n;

	if (ref[0] == '#') {
		cJSON_ArrayForEach(r, contained)
		{
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");

			if (cJSON_IsString(id) && !strcmp(id->valuestring, ref + 1))
				return r;
		}
		return NULL;
	}
	cJSON_ArrayForEach(e, entries)
	{
		const cJSON *full = cJSON_GetObjectItemCaseSensitive(e, "fullUrl");
		const cJSON *rt, *id;

		r = cJSON_GetObjectItemCaseSensitive(e, "resource");
		if (!r)
			continue;
		if (cJSON_IsString(full) && !strcmp(full->valuestring, ref))
			return r;
		rt = cJSON_GetObjectItemCaseSensitive(r, "resourceType");
		id = cJSON_GetObjectItemCaseSensitive(r, "id");
		if (!cJSON_IsString(rt) || !cJSON_IsString(id))
			continue;
		n = strlen(rt->valuestring);
		if (!strncmp(ref, rt->valuestring, n) && ref[n] == '/' &&
		    !strcmp(ref + n + 1, id->valuestring))
			return r;
		/* an absolute reference ending in Type/id */
		if (strlen(ref) > n + 1 + strlen(id->valuestring)) {
			const char *tail = ref + strlen(ref) - strlen(id->valuestring) - n - 1;

			if (tail[-1] == '/' && !strncmp(tail, rt->valuestring, n) &&
			    tail[n] == '/' && !strcmp(tail + n + 1, id->valuestring))
				return r;
		}
	}
	return NULL;
}

FN(fp_fn_resolve)
{
	struct fp_vec v = {0};
	struct cg_fp_item it;
	enum cg_err e;
	size_t k;

	(void)call;
	for (k = 0; k < in->n; k++) {
		const struct cg_fp_item *x = &in->items[k];
		const char *ref = NULL;
		const cJSON *r;

		if (x->kind == CG_FP_STRING)
			ref = x->u.s;
		else if (x->kind == CG_FP_OBJECT) {
			const cJSON *s = cJSON_GetObjectItemCaseSensitive(x->node, "reference");

			if (cJSON_IsString(s))
				ref = s->valuestring;
		}
		if (!ref || !(r = find_reference(c, ref)))
			continue;
		fp_resource_item(c, r, &it);
		if ((e = fp_vec_push(ARENA, &v, &it)))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

/* type(): each item's type as a TypeInfo, FHIR.x for FHIR values (their
 * type in the R4 tables: Patient, boolean) and System.X for the rest. */
FN(fp_fn_type)
{
	static const char *const sys[] = {
	        [CG_FP_BOOLEAN] = "Boolean", [CG_FP_INTEGER] = "Integer",
	        [CG_FP_DECIMAL] = "Decimal", [CG_FP_STRING] = "String",
	        [CG_FP_DATE] = "Date",       [CG_FP_DATETIME] = "DateTime",
	        [CG_FP_TIME] = "Time",       [CG_FP_QUANTITY] = "Quantity",
	};
	struct fp_vec v = {0};
	enum cg_err e;
	size_t k;

	(void)call;
	for (k = 0; k < in->n; k++) {
		const struct cg_fp_item *x = &in->items[k];
		struct cg_fp_item t;

		memset(&t, 0, sizeof(t));
		t.kind = CG_FP_TYPEINFO;
		if (x->ftype) {
			t.u.type.ns = "FHIR";
			t.u.type.name = x->ftype;
		} else if (x->kind <= CG_FP_QUANTITY) {
			t.u.type.ns = "System";
			t.u.type.name = sys[x->kind];
		} else {
			continue; /* a JSON object of no known type, or a TypeInfo */
		}
		if ((e = fp_vec_push(ARENA, &v, &t)))
			return e;
	}
	fp_vec_done(&v, out);
	return CG_OK;
}

/* conformsTo(url): for the core profiles (the StructureDefinition of an R4
 * type), whether the input is of that type or derives from it; other
 * profiles are not known here, which is an error rather than a guess. */
FN(fp_fn_conformsto)
{
	static const char core[] = "http://hl7.org/fhir/StructureDefinition/";
	const struct cg_fp_item *it;
	const char *url;
	int is;

	CHECK(fp_one(c, in, call, &it));
	CHECK(fp_arg_string(c, call, 0, &url));
	if (strncmp(url, core, sizeof(core) - 1) || !url[sizeof(core) - 1])
		return fp_fail(c, "conformsTo(): no profile %s known", url);
	is = fp_is_type(c, it, url + sizeof(core) - 1, 0);
	if (is < 0)
		return fp_fail(c, "conformsTo(): no profile %s known", url);
	return fp_ret_bool(c, is, out);
}
