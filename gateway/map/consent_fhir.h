/*
 * consent_fhir.h: the patient's research consent, read from FHIR input
 * (issue 12), in the shape a record carries it, so that the consent gate
 * applies one rule to records and FHIR alike.
 *
 * FHIR says consent in two places, and both are honoured:
 *
 * - an R4 Consent resource (the input itself, or an entry of a Bundle) whose
 *   scope has the coding http://terminology.hl7.org/CodeSystem/consentscope
 *   #research (other scopes are not about research and are ignored).
 *   status active: provision.type permit grants research for the registries
 *   named by provision.actor[].reference.identifier.value (any system),
 *   less those named the same way by a nested provision.provision[] of type
 *   deny; a permit whose provision.period does not cover now (start after
 *   it, end before it, or a bound that is not a date or date-time with an
 *   offset) refuses, and so does a top-level deny or a provision without a
 *   type (whatever actors a deny names: keeping it simple, it refuses
 *   research). status rejected or inactive: refuses. Any other status
 *   (draft, proposed, entered-in-error) does not count: as if absent.
 *   Several: any refusal wins; the permits' registries add up, and a
 *   registry denied in one is denied in all. The date is Consent.dateTime's
 *   date part, the latest among them.
 *
 * - the record's consent as cellgate maps it: the sub-extension "consent"
 *   (research, registries, date) of the Procedure extension
 *   <canonical base>/StructureDefinition/stemcell-record
 *   (mappings/record-fhir.json), read from the Procedure(s) directly. A
 *   consent sub-extension without research true refuses; several
 *   Procedures: any refusal wins and only the registries all of them name
 *   are kept (each Procedure is a record its own consent must cover).
 *
 * When both are there, a Consent resource that counts decides (its
 * registries and date), and a refusal from the extension still wins.
 *
 * Each patient's own: a Consent counts for the patient its patient names
 * only, and a Procedure's extension for its subject's (compared as ordering
 * keys, order_key.h; a reference to a Patient entry of the Bundle is that
 * Patient's identifier). Every patient the input's other resources are
 * about must be covered: the answer is what all of them give (research if
 * each has it, the registries each names); one without any consent, or
 * more than 64 patients, gives NULL. An input about no patient but through
 * its Consents (a lone Consent) is read whole.
 */
#ifndef CG_CONSENT_FHIR_H
#define CG_CONSENT_FHIR_H

#include "mappings.h"

struct cJSON;

/* The consent fhir (a resource, or a Bundle: its entry[].resource; a
 * Bundle in a Bundle is not followed) gives, at now_ms (the wall clock,
 * milliseconds since the epoch), as a new object {"research": bool,
 * "registries": [string...], "date": "YYYY-MM-DD"} (date when known;
 * registries empty when research is false) that the caller frees with
 * cJSON_Delete. NULL when fhir says nothing about consent, and when out of
 * memory: a gate that requires consent then refuses, failing closed.
 * canonical_base NULL: the one of the mappings. */
struct cJSON *cg_consent_from_fhir(const struct cJSON *fhir, const struct cg_mappings *m,
                                   const char *canonical_base, long long now_ms);

#endif
