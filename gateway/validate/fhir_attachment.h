/*
 * fhir_attachment.h: an Attachment's size and hash against its data, as the
 * HL7 reference validator checks them (R4 datatypes.html: size is the
 * number of bytes of the content, hash its SHA-1, base64-encoded, before
 * any base64 encoding of data).
 */
#ifndef CG_FHIR_ATTACHMENT_H
#define CG_FHIR_ATTACHMENT_H

#include "check.h"

struct cJSON;

/* Checks the Attachment att at the current path of c (path: the element's
 * FHIRPath name, for messages): issues fhir-attachment. Only when data is
 * given and is base64 (a malformed one is fhir-format's). */
void cg_fhir_attachment_check(struct cg_check *c, const struct cJSON *att, const char *path);

#endif
