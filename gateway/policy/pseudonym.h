/*
 * pseudonym.h: the pseudonym a registry knows a patient by.
 *
 * keyed: HMAC-SHA256 under the destination's key of
 *   registry_id "|" identifier system "|" identifier value
 * ('%' and '|' in the registry id and system written %25 and %7C), as 64
 * lowercase hex digits. Stateless: every gateway holding the key gives the
 * same patient the same pseudonym for a registry, and another registry
 * another one. The known answers are in docs/privacy.md and the unit tests.
 *
 * random: 32 lowercase hex digits from the system's random generator, kept
 * per patient and registry by a pseudonym source (the outbox's store), so
 * that it is not derived from anything about the patient (45 CFR
 * 164.514(c)); only the store links it back.
 */
#ifndef CG_PSEUDONYM_H
#define CG_PSEUDONYM_H

#include "err.h"
#include "secret_key.h"

#define CG_PSEUDONYM_MAX 64 /* hex digits of the longer form (keyed) */

enum cg_err cg_pseudonym_keyed(const struct cg_secret_key *k, const char *registry,
                               const char *system, const char *value,
                               char out[CG_PSEUDONYM_MAX + 1]);

/* A new random pseudonym (32 hex digits). CG_EIO when the generator fails. */
enum cg_err cg_pseudonym_random(char out[CG_PSEUDONYM_MAX + 1]);

/* Where random pseudonyms are kept: get gives the patient's pseudonym for
 * the registry, making and keeping one the first time. A lower layer's
 * interface that the store (queue/) implements. */
struct cg_pseudonym_source {
	enum cg_err (*get)(void *ctx, const char *registry, const char *system, const char *value,
	                   char out[CG_PSEUDONYM_MAX + 1]);
	void *ctx;
};

#endif
