/* split_bundle.c: a transaction Bundle cut at caps; see split_bundle.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "conditional.h"
#include "json_member.h"
#include "json_write.h"
#include "split_bundle.h"

static const char *
text(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cg_json_member(o, name));
}

static int
is_type(const cJSON *e, const char *type)
{
	const char *t = text(cg_json_member(e, "resource"), "resourceType");

	return t && !strcmp(t, type);
}

/* References in v to a fullUrl of an earlier part: conditional ones. */
static int
repoint(cJSON *v, cJSON *const *earlier, size_t n, char *why, size_t whylen)
{
	cJSON *c;
	size_t i;

	cJSON_ArrayForEach(c, v)
	{
		if (cJSON_IsString(c) && c->string && !strcmp(c->string, "reference")) {
			for (i = 0; i < n; i++) {
				const char *full = text(earlier[i], "fullUrl");
				const cJSON *res = cg_json_member(earlier[i], "resource");
				const cJSON *id =
				        cJSON_GetArrayItem(cg_json_member(res, "identifier"), 0);
				struct cg_buf q;

				if (!full || strcmp(full, c->valuestring) != 0)
					continue;
				cg_buf_init(&q, 16384);
				if (!text(res, "resourceType") ||
				    cg_buf_addstr(&q, text(res, "resourceType")) ||
				    cg_buf_addc(&q, '?') ||
				    cg_identifier_query(text(id, "system"), text(id, "value"),
				                        &q)) {
					cg_buf_free(&q);
					snprintf(why, whylen,
					         "a %s referred to across the parts of a split "
					         "Bundle has no "
					         "identifier to refer to it by",
					         text(res, "resourceType")
					                 ? text(res, "resourceType")
					                 : "resource");
					return -1;
				}
				cJSON_SetValuestring(c, q.p);
				cg_buf_free(&q);
				break;
			}
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			if (repoint(c, earlier, n, why, whylen))
				return -1;
		}
	}
	return 0;
}

/* Whether v refers to one of the entries of later parts (a
 * DiagnosticReport's result in a later part: its part would carry a
 * urn:uuid the server cannot resolve). Said in why. */
static int
refers_ahead(const cJSON *v, cJSON *const *later, size_t n, char *why, size_t whylen)
{
	const cJSON *c;
	size_t i;

	cJSON_ArrayForEach(c, v)
	{
		if (cJSON_IsString(c) && c->string && !strcmp(c->string, "reference")) {
			for (i = 0; i < n; i++) {
				const char *full = text(later[i], "fullUrl");

				if (full && !strcmp(full, c->valuestring)) {
					snprintf(
					        why, whylen,
					        "an entry refers to one that the caps put in a "
					        "later part "
					        "(%.40s): the Bundle cannot be cut so that it "
					        "resolves",
					        text(cg_json_member(later[i], "resource"),
					             "resourceType")
					                ? text(cg_json_member(later[i], "resource"),
					                       "resourceType")
					                : "resource");
					return 1;
				}
			}
		} else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
		           refers_ahead(c, later, n, why, whylen)) {
			return 1;
		}
	}
	return 0;
}

enum cg_err
cg_split_bundle(const char *p, size_t len, size_t max_entries, size_t max_observations,
                const struct cg_provenance_in *prov, struct cg_buf *out, size_t *ends,
                size_t max_parts, size_t *n, char *why, size_t whylen)
{
	cJSON *b = cJSON_ParseWithLength(p, len), *entries, **order = NULL, **earlier = NULL, *e,
	      *ours;
	size_t count = 0, i = 0, k, nearlier = 0;
	size_t room = max_entries ? max_entries - (prov ? 1 : 0) : (size_t)-1;
	size_t obs_room = max_observations ? max_observations : (size_t)-1;
	enum cg_err err = CG_OK;

	*n = 0;
	entries = cJSON_GetObjectItemCaseSensitive(b, "entry");
	if (!b || !cJSON_IsArray(entries)) {
		cJSON_Delete(b);
		snprintf(why, whylen, "not a Bundle");
		return CG_EINVAL;
	}
	if (room == 0) {
		cJSON_Delete(b);
		snprintf(why, whylen, "max_entries leaves no room beside the Provenance");
		return CG_EINVAL;
	}
	count = (size_t)cJSON_GetArraySize(entries);
	order = calloc(count + 1, sizeof(*order));
	earlier = calloc(count + 1, sizeof(*earlier));
	if (!order || !earlier) {
		err = CG_ENOMEM;
		goto out;
	}
	/* what is not an Observation first, in the Bundle's order, then the
	 * Observations, then a client's Provenance (it refers to the others,
	 * nothing to it); the gateway's, the last entry when prov is set, is
	 * made again per part. A client's is never dropped. */
	ours = prov && count && is_type(cJSON_GetArrayItem(entries, (int)count - 1), "Provenance")
	               ? cJSON_GetArrayItem(entries, (int)count - 1)
	               : NULL;
	k = 0;
	cJSON_ArrayForEach(e, entries) if (!is_type(e, "Observation") && !is_type(e, "Provenance"))
	        order[k++] = e;
	cJSON_ArrayForEach(e, entries) if (is_type(e, "Observation")) order[k++] = e;
	cJSON_ArrayForEach(e, entries) if (is_type(e, "Provenance") && e != ours) order[k++] = e;
	count = k;
	while (i < count && !err) {
		cJSON *part = cJSON_CreateObject(), *list;
		size_t m = 0, obs = 0, start = i;

		if (*n == max_parts) {
			cJSON_Delete(part);
			snprintf(why, whylen, "more than %zu parts", max_parts);
			err = CG_EINVAL;
			break;
		}
		cJSON_AddStringToObject(part, "resourceType", "Bundle");
		cJSON_AddStringToObject(part, "type",
		                        text(b, "type") ? text(b, "type") : "transaction");
		list = cJSON_AddArrayToObject(part, "entry");
		while (i < count && m < room &&
		       !(is_type(order[i], "Observation") && obs >= obs_room)) {
			obs += is_type(order[i], "Observation");
			m++;
			i++;
		}
		if (i == start) { /* not even one: caps too small */
			cJSON_Delete(part);
			snprintf(why, whylen, "the caps leave no room for one entry");
			err = CG_EINVAL;
			break;
		}
		for (k = start; k < i; k++)
			cJSON_AddItemToArray(list, cJSON_Duplicate(order[k], 1));
		if ((nearlier && repoint(list, earlier, nearlier, why, whylen)) ||
		    refers_ahead(list, order + i, count - i, why, whylen)) {
			cJSON_Delete(part);
			err = CG_EINVAL;
			break;
		}
		for (k = start; k < i; k++)
			earlier[nearlier++] = order[k];
		if (prov && cg_provenance_add(part, prov) != CG_OK)
			err = CG_ENOMEM;
		if (!err)
			err = cg_jw_write_tree(out, part);
		cJSON_Delete(part);
		if (!err)
			ends[(*n)++] = out->len;
	}
out:
	free(order);
	free(earlier);
	cJSON_Delete(b);
	return err;
}
