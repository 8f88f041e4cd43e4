/*
 * fhir_narrative.h: the narrative rules of R4 (narrative.html) on values of
 * type xhtml (Narrative.div and the like), reported as issues: the checking
 * is rules/xhtml.h's, shared with FHIRPath's htmlChecks().
 */
#ifndef CG_FHIR_NARRATIVE_H
#define CG_FHIR_NARRATIVE_H

#include "check.h"

struct cJSON;

/* Checks the xhtml string val, at the current path of c (path: the
 * element's FHIRPath name, for messages). Errors are fhir-narrative, a
 * SHOULD not met (an image from outside the resource) is
 * fhir-narrative-warning; each message says where in the XHTML. */
void cg_fhir_narrative_check(struct cg_check *c, const struct cJSON *val, const char *path);

#endif
