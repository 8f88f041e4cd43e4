/*
 * route.h: which of the gateway's endpoints a request is for, from its
 * method and decoded path and the configured routes. No sockets and no
 * evhttp here, so that routing is unit-tested (tests/unit/test_route.c).
 *
 * Every route path P serves:
 *   METHOD P (and P/, as FHIR clients send a base with a trailing slash):
 *     the route's own method (POST for ingest): records, resources, Bundles
 *   POST P/$validate: validation only
 * A FHIR route also serves:
 *   POST P/Procedure, POST P/Observation: one resource of that type
 *   POST P/Procedure/$validate, POST P/Observation/$validate
 *   GET P/metadata: the CapabilityStatement (capability.h)
 *   GET P/StructureDefinition/{id}, GET P/CodeSystem/{id}: the gateway's own
 *     conformance resources, and CodeSystem/cellgate-issue, its issue codes
 * and answers what a FHIR client may try that it does not serve (read,
 * search, history, other types) with an OperationOutcome saying so
 * (CG_T_UNSERVED), not a bare 404. /healthz, /readyz and /metrics are the
 * operations endpoints. GET endpoints take HEAD too.
 */
#ifndef CG_ROUTE_H
#define CG_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "fhir_structure.h"

struct cg_settings;
struct cg_route_cfg;

enum cg_method {
	CG_M_GET,
	CG_M_HEAD,
	CG_M_POST,
	CG_M_PUT,
	CG_M_DELETE,
	CG_M_PATCH,
	CG_M_OPTIONS,
	CG_M_OTHER
};

enum cg_target {
	CG_T_NONE,        /* under no route: 404 */
	CG_T_HEALTH,      /* /healthz */
	CG_T_READY,       /* /readyz */
	CG_T_METRICS,     /* /metrics */
	CG_T_INGEST,      /* P, or P/{type} */
	CG_T_VALIDATE,    /* P/$validate, or P/{type}/$validate */
	CG_T_METADATA,    /* P/metadata */
	CG_T_CONFORMANCE, /* P/StructureDefinition/{id}, P/CodeSystem/{id} */
	CG_T_ISSUE_CODES, /* P/CodeSystem/cellgate-issue */
	CG_T_UNSERVED,    /* a FHIR interaction under P that the gateway does not serve */
	CG_T_TRANSACTIONS /* /transactions[/{id}]: the outbox's trail (any known client) */
};

struct cg_match {
	enum cg_target target;
	const struct cg_route_cfg *route; /* NULL for the operations endpoints and NONE */
	bool method_ok;                   /* the target takes the request's method */
	const char *allow;                /* the methods it takes, for Allow and 405 */
	char type[CG_FHIR_TYPE_NAME_MAX]; /* INGEST, VALIDATE: P/{type}'s type, or "" */
	const char *rest; /* CONFORMANCE: "StructureDefinition/{id}" in the path given;
	                     TRANSACTIONS: "" or "/{id}" */
};

/* "GET", "POST"...; "other" for CG_M_OTHER (the guard lets no other
 * method through). */
const char *cg_route_method_name(enum cg_method m);

/* Matches a decoded path (no query) and method against s's routes. */
void cg_route_match(const struct cg_settings *s, enum cg_method m, const char *path,
                    struct cg_match *out);

/* Whether a client may use route, from which configured clients its
 * certificate matched (match[i] for s->clients[i]). *client is the name it
 * goes by: the first matching client the route names, else the first
 * matching client at all (for the log), else NULL. route NULL: no route
 * (the trail), which any known client may use: NOT_THIS_ROUTE when known. */
enum cg_authz { CG_AUTHZ_ALLOWED, CG_AUTHZ_UNKNOWN, CG_AUTHZ_NOT_THIS_ROUTE };
enum cg_authz cg_route_authorize(const struct cg_settings *s, const struct cg_route_cfg *route,
                                 const unsigned char *match, const char **client);

/* The resource types a FHIR route takes one at a time at P/{type}. */
bool cg_route_is_resource_type(const char *type);

#endif
