/* route.c: from method and path to an endpoint; see route.h. */
#include <string.h>

#include "map.h"
#include "route.h"
#include "settings.h"

static const char get_head[] = "GET, HEAD";

bool
cg_route_is_resource_type(const char *type)
{
	return strcmp(type, "Procedure") == 0 || strcmp(type, "Observation") == 0;
}

const char *
cg_route_method_name(enum cg_method m)
{
	static const char *const names[] = {"GET",    "HEAD",  "POST",    "PUT",
	                                    "DELETE", "PATCH", "OPTIONS", "other"};

	return (unsigned)m <= CG_M_OTHER ? names[m] : "other";
}

static bool
is_get(enum cg_method m)
{
	return m == CG_M_GET || m == CG_M_HEAD;
}

static enum cg_method
method_of(const char *name)
{
	return strcmp(name, "GET") == 0   ? CG_M_GET
	       : strcmp(name, "PUT") == 0 ? CG_M_PUT
	                                  : CG_M_POST;
}

static void
target(struct cg_match *out, enum cg_target t, bool ok, const char *allow)
{
	out->target = t;
	out->method_ok = ok;
	out->allow = allow;
}

/* What follows a route's path: "" (the base), or "/..." */
static void
under_route(const struct cg_route_cfg *r, enum cg_method m, const char *rest, struct cg_match *out)
{
	bool fhir = r->accept == CG_PAYLOAD_FHIR;
	const char *slash;
	size_t tl;

	out->route = r;
	if (strcmp(rest, "") == 0 || strcmp(rest, "/") == 0) {
		target(out, CG_T_INGEST, m == method_of(r->method), r->method);
		return;
	}
	if (strcmp(rest, "/$validate") == 0) {
		target(out, CG_T_VALIDATE, m == CG_M_POST, "POST");
		return;
	}
	if (!fhir) {
		out->route = NULL;
		target(out, CG_T_NONE, false, NULL);
		return;
	}
	if (strcmp(rest, "/metadata") == 0) {
		target(out, CG_T_METADATA, is_get(m), get_head);
		return;
	}
	if (strcmp(rest, "/CodeSystem/cellgate-issue") == 0) {
		target(out, CG_T_ISSUE_CODES, is_get(m), get_head);
		return;
	}
	if (strncmp(rest, "/StructureDefinition/", 21) == 0 ||
	    strncmp(rest, "/CodeSystem/", 12) == 0) {
		out->rest = rest + 1;
		target(out, CG_T_CONFORMANCE, is_get(m), get_head);
		return;
	}
	/* [base]/{type}[/...]: a create or a type-level $validate of the two
	 * types the gateway takes one at a time; anything else (read, search,
	 * vread, history, other types) is not served here. */
	slash = strchr(rest + 1, '/');
	tl = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
	if (tl < sizeof(out->type)) {
		memcpy(out->type, rest + 1, tl);
		out->type[tl] = 0;
	}
	if (tl < sizeof(out->type) && cg_route_is_resource_type(out->type)) {
		if ((!slash || strcmp(slash, "/") == 0) && !is_get(m)) {
			target(out, CG_T_INGEST,
			       m == CG_M_POST && method_of(r->method) == CG_M_POST, "POST");
			return;
		}
		if (slash && strcmp(slash, "/$validate") == 0) {
			target(out, CG_T_VALIDATE, m == CG_M_POST, "POST");
			return;
		}
	}
	/* The type stays said when it is one of the two, so that the answer
	 * can tell a read or search of it (405) from another type (404). */
	if (tl >= sizeof(out->type) || !cg_route_is_resource_type(out->type))
		out->type[0] = 0;
	target(out, CG_T_UNSERVED, false, NULL);
}

enum cg_authz
cg_route_authorize(const struct cg_settings *s, const struct cg_route_cfg *route,
                   const unsigned char *match, const char **client)
{
	size_t i, j;

	*client = NULL;
	for (i = 0; i < s->nclients; i++) {
		if (!match[i])
			continue;
		if (!*client)
			*client = s->clients[i].name;
		for (j = 0; route && j < route->nclients; j++)
			if (route->clients[j] == i) {
				*client = s->clients[i].name;
				return CG_AUTHZ_ALLOWED;
			}
	}
	return *client ? CG_AUTHZ_NOT_THIS_ROUTE : CG_AUTHZ_UNKNOWN;
}

void
cg_route_match(const struct cg_settings *s, enum cg_method m, const char *path,
               struct cg_match *out)
{
	size_t i, rl;

	memset(out, 0, sizeof(*out));
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
	    strcmp(path, "/metrics") == 0) {
		target(out,
		       path[1] == 'h'   ? CG_T_HEALTH
		       : path[1] == 'r' ? CG_T_READY
		                        : CG_T_METRICS,
		       is_get(m), get_head);
		return;
	}
	/* The outbox's trail, before the routes: a route cannot hide it. */
	if (strncmp(path, "/transactions", 13) == 0 && (path[13] == 0 || path[13] == '/')) {
		out->rest = path + 13;
		target(out, CG_T_TRANSACTIONS, is_get(m), get_head);
		return;
	}
	/* The longest route path that is the path or a folder above it: /fhir
	 * and /fhir-files are two routes, /fhirx is neither. */
	for (i = 0, rl = 0; i < s->nroutes; i++) {
		const struct cg_route_cfg *r = &s->routes[i];
		size_t n = strlen(r->path);

		if (n >= rl && strncmp(path, r->path, n) == 0 && (path[n] == 0 || path[n] == '/')) {
			out->route = r;
			rl = n;
		}
	}
	if (!out->route) {
		target(out, CG_T_NONE, false, NULL);
		return;
	}
	under_route(out->route, m, path + rl, out);
}
