/*
 * fhir_bundle_internal.h: what fhir_bundle_rules.c (the entries, their index
 * and the references between them) and fhir_bundle_links.c (documents and
 * messages: what their first resource refers to, and the entries it
 * reaches) share. Not for other files: fhir_bundle_rules.h is the interface.
 * The shared functions are named cg_fb_ (FHIR Bundle).
 */
#ifndef CG_FHIR_BUNDLE_INTERNAL_H
#define CG_FHIR_BUNDLE_INTERNAL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "fhir_structure.h"

struct ent {
	const cJSON *entry, *resource;
	const char *full;             /* fullUrl, or NULL */
	const char *type, *id, *vers; /* of the resource, or NULL */
	size_t base;                  /* a RESTful fullUrl: the length of its base */
	int restful;                  /* fullUrl is base + type/id of its own resource */
};

struct cg_fhir_bundle {
	const cJSON *bundle;
	const struct cg_fhir_structure *s;
	const char *type;
	struct ent *v;
	size_t n;
	struct ent **by_url; /* entries with a fullUrl, by fullUrl */
	size_t nurl;
	struct ent **by_res; /* entries with a resource, by the resource's address */
	size_t nres;
	const struct ent *cur; /* the entry the walk is in */
	/* a document or message: the links between entries that the walk
	 * meets (from, to: indexes in v), for the orphan rule */
	int linked, oom;
	size_t (*link)[2];
	size_t nlink, link_cap;
};

/* The string member name of obj, or NULL. */
const char *cg_fb_str(const cJSON *obj, const char *name);
/* Resolves ref as bundle.html says. Returns the number of entries it names
 * (0: none), or -1 when the Bundle cannot tell (a relative reference in an
 * entry without a RESTful fullUrl); *target is the entry when one. */
long cg_fb_resolve(const struct cg_fhir_bundle *b, const char *ref, const struct ent **target);
/* ref as a link of the current entry, for the orphan rule. */
void cg_fb_follow(struct cg_fhir_bundle *b, const char *ref);

/* fhir_bundle_links.c: the rules of a document's Composition and of a
 * message's MessageHeader, and the orphan rule of both. */
void cg_fb_document_rule(struct cg_fhir_bundle *b, struct cg_check *c);
void cg_fb_message_rule(struct cg_fhir_bundle *b, struct cg_check *c);
void cg_fb_interlinked_rule(struct cg_fhir_bundle *b, struct cg_check *c, int message);

#endif
