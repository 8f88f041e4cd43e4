/* capability.c: the gateway's CapabilityStatement; see capability.h. */
#include <stddef.h>

#include "capability.h"
#include "ingest.h"
#include "json_write.h"
#include "log.h"
#include "settings.h"
#include "version.h"

/* "interaction": [{"code": code}] */
static void
interaction(struct cg_jw *w, const char *code)
{
	cg_jw_array(w, "interaction");
	cg_jw_object(w, NULL);
	cg_jw_string(w, "code", code);
	cg_jw_end(w);
	cg_jw_end(w);
}

/* One rest.resource entry: its type, create when FHIR is forwarded, and
 * $validate; or read only, for our conformance resources. */
static void
capability_resource(struct cg_jw *w, const char *type, int create, int validate, int read)
{
	cg_jw_object(w, NULL);
	cg_jw_string(w, "type", type);
	if (create)
		interaction(w, "create");
	if (read)
		interaction(w, "read");
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

/* The CapabilityStatement says what this gateway does, from its routes. */
enum cg_err
cg_capability_write(struct cg_buf *b, const struct cg_settings *s)
{
	struct cg_jw w;
	char when[32];
	size_t i;
	int any_fhir_dest = 0;

	for (i = 0; i < s->nroutes; i++)
		if (s->routes[i].accept == CG_PAYLOAD_FHIR && s->routes[i].dest)
			any_fhir_dest = 1;
	cg_log_time(when);
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
	cg_jw_string(&w, "documentation",
	             "Accepts Procedure and Observation resources and transaction Bundles, "
	             "validates them against FHIR R4 and forwards them; mutual TLS.");
	cg_jw_object(&w, "security");
	cg_jw_string(&w, "description", "Mutual TLS: a client certificate mapped to a client name");
	cg_jw_end(&w);
	cg_jw_array(&w, "resource");
	capability_resource(&w, "Procedure", any_fhir_dest, 1, 0);
	capability_resource(&w, "Observation", any_fhir_dest, 1, 0);
	capability_resource(&w, "StructureDefinition", 0, 0, 1);
	capability_resource(&w, "CodeSystem", 0, 0, 1);
	cg_jw_end(&w);
	if (any_fhir_dest)
		interaction(&w, "transaction");
	cg_jw_end(&w);
	cg_jw_end(&w);
	cg_jw_end(&w);
	return w.err ? CG_ENOMEM : CG_OK;
}
