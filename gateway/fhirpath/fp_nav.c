/*
 * fp_nav.c: navigation over FHIR JSON (members by name, choice elements such
 * as value[x] resolved from the R4 tables, primitives with their "_name"
 * companions, resources) and the type tests of is, as and ofType.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fhir_structure.h"
#include "json_scan.h"
#include "json_type.h"
#include "fp_internal.h"

/* ---- navigation ---------------------------------------------------------- */

void
fp_resource_item(struct fp_ctx *c, const cJSON *node, struct cg_fp_item *out)
{
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(node, "resourceType");

	memset(out, 0, sizeof(*out));
	out->kind = CG_FP_OBJECT;
	out->node = node;
	if (cg_json_is_string(rt)) {
		out->ftype = rt->valuestring;
		if (c->env->structure)
			out->ctx = cg_fhir_context(c->env->structure, rt->valuestring);
	}
}

/* Digits after the point of a JSON number, as cJSON kept it. */
static int
json_scale(const cJSON *n)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.15g", n->valuedouble);
	if (strchr(buf, 'e'))
		return 0;
	if (!strchr(buf, '.'))
		return (n->type & CG_JSON_NOT_INTEGRAL) ? 1 : 0;
	return fp_scale_of(buf, strlen(buf));
}

/* The item for JSON value v of element el with type t. */
void
fp_node_item(struct fp_ctx *c, const cJSON *v, const cJSON *ext, const struct cg_fhir_element *el,
             const struct cg_fhir_type *t, struct cg_fp_item *it)
{
	memset(it, 0, sizeof(*it));
	it->node = v;
	it->ext = cg_json_is_object(ext) ? ext : NULL;
	it->ftype = t ? t->name : NULL;
	if (!v || cg_json_is_null(v)) {
		it->kind = CG_FP_NOVALUE;
		it->node = NULL;
		return;
	}
	if (cg_json_is_object(v)) {
		it->kind = CG_FP_OBJECT;
		if (el && (el->ref || (t && t->inline_ctx))) {
			it->ctx = el->ctx;
			if (!it->ftype || el->ref)
				it->ftype = "BackboneElement";
		} else if ((t && (t->any_resource || t->kind == CG_FHIR_RESOURCE)) ||
		           (!t && cJSON_GetObjectItemCaseSensitive(v, "resourceType"))) {
			fp_resource_item(c, v, it);
		} else if (t) {
			it->ctx = t->ctx;
		}
		return;
	}
	if (cg_json_is_string(v)) {
		const char *ft = it->ftype;
		enum cg_fp_kind k;
		struct cg_fp_dt dt;

		it->kind = CG_FP_STRING;
		it->u.s = v->valuestring;
		if (ft &&
		    (!strcmp(ft, "date") || !strcmp(ft, "dateTime") || !strcmp(ft, "instant") ||
		     !strcmp(ft, "time")) &&
		    !fp_dt_parse(v->valuestring, strlen(v->valuestring), !strcmp(ft, "time"), &k,
		                 &dt)) {
			it->kind = strcmp(ft, "date") && k == CG_FP_DATE ? CG_FP_DATETIME : k;
			it->u.dt = dt;
		}
		return;
	}
	if (cg_json_is_number(v)) {
		const char *ft = it->ftype;
		int integral = !(v->type & CG_JSON_NOT_INTEGRAL) &&
		               v->valuedouble == floor(v->valuedouble) &&
		               fabs(v->valuedouble) < 9.0e15;

		if (ft ? (strcmp(ft, "integer") == 0 || strcmp(ft, "positiveInt") == 0 ||
		          strcmp(ft, "unsignedInt") == 0) &&
		                    integral
		       : integral) {
			it->kind = CG_FP_INTEGER;
			it->u.i = (long long)v->valuedouble;
		} else {
			it->kind = CG_FP_DECIMAL;
			it->u.d.v = v->valuedouble;
			it->u.d.scale = json_scale(v);
		}
		return;
	}
	if (cJSON_IsBool(v)) {
		it->kind = CG_FP_BOOLEAN;
		it->u.b = cJSON_IsTrue(v);
		return;
	}
	it->kind = CG_FP_NOVALUE;
}

