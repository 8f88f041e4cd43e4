/*
 * render.h: one record's validation result as the CLI prints it.
 *
 * Text: one line per issue, FILE:LINE:COL: severity[code] /pointer: message,
 * with control characters from the input shown escaped so that a record
 * cannot drive the terminal. JSON: one object per record on one line
 * (NDJSON), the format docs/cli.md defines. Both append to a buffer.
 */
#ifndef CG_RENDER_H
#define CG_RENDER_H

#include "buf.h"
#include "validate.h"

enum cg_err cg_render_text(struct cg_buf *b, const char *name, const struct cg_record_report *r);
enum cg_err cg_render_json(struct cg_buf *b, const char *name, const struct cg_record_report *r);

/* The same as a FHIR R4 OperationOutcome (one JSON line): one issue per
 * issue, with severity, the FHIR IssueType of the code, the code itself in
 * details.coding (system {base}/CodeSystem/cellgate-issue), the message as
 * details.text, and the JSON pointer with line and column in diagnostics. An
 * input without issues gives one "information" issue saying so, since FHIR
 * requires at least one. base is the canonical base URL. */
enum cg_err cg_render_outcome(struct cg_buf *b, const char *base, const struct cg_record_report *r);

#endif
