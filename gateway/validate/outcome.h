/*
 * outcome.h: writing FHIR R4 OperationOutcomes.
 *
 * The one writer behind `cellgate validate --format outcome` and every answer
 * of the server that is not a success: issues of validation (from a diag,
 * each prefixed with where the record is in a batch) and single issues of the
 * protocol (404, 413, 403...). An outcome with no issue gets one
 * "information" issue saying so, since FHIR requires at least one.
 */
#ifndef CG_OUTCOME_H
#define CG_OUTCOME_H

#include "buf.h"
#include "diag.h"
#include "json_write.h"

struct cg_outcome {
	struct cg_jw w;
	char system[600]; /* {base}/CodeSystem/cellgate-issue */
	size_t issues;
};

/* Starts an OperationOutcome in b; base is the canonical base URL. */
void cg_outcome_begin(struct cg_outcome *o, struct cg_buf *b, const char *base);
/* One issue per issue of d; where (may be NULL) starts each diagnostics,
 * e.g. "record 3, " for the fourth record of a batch. */
void cg_outcome_diag(struct cg_outcome *o, const struct cg_diag *d, const char *where);
/* One issue. severity and type are FHIR codes (error, invalid...); code is a
 * cellgate issue code or NULL; text is a message of cellgate's own. */
void cg_outcome_add(struct cg_outcome *o, const char *severity, const char *type, const char *code,
                    const char *text);
/* Closes it (adding the "no issues" issue when there was none) and a newline
 * when nl. */
enum cg_err cg_outcome_end(struct cg_outcome *o, int nl);

/* The CodeSystem that issues' details.coding cite ({base}/CodeSystem/
 * cellgate-issue): every issue code with its summary, from the one table
 * (diag.c) that the validator and docs/cli.md use. */
enum cg_err cg_outcome_code_system(struct cg_buf *b, const char *base);

/* A whole OperationOutcome with one issue, for protocol errors. */
enum cg_err cg_outcome_simple(struct cg_buf *b, const char *base, const char *severity,
                              const char *type, const char *text);

#endif
