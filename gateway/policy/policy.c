/* policy.c: a destination's policy applied to a record; see policy.h. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "deidentify.h"
#include "json_member.h"
#include "policy.h"

int
cg_policy_active(const struct cg_policy *p)
{
	return p && (p->identity != CG_IDENTITY_KEEP || p->deidentify != CG_DEID_NONE);
}

const char *
cg_identity_name(enum cg_identity i)
{
	return i == CG_IDENTITY_KEYED    ? "pseudonym-keyed"
	       : i == CG_IDENTITY_RANDOM ? "pseudonym-random"
	                                 : "keep";
}

const char *
cg_deidentify_name(enum cg_deidentify d)
{
	return d == CG_DEID_SAFE_HARBOR ? "safe-harbor" : "none";
}

void
cg_policy_describe(const struct cg_policy *p, int consent_required, char *out, size_t len)
{
	snprintf(out, len, "consent=%s; identity=%s; deidentify=%s%s",
	         consent_required ? "required" : "not-required", cg_identity_name(p->identity),
	         cg_deidentify_name(p->deidentify),
	         p->deidentify == CG_DEID_NONE ? ""
	         : p->dates == CG_DATES_YEAR   ? "; dates=year"
	                                       : "; dates=shift");
}

size_t
cg_policy_labels(const struct cg_policy *p, struct cg_coding out[CG_POLICY_LABELS_MAX])
{
	static const char obs[] = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
	static const char act[] = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
	size_t n = 0;

	if (p->identity != CG_IDENTITY_KEEP)
		out[n++] = (struct cg_coding){obs, "PSEUDED", "pseudonymized"};
	if (p->deidentify == CG_DEID_SAFE_HARBOR) {
		out[n++] = (struct cg_coding){obs, "REDACTED", "redacted"};
		out[n++] = (struct cg_coding){act, "DEID", "deidentify"};
	}
	return n;
}

/* The patient's one pseudonym, from the first identifier. */
static enum cg_err
pseudonym(const struct cg_policy *p, const cJSON *rec, char out[CG_PSEUDONYM_MAX + 1], char *why,
          size_t whylen)
{
	const cJSON *id = cJSON_GetArrayItem(
	        cg_json_member(cg_json_member(rec, "patient"), "identifiers"), 0);
	const char *sys = cJSON_GetStringValue(cg_json_member(id, "system"));
	const char *val = cJSON_GetStringValue(cg_json_member(id, "value"));
	enum cg_err result;

	if (!sys || !val) {
		snprintf(why, whylen, "a record without a patient identifier");
		return CG_EINVAL;
	}
	if (p->identity == CG_IDENTITY_KEYED) {
		if (!p->key) {
			snprintf(why, whylen, "pseudonym-keyed needs the destination's key");
			return CG_EINVAL;
		}
		result = cg_pseudonym_keyed(p->key, p->registry_id, sys, val, out);
		if (result)
			snprintf(why, whylen, "an identifier too long to derive a pseudonym from");
		/* the record's fault (policy-failed), not a 503 to retry for ever */
		return result == CG_ELIMIT ? CG_EINVAL : result;
	}
	if (!p->random || !p->random->get) {
		snprintf(why, whylen, "pseudonym-random needs the outbox's store");
		return CG_EINVAL;
	}
	result = p->random->get(p->random->ctx, p->registry_id, sys, val, out);
	if (result == CG_ELIMIT) {
		snprintf(why, whylen, "an identifier too long to keep a pseudonym for");
		return CG_EINVAL;
	}
	if (result)
		snprintf(why, whylen, "the pseudonym store failed");
	return result;
}

enum cg_err
cg_policy_apply(const struct cg_policy *p, const cJSON *rec, cJSON **out, char *why, size_t whylen)
{
	char pseud[CG_PSEUDONYM_MAX + 1];
	cJSON *res = NULL, *pat, *ids, *one;
	enum cg_err result;

	*out = NULL;
	if (p->deidentify == CG_DEID_SAFE_HARBOR && p->identity == CG_IDENTITY_KEEP) {
		snprintf(why, whylen, "safe-harbor removes the identifiers: it needs a pseudonym");
		return CG_EINVAL;
	}
	if (p->identity != CG_IDENTITY_KEEP &&
	    (result = pseudonym(p, rec, pseud, why, whylen)) != CG_OK)
		return result;
	if (p->deidentify == CG_DEID_SAFE_HARBOR)
		result = cg_deidentify_record(p, rec, &res, why, whylen);
	else
		result = (res = cJSON_Duplicate(rec, 1)) ? CG_OK : CG_ENOMEM;
	if (result)
		return result;
	if (p->identity != CG_IDENTITY_KEEP) {
		/* Every identifier goes: one left would link the pseudonym back. */
		pat = cJSON_GetObjectItemCaseSensitive(res, "patient");
		ids = cJSON_CreateArray();
		one = cJSON_CreateObject();
		if (!pat || !ids || !one ||
		    !cJSON_AddStringToObject(one, "system", p->pseudonym_system) ||
		    !cJSON_AddStringToObject(one, "value", pseud)) {
			cJSON_Delete(ids);
			cJSON_Delete(one);
			cJSON_Delete(res);
			return CG_ENOMEM;
		}
		cJSON_AddItemToArray(ids, one);
		cJSON_ReplaceItemInObjectCaseSensitive(pat, "identifiers", ids);
	}
	*out = res;
	return CG_OK;
}