/* The items of member m (and its "_name" companion ext) of an object. */
static enum cg_err
push_member(struct fp_ctx *c, const cJSON *m, const cJSON *ext, const struct cg_fhir_element *el,
            const struct cg_fhir_type *t, struct fp_vec *out)
{
	struct cg_fp_item it;
	enum cg_err r;

	if (cg_json_is_array(m) || (!m && cg_json_is_array(ext))) {
		const cJSON *e = cg_json_is_array(ext) ? ext->child : NULL;
		const cJSON *v = m ? m->child : NULL;

		while (v || e) {
			if ((v && !cg_json_is_null(v)) || cg_json_is_object(e)) {
				fp_node_item(c, v, e, el, t, &it);
				if ((r = fp_vec_push(c->env->arena, out, &it)))
					return r;
			}
			v = v ? v->next : NULL;
			e = e ? e->next : NULL;
		}
		return CG_OK;
	}
	if (m && cg_json_is_null(m) && !cg_json_is_object(ext))
		return CG_OK;
	fp_node_item(c, m, ext, el, t, &it);
	return fp_vec_push(c->env->arena, out, &it);
}

/* The "_name" companion of member name in obj, or NULL. */
static const cJSON *
companion(const cJSON *obj, const char *name)
{
	char key[128];

	if (strlen(name) + 2 > sizeof(key))
		return NULL;
	key[0] = '_';
	strcpy(key + 1, name);
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

enum cg_err
fp_children_named(struct fp_ctx *c, const struct cg_fp_item *item, const char *name,
                  struct fp_vec *out)
{
	size_t len = strlen(name);
	const cJSON *obj = item->node, *m;
	enum cg_err r;
	int found = 0;

	if (item->kind == CG_FP_TYPEINFO) {
		struct cg_fp_item s;

		if (strcmp(name, "namespace") && strcmp(name, "name"))
			return CG_OK;
		fp_str(&s, !strcmp(name, "name") ? item->u.type.name : item->u.type.ns);
		return fp_vec_push(c->env->arena, out, &s);
	}
	if (item->kind != CG_FP_OBJECT) {
		/* a primitive's id and extensions are in its companion */
		if (!item->ext)
			return CG_OK;
		m = cJSON_GetObjectItemCaseSensitive(item->ext, name);
		if (!m)
			return CG_OK;
		return push_member(c, m, NULL, NULL,
		                   c->env->structure && !strcmp(name, "extension")
		                           ? cg_fhir_type(c->env->structure, "Extension")
		                           : NULL,
		                   out);
	}
	if (!cg_json_is_object(obj))
		return CG_OK;
	for (m = obj->child; m; m = m->next) {
		const char *k = m->string;
		const struct cg_fhir_element *el = NULL;
		const struct cg_fhir_type *t = NULL;
		size_t idx = 0;

		if (!k || k[0] == '_')
			continue;
		if (!strcmp(k, "resourceType") && item->ftype && obj == item->node &&
		    cJSON_GetObjectItemCaseSensitive(obj, "resourceType") == m)
			continue;
		if (!strcmp(k, name)) {
			if (item->ctx)
				el = cg_fhir_child(item->ctx, k, &t, &idx);
		} else if (item->ctx && k[0] == name[0] && !strncmp(k, name, len) &&
		           isupper((unsigned char)k[len])) {
			el = cg_fhir_choice(item->ctx, name, len, k, &t);
			if (!el)
				continue;
		} else {
			continue;
		}
		found = 1;
		if ((r = push_member(c, m, companion(obj, k), el, t, out)))
			return r;
	}
	if (!found) {
		/* a primitive present only through its extensions */
		const cJSON *e = companion(obj, name);

		if (e) {
			const struct cg_fhir_element *el = NULL;
			const struct cg_fhir_type *t = NULL;
			size_t idx = 0;

			if (item->ctx)
				el = cg_fhir_child(item->ctx, name, &t, &idx);
			(void)el;
			return push_member(c, NULL, e, el, t, out);
		}
	}
	return CG_OK;
}

/* Whether push_member(m, ext) would push anything; kept next to it. */
static int
member_nonempty(const cJSON *m, const cJSON *ext)
{
	if (cg_json_is_array(m) || (!m && cg_json_is_array(ext))) {
		const cJSON *e = cg_json_is_array(ext) ? ext->child : NULL;
		const cJSON *v = m ? m->child : NULL;

		for (; v || e; v = v ? v->next : NULL, e = e ? e->next : NULL)
			if ((v && !cg_json_is_null(v)) || cg_json_is_object(e))
				return 1;
		return 0;
	}
	return !(m && cg_json_is_null(m) && !cg_json_is_object(ext));
}

int
fp_has_children_named(const struct cg_fp_item *item, const char *name)
{
	size_t len = strlen(name);
	const cJSON *obj = item->node, *m, *e;
	int found = 0;

	if (item->kind != CG_FP_OBJECT || !cg_json_is_object(obj))
		return -1;
	/* the matching of fp_children_named(), without making the items */
	for (m = obj->child; m; m = m->next) {
		const char *k = m->string;
		const struct cg_fhir_type *t = NULL;

		if (!k || k[0] == '_' || k[0] != name[0])
			continue;
		if (strcmp(k, name) != 0) {
			if (!item->ctx || strncmp(k, name, len) != 0 ||
			    !isupper((unsigned char)k[len]) ||
			    !cg_fhir_choice(item->ctx, name, len, k, &t))
				continue;
		} else if (!strcmp(k, "resourceType") && item->ftype &&
		           cJSON_GetObjectItemCaseSensitive(obj, "resourceType") == m) {
			continue;
		}
		found = 1;
		/* a value is enough; the companion matters only without one */
		if (member_nonempty(m, NULL) || member_nonempty(m, companion(obj, k)))
			return 1;
	}
	if (found)
		return 0;
	e = companion(obj, name);
	return e ? member_nonempty(NULL, e) : 0;
}

enum cg_err
fp_children_all(struct fp_ctx *c, const struct cg_fp_item *item, struct fp_vec *out)
{
	const cJSON *m;
	enum cg_err r;

	if (item->kind != CG_FP_OBJECT)
		return CG_OK;
	for (m = item->node->child; m; m = m->next) {
		const struct cg_fhir_element *el = NULL;
		const struct cg_fhir_type *t = NULL;
		size_t idx = 0;

		if (!m->string || !strcmp(m->string, "resourceType"))
			continue;
		if (m->string[0] == '_') {
			/* a primitive without a value is a child too, through its
			 * extensions; one with a value comes with it below */
			if (cJSON_GetObjectItemCaseSensitive(item->node, m->string + 1))
				continue;
			if (item->ctx)
				el = cg_fhir_child(item->ctx, m->string + 1, &t, &idx);
			if ((r = push_member(c, NULL, m, el, t, out)))
				return r;
			continue;
		}
		if (item->ctx)
			el = cg_fhir_child(item->ctx, m->string, &t, &idx);
		if ((r = push_member(c, m, companion(item->node, m->string), el, t, out)))
			return r;
	}
	return CG_OK;
}

/* ---- types -------------------------------------------------------------- */

/* Whether FHIR type t is want or derives from it (Patient from
 * DomainResource and Resource, Age from Quantity), through the bases of the
 * R4 tables; a primitive's own base (code from string) only when
 * specialise. */
static int
derives(struct fp_ctx *c, const char *t, const char *want, int specialise)
{
	const struct cg_fhir_type *ty;
	int depth;

	for (depth = 0; t && depth < 16; depth++) {
		if (!strcmp(t, want))
			return 1;
		if (!c->env->structure)
			return 0;
		ty = cg_fhir_type(c->env->structure, t);
		if (!ty || (ty->kind == CG_FHIR_PRIMITIVE && !specialise))
			return 0;
		t = ty->base;
	}
	return 0;
}

/* Quantity's profiles, which the R4 tables do not hold as types. */
static int
quantity_profile(const char *t)
{
	return !strcmp(t, "SimpleQuantity") || !strcmp(t, "MoneyQuantity");
}

int
fp_is_type(struct fp_ctx *c, const struct cg_fp_item *it, const char *type, int specialise)
{
	static const char *const sys[][2] = {
	        {"Boolean", "boolean"}, {"Integer", "integer"},   {"Decimal", "decimal"},
	        {"String", "string"},   {"Date", "date"},         {"DateTime", "dateTime"},
	        {"Time", "time"},       {"Quantity", "Quantity"},
	};
	static const enum cg_fp_kind kinds[] = {CG_FP_BOOLEAN, CG_FP_INTEGER, CG_FP_DECIMAL,
	                                        CG_FP_STRING,  CG_FP_DATE,    CG_FP_DATETIME,
	                                        CG_FP_TIME,    CG_FP_QUANTITY};
	int system = 0, fhir = 0, sys_k = -1;
	size_t k;

	if (!strncmp(type, "System.", 7)) {
		system = 1;
		type += 7;
	} else if (!strncmp(type, "FHIR.", 5)) {
		fhir = 1;
		type += 5;
	}
	for (k = 0; !fhir && k < sizeof(sys) / sizeof(sys[0]); k++)
		if (!strcmp(type, sys[k][0]))
			sys_k = (int)k;
	/* a name that is no type at all is an error, not false (the suite's
	 * as(string1)); System.Patient is merely a type nothing is */
	if (!system && sys_k < 0 && c->env->structure && !quantity_profile(type) &&
	    !cg_fhir_type(c->env->structure, type))
		return -1;
	if (it->ftype) {
		if (system)
			return 0;
		if (derives(c, it->ftype, type, specialise))
			return 1;
		return !strcmp(type, "Quantity") && quantity_profile(it->ftype);
	}
	if (fhir || sys_k < 0)
		return 0;
	return it->kind == kinds[sys_k];
}
