/*
 * deidentify.h: HIPAA Safe Harbor (45 CFR 164.514(b)(2)) on a stem-cell
 * record, by allow-list: the result is built member by member from what
 * the table in deidentify.c lets through, transformed as docs/privacy.md
 * says; a member not on the list does not pass, whatever it holds.
 */
#ifndef CG_DEIDENTIFY_H
#define CG_DEIDENTIFY_H

#include "err.h"
#include "policy.h"

struct cJSON;

/* A new record from rec (valid) under p (p->deidentify safe-harbor, p->key
 * set); the patient's identifiers are left for policy.c to fill. */
enum cg_err cg_deidentify_record(const struct cg_policy *p, const struct cJSON *rec,
                                 struct cJSON **out, char *why, size_t whylen);

#endif
