/*
 * capability.h: the CapabilityStatement of a running gateway (GET
 * {fhir route}/metadata), made from its routes so that it tells the truth:
 * Procedure and Observation are created only where a FHIR route forwards,
 * $validate always, and our conformance resources can be read. The server
 * only serves the text: what FHIR says lives here.
 */
#ifndef CG_CAPABILITY_H
#define CG_CAPABILITY_H

#include "buf.h"
#include "err.h"

struct cg_settings;

/* Appends the CapabilityStatement's JSON text to b. CG_ENOMEM on failure. */
enum cg_err cg_capability_write(struct cg_buf *b, const struct cg_settings *s);

#endif
