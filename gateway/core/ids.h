/*
 * ids.h: the two identifier syntaxes that records and FHIR share, checked in
 * one place so that a record and its FHIR form can never disagree on them:
 * OIDs as FHIR's oid type has them ([0-2](\.(0|[1-9][0-9]*))+) and UUIDs in
 * the lower-case form FHIR's uuid type requires. Without their urn:oid: and
 * urn:uuid: prefixes.
 */
#ifndef CG_IDS_H
#define CG_IDS_H

#include <stdbool.h>

/* Whether s (NUL-terminated) is an OID: two arcs or more, the first 0, 1 or
 * 2, no leading zeros. */
bool cg_ids_is_oid(const char *s);
/* Whether s is a UUID as 8-4-4-4-12 lower-case hexadecimal digits. */
bool cg_ids_is_uuid(const char *s);

#endif
