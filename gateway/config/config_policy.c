/* config_policy.c: a destination's registry policy in the configuration
 * (issue 12, docs/privacy.md): registry id, consent gate, identity,
 * de-identification and the key; see config_internal.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "config_internal.h"
#include "secret_key.h"

static const char *const consents[] = {"required", "not-required", NULL};
static const char *const identities[] = {"keep", "pseudonym-keyed", "pseudonym-random", NULL};
static const char *const deidentifies[] = {"none", "safe-harbor", NULL};
static const char *const date_modes[] = {"year", "shift", NULL};

/* The registry a destination is (what records' consent.registries name) and
 * whether it takes a record only with the patient's research consent for
 * it (issue 12's consent gate). */
void
cg_ck_consent(struct ck *k, const cJSON *it, const cJSON *registry, const cJSON *consent)
{
	const char *id = registry ? cg_check_string(&k->c, registry, "registry_id") : NULL;

	if (id &&
	    (!*id || strlen(id) > 64 ||
	     strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
	             strlen(id)))
		cg_check_issue(&k->c, CG_C_PATTERN, registry, "registry_id", 0,
		               "1 to 64 letters, digits, '.', '_' or '-'");
	if (consent && cg_check_enum(&k->c, consent, "consent", consents) == 0 && !registry)
		cg_check_issue(&k->c, CG_C_REQUIRED, it, "registry_id", 0,
		               "consent: required needs the registry_id that records' "
		               "consent.registries name");
}

/* What the destination may receive about a patient (issue 12,
 * docs/privacy.md): identity, de-identification, and the key both need. The
 * key file is read here, so that a missing, short or world-readable key is
 * reported at its line like any other setting. */
void
cg_ck_policy(struct ck *k, const cJSON *it, const cJSON *const *f, int type, int queued)
{
	int id = f[D_IDENTITY] ? cg_check_enum(&k->c, f[D_IDENTITY], "identity", identities) : 0;
	int de = f[D_DEIDENTIFY] ? cg_check_enum(&k->c, f[D_DEIDENTIFY], "deidentify", deidentifies)
	                         : 0;
	int dm = f[D_DATES] ? cg_check_enum(&k->c, f[D_DATES], "dates", date_modes) : -1;
	int records =
	        type == 1 || (type == 2 && !(f[D_FORMAT] && cJSON_GetStringValue(f[D_FORMAT]) &&
	                                     !strcmp(f[D_FORMAT]->valuestring, "fhir")));
	long v;

	if (id > 0 && !f[D_REGISTRY])
		cg_check_issue(&k->c, CG_C_REQUIRED, it, "registry_id", 0,
		               "pseudonyms are per registry: %s needs the registry_id",
		               identities[id]);
	if ((id == 1 || de == 1) && !f[D_PSEUDONYM_KEY])
		cg_check_issue(&k->c, CG_C_REQUIRED, it, "pseudonym_key", 0,
		               "%s needs a secret key file (pseudonym_key)",
		               id == 1 ? "identity: pseudonym-keyed" : "deidentify: safe-harbor");
	if (de == 1 && id == 0)
		cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_DEIDENTIFY], "deidentify", 0,
		               "safe-harbor removes the patient's identifiers: it needs identity "
		               "pseudonym-keyed or pseudonym-random");
	if (id == 2 && !queued)
		cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_IDENTITY], "identity", 0,
		               "pseudonym-random keeps its pseudonyms in the outbox's store: it "
		               "needs mode: queue");
	if (f[D_DATES] && de != 1)
		cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_DATES], "dates", 0,
		               "dates are what deidentify: safe-harbor changes");
	if (dm == 0 && records)
		cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_DATES], "dates", 0,
		               "a record carries full dates only: a destination of records takes "
		               "dates: shift (the default for it)");
	if (f[D_SHIFT_DAYS] &&
	    cg_check_integer(&k->c, f[D_SHIFT_DAYS], "shift_days", 1, 3650, &v) == 0 && dm == 0)
		cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_SHIFT_DAYS], "shift_days", 0,
		               "shift_days is for dates: shift");
	if (f[D_PSEUDONYM_SYSTEM]) {
		const char *sys = cg_check_string(&k->c, f[D_PSEUDONYM_SYSTEM], "pseudonym_system");

		if (sys && !strchr(sys, ':'))
			cg_check_issue(
			        &k->c, CG_C_URI, f[D_PSEUDONYM_SYSTEM], "pseudonym_system", 0,
			        "must be an absolute URI (the identifier system of pseudonyms)");
	}
	if (f[D_PSEUDONYM_KEY]) {
		size_t before = k->c.d->n;

		cg_ck_want_file(k, cg_ck_mut(f[D_PSEUDONYM_KEY]), "pseudonym_key");
		if (k->c.d->n == before && cJSON_GetStringValue(f[D_PSEUDONYM_KEY]) &&
		    !strstr(f[D_PSEUDONYM_KEY]->valuestring, "${")) {
			struct cg_secret_key *key = NULL;
			char why[512];

			if (cg_secret_key_load(f[D_PSEUDONYM_KEY]->valuestring, &key, why,
			                       sizeof(why)) != CG_OK)
				cg_check_issue(&k->c, CG_C_CONFIG_FILE, f[D_PSEUDONYM_KEY],
				               "pseudonym_key", 0, "%s", why);
			cg_secret_key_free(key);
		}
	}
}
