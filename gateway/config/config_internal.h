/*
 * config_internal.h: what the configuration's loading and checks share
 * across their files (config.c: the loading; config_env.c: ${NAME}
 * references; config_sections.c: the sections; config_policy.c: a
 * destination's registry policy; config_auth.c: how it is reached;
 * config_outbox.c: the outbox). Not for other layers.
 */
#ifndef CG_CONFIG_INTERNAL_H
#define CG_CONFIG_INTERNAL_H

#include <cjson/cJSON.h>

#include "check.h"
#include "yaml_json.h"

struct ck {
	struct cg_check c;
	const struct cg_yaml *y; /* where each node came from, plain or quoted */
	const char *dir;
	const cJSON *clients;
	const cJSON *destinations;
	int queued;      /* a destination is in queue mode: the outbox is needed */
	int policy_only; /* a policy file (cellgate deidentify --policy): no url needed */
};

/* The members of a destination, in dest_spec's order (config_sections.c). */
enum {
	D_TYPE,
	D_URL,
	D_FOLDER,
	D_CERT,
	D_KEY,
	D_CA,
	D_FORMAT,
	D_TIMEOUT,
	D_MODE,
	D_DELIVERY,
	D_REGISTRY,
	D_CONSENT,
	D_IDENTITY,
	D_PSEUDONYM_SYSTEM,
	D_PSEUDONYM_KEY,
	D_DEIDENTIFY,
	D_DATES,
	D_SHIFT_DAYS,
	D_AUTH,
	D_PROXY,
	D_NO_PROXY,
	D_PROXY_AUTH,
	D_CREATE,
	D_UPDATE_CHANGED,
	D_SUBJECT,
	D_SUBJECT_SYSTEM,
	D_CREATE_PATIENT,
	D_MAX_ENTRIES,
	D_MAX_OBSERVATIONS,
	D_TAGS,
	D__N
};

/* config_env.c: each ${NAME} in the strings of the tree below n replaced
 * by the environment's value (or its default), a plain scalar typed again;
 * then, once the checks are done, the issues of values whose ${NAME} could
 * not be replaced dropped (their config-env issue says what is wrong). */
void cg_ck_expand_env(struct ck *k, cJSON *n);
void cg_ck_drop_after_env(struct cg_diag *d);

/* config_sections.c: a whole configuration (root, ${NAME}s expanded
 * first), or only its destinations section (a policy file's). */
void cg_ck_config(struct ck *k, cJSON *root);
void cg_ck_destinations(struct ck *k, const cJSON *n);
/* The checks see the tree as const; the loader owns it and edits values. */
cJSON *cg_ck_mut(const cJSON *n);
/* A file the configuration names: made absolute (relative to the
 * configuration's folder) and readable, or reported. */
void cg_ck_want_file(struct ck *k, cJSON *n, const char *name);
/* A folder for output: made absolute; created later, so only its form. */
void cg_ck_want_folder(struct ck *k, cJSON *n, const char *name);

/* config_outbox.c: the outbox (a SQLite file or a PostgreSQL database)
 * and its limits; root gets one when a destination is in queue mode. */
void cg_ck_outbox(struct ck *k, cJSON *root, const cJSON *n);

/* config_policy.c: the registry id and consent gate, and identity and
 * de-identification (type: 0 fhir, 1 records, 2 ndjson; queued: queue mode). */
void cg_ck_consent(struct ck *k, const cJSON *it, const cJSON *registry, const cJSON *consent);
void cg_ck_policy(struct ck *k, const cJSON *it, const cJSON *const *f, int type, int queued);

/* config_auth.c: how an http destination is reached: auth (mTLS alone,
 * OAuth2 client credentials, SMART Backend Services) and an outbound proxy. */
void cg_ck_auth(struct ck *k, const cJSON *it, const cJSON *const *f, int type);

#endif
