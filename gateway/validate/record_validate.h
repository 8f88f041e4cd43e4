/*
 * record_validate.h: every rule of the stem-cell treatment record contract
 * (shared/spec/stemcell-record-v1.md, documented for users in
 * docs/record-format.md).
 *
 * The validator walks a cJSON tree that came through the strict scanner
 * (json_scan.h) and adds one issue per problem to a diagnostics list: shape
 * (required, unknown and duplicate members, types), values (enums, patterns,
 * ranges, calendar dates, RFC 3339 date-times, units per measure) and the
 * rules across fields. It never stops at the first problem, never allocates
 * per value on the happy path, and knows nothing of files or sockets.
 */
#ifndef CG_RECORD_VALIDATE_H
#define CG_RECORD_VALIDATE_H

#include "datetime.h"
#include "diag.h"
#include "err.h"
#include "mappings.h"

struct cJSON;

/* Checks one record. today decides what "in the future" means. Returns
 * CG_ENOMEM only: problems with the record go into d. */
enum cg_err cg_record_validate(const struct cJSON *record, const struct cg_mappings *m,
                               const struct cg_date *today, struct cg_diag *d);

#endif
