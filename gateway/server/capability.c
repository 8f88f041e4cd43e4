/* capability.c: what a FHIR route serves; see capability.h. */
#include <stdio.h>
#include <string.h>

#include "capability.h"
#include "json_write.h"
#include "log.h"
#include "map.h"
#include "settings.h"
#include "version.h"

bool
cg_capability_forwards(const struct cg_route_cfg *r)
{
	return r->dest && strcmp(r->method, "POST") == 0;
}

bool
cg_capability_creates(const struct cg_route_cfg *r)
{
	/* A destination that takes records maps a whole Bundle to a record; a
	 * lone Procedure or Observation is not one. */
	return cg_capability_forwards(r) && r->dest->format == CG_PAYLOAD_FHIR;
}

/* "interaction": [{"code": code}] */
static void
interaction(struct cg_jw *w, const char *code)
{
	cg_jw_object(w, NULL);
	cg_jw_string(w, "code", code);
	cg_jw_end(w);
}

/* One rest.resource entry: its type, create where the route forwards one,
 * $validate; or read only, for our conformance resources. */
static void
resource(struct cg_jw *w, const char *type, bool create, bool validate, bool read)
{
	cg_jw_object(w, NULL);
	cg_jw_string(w, "type", type);
	if (create || read) {
		cg_jw_array(w, "interaction");
		interaction(w, create ? "create" : "read");
		cg_jw_end(w);
	}
	if (validate) {
		cg_jw_array(w, "operation");
		cg_jw_object(w, NULL);
		cg_jw_string(w, "name", "validate");
		cg_jw_string(w, "definition",
		             "http://hl7.org/fhir/OperationDefinition/Resource-validate");
		cg_jw_end(w);
		cg_jw_end(w);
	}
	cg_jw_end(w);
}

void
cg_capability_summary(const struct cg_route_cfg *r, char *out, size_t n)
{
	const char *p = r->path;

	if (cg_capability_forwards(r))
		snprintf(out, n,
		         "%s is a write-only gateway to destination %s: it takes POST %s (a "
		         "transaction or batch Bundle)%s%s%s, POST %s/Procedure/$validate, POST "
		         "%s/Observation/$validate and GET %s/metadata; it does not read or "
		         "search (the destination does)",
		         p, r->dest->name, p, cg_capability_creates(r) ? ", POST " : "",
		         cg_capability_creates(r) ? p : "",
		         cg_capability_creates(r) ? "/Procedure and /Observation (create)" : "", p,
		         p, p);
	else
		snprintf(out, n,
		         "%s validates only: it takes POST %s/$validate, POST "
		         "%s/Procedure/$validate, POST %s/Observation/$validate and GET "
		         "%s/metadata; it stores, reads and searches nothing",
		         p, p, p, p, p);
}

enum cg_err
cg_capability_write(struct cg_buf *b, const struct cg_route_cfg *r)
{
	struct cg_jw w;
	char when[32], doc[1024];
	bool create = cg_capability_creates(r);

	cg_log_time(when);
	cg_capability_summary(r, doc, sizeof(doc));
	cg_jw_init(&w, b);
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "resourceType", "CapabilityStatement");
	cg_jw_string(&w, "status", "active");
	cg_jw_string(&w, "date", when);
	cg_jw_string(&w, "kind", "instance");
	cg_jw_object(&w, "software");
	cg_jw_string(&w, "name", "cellgate");
	cg_jw_string(&w, "version", CG_VERSION);
	cg_jw_end(&w);
	cg_jw_object(&w, "implementation");
	cg_jw_string(&w, "description",
	             "cellgate: stem-cell treatment records and FHIR R4 gateway");
	cg_jw_end(&w);
	cg_jw_string(&w, "fhirVersion", "4.0.1");
	cg_jw_array(&w, "format");
	cg_jw_string(&w, NULL, "json");
	cg_jw_end(&w);
	cg_jw_array(&w, "rest");
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "mode", "server");
	cg_jw_string(&w, "documentation", doc);
	cg_jw_object(&w, "security");
	cg_jw_string(&w, "description", "Mutual TLS: a client certificate mapped to a client name");
	cg_jw_end(&w);
	cg_jw_array(&w, "resource");
	resource(&w, "Procedure", create, true, false);
	resource(&w, "Observation", create, true, false);
	resource(&w, "StructureDefinition", false, false, true);
	resource(&w, "CodeSystem", false, false, true);
	cg_jw_end(&w);
	if (cg_capability_forwards(r)) {
		cg_jw_array(&w, "interaction");
		interaction(&w, "transaction");
		interaction(&w, "batch");
		cg_jw_end(&w);
	}
	cg_jw_end(&w);
	cg_jw_end(&w);
	cg_jw_end(&w);
	return w.err ? CG_ENOMEM : CG_OK;
}
