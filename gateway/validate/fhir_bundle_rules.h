/*
 * fhir_bundle_rules.h: what R4 (bundle.html, http.html, documents.html) and
 * the HL7 reference validator require of a Bundle's entries beyond the
 * bdl-* invariants:
 *
 * - a RESTful fullUrl (http[s]://base/Type/id) names its resource: the
 *   resource has an id, and fullUrl ends with its type and id;
 * - a resource's identity is not repeated: in a transaction, two entries
 *   whose request names the same Type/id; elsewhere (but in history Bundles
 *   and batches), two entries of the same Type/id and version whose
 *   fullUrls do not tell them apart (URNs, or none);
 * - references inside the entries resolve as "Resolving references in
 *   Bundles" says: an absolute one (urn:uuid:, urn:oid:, http...) against
 *   the fullUrls, a relative Type/id against the base of the entry's own
 *   RESTful fullUrl, a version-specific one against meta.versionId. A URN
 *   that no entry has is an error in a transaction (the server cannot
 *   resolve it) and a warning elsewhere, as the HL7 validator has it
 *   (fhir-reference-unresolved); a reference that resolves to a resource of
 *   another type, or to more than one entry, is an error;
 * - in a document, the Composition's references (subject, author,
 *   encounter, custodian, attester.party, event.detail, and in sections
 *   author, focus and entry) resolve inside the Bundle; in a message, the
 *   MessageHeader's focus;
 * - in a document or a message, every entry is reached from the first one
 *   by links (references, uri values) forward or backward, as the HL7
 *   validator has it: an orphan is an error in a document, a warning in a
 *   message; an entry of a document reached only backwards is a warning
 *   (but a Provenance).
 *
 * An index of the entries is built once per Bundle (sorted arrays, so a
 * Bundle of many entries costs O(n log n)), then the validator's walk asks
 * it about each reference it meets; in a document or message it keeps the
 * links between entries, for one pass over them at the end (O(L log L) in
 * the links; nothing for other Bundles).
 */
#ifndef CG_FHIR_BUNDLE_RULES_H
#define CG_FHIR_BUNDLE_RULES_H

#include "check.h"
#include "fhir_structure.h"

struct cJSON;
struct cg_fhir_bundle;

/* The index of bundle's entries; NULL when out of memory. */
struct cg_fhir_bundle *cg_fhir_bundle_new(const struct cJSON *bundle,
                                          const struct cg_fhir_structure *s);
void cg_fhir_bundle_free(struct cg_fhir_bundle *b);

/* The walk reaches resource: when it is an entry's resource, references
 * inside it resolve against that entry's fullUrl from now on. Returns what
 * to give cg_fhir_bundle_leave when the walk leaves it. */
const struct cJSON *cg_fhir_bundle_enter(struct cg_fhir_bundle *b, const struct cJSON *resource);
void cg_fhir_bundle_leave(struct cg_fhir_bundle *b, const struct cJSON *saved);

/* A Reference.reference (ref, a string node; not "#id") at the current path
 * of c (the Reference object), inside the entry entered last. */
void cg_fhir_bundle_reference(struct cg_fhir_bundle *b, struct cg_check *c, const struct cJSON *ref,
                              const char *path);

/* A uri or url value (val, a string node) of element name at path (as
 * "Attachment.url"), inside the entry entered last: in a document or a
 * message, a link between entries when it resolves to one. */
void cg_fhir_bundle_uri(struct cg_fhir_bundle *b, const struct cJSON *val, const char *name,
                        const char *path);

/* The rules on the entries themselves (fullUrl and id, identities, a
 * document's Composition), with c's path at the Bundle. */
void cg_fhir_bundle_rules(struct cg_fhir_bundle *b, struct cg_check *c);

#endif
