/*
 * policy.h: what a destination may receive about a patient (issue 12,
 * docs/privacy.md), applied to a valid record after mapping and before the
 * outbox, by the gateway and by `cellgate deidentify` alike.
 *
 * identity: keep the patient's identifiers, or put one pseudonym in their
 * place (pseudonym.h) under the destination's pseudonym system.
 * deidentify: none, or safe-harbor: the record is rebuilt from an
 * allow-list (deidentify.c): what is not on it does not pass.
 *
 * FHIR input reaches a destination with a policy only through the record it
 * maps to, so the record's shape is the allow-list for FHIR too.
 */
#ifndef CG_POLICY_H
#define CG_POLICY_H

#include <stddef.h>

#include "err.h"
#include "map.h"
#include "pseudonym.h"
#include "secret_key.h"

struct cJSON;

enum cg_identity { CG_IDENTITY_KEEP, CG_IDENTITY_KEYED, CG_IDENTITY_RANDOM };
enum cg_deidentify { CG_DEID_NONE, CG_DEID_SAFE_HARBOR };
/* Safe Harbor's dates: to the year, or shifted back by a per-patient number
 * of days (1 to shift_days) derived from the key, which keeps intervals. */
enum cg_dates { CG_DATES_YEAR, CG_DATES_SHIFT };

#define CG_SHIFT_DAYS_DEFAULT 365

struct cg_policy {
	const char *registry_id; /* the destination's registry */
	enum cg_identity identity;
	const char *pseudonym_system;    /* the identifier system pseudonyms go under */
	const struct cg_secret_key *key; /* keyed pseudonyms, date shifts, record ids */
	enum cg_deidentify deidentify;
	enum cg_dates dates;
	int shift_days;
	int record_form; /* the destination takes records: dates stay full dates */
	const struct cg_pseudonym_source *random; /* identity random */
};

/* Whether p changes anything: a policy of keep and none passes records as
 * they are. */
int cg_policy_active(const struct cg_policy *p);

/* A new record (the caller deletes it): rec, which must be a valid record,
 * with p applied. On failure *out is NULL and why says what, without
 * patient data: CG_EINVAL (the policy cannot be applied: no key, no source),
 * CG_EIO (the pseudonym source failed), CG_ENOMEM. */
enum cg_err cg_policy_apply(const struct cg_policy *p, const struct cJSON *rec, struct cJSON **out,
                            char *why, size_t whylen);

/* "identity=pseudonym-keyed; deidentify=safe-harbor; dates=year", for the
 * audit log and Provenance. */
void cg_policy_describe(const struct cg_policy *p, int consent_required, char *out, size_t len);

/* The security labels of what p sends (meta.security of every resource):
 * PSEUDED (v3-ObservationValue) for a pseudonym, REDACTED (the same) and
 * the obligation DEID (v3-ActCode) for safe-harbor. Returns how many (<= 3). */
#define CG_POLICY_LABELS_MAX 3
size_t cg_policy_labels(const struct cg_policy *p, struct cg_coding out[CG_POLICY_LABELS_MAX]);

/* Names of the enums, as the configuration writes them. */
const char *cg_identity_name(enum cg_identity i);
const char *cg_deidentify_name(enum cg_deidentify d);

#endif
