/*
 * conditional.h: the search that makes a create conditional, so that a
 * resource sent twice (the outbox delivers at least once) is stored once.
 *
 * FHIR posted as it came has no ifNoneExist of ours; where the resource has
 * a business identifier, its first one becomes the condition
 * ("identifier=system|value", URL-encoded): the If-None-Exist header of a
 * lone create, the request.ifNoneExist of an entry the gateway writes.
 */
#ifndef CG_CONDITIONAL_H
#define CG_CONDITIONAL_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Appends "identifier=<system>%7C<value>" (each part with FHIR's search
 * escapes, then percent-encoded, so that it matches that identifier only and
 * nothing in it needs escaping in JSON or a header; no system: none before
 * the %7C, which matches identifiers without one) for the resource text
 * p[0..len). CG_ENOENT when it has no identifier with a value (out as it
 * was); CG_ENOMEM. */
enum cg_err cg_conditional_query(const char *p, size_t len, struct cg_buf *out);
/* The same for an identifier given: "identifier=<system>%7C<value>" (a
 * search, a conditional reference). CG_ENOENT without a value. */
enum cg_err cg_identifier_query(const char *system, const char *value, struct cg_buf *out);

#endif
