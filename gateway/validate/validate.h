/*
 * validate.h: validating a whole input, record by record.
 *
 * The one pipeline behind `cellgate validate` and, later, the server's
 * request bodies: split (split.h) -> parse (cJSON) -> check (record_validate.h)
 * -> locate issues (locate.h) -> hand each record's result to a callback.
 * It knows nothing of files, terminals or sockets.
 */
#ifndef CG_VALIDATE_H
#define CG_VALIDATE_H

#include <stdbool.h>

#include <stddef.h>

#include "datetime.h"
#include "diag.h"
#include "err.h"
#include "json_scan.h"
#include "mappings.h"
#include "split.h"
#include "textpos.h"

struct cJSON;

#define CG_DEFAULT_MAX_ISSUES 100

struct cg_fhir_invariants;

struct cg_validate_opts {
	const struct cg_mappings *mappings;
	struct cg_json_limits limits;
	size_t max_issues;    /* issues kept per record */
	struct cg_date today; /* what "in the future" means */
	/* the R4 invariants evaluated on FHIR input (fhir_invariants.h), or NULL */
	const struct cg_fhir_invariants *invariants;
};

/* Defaults: the limits of json_scan.h, CG_DEFAULT_MAX_ISSUES, today (UTC). */
void cg_validate_opts_default(struct cg_validate_opts *o, const struct cg_mappings *m);

struct cg_record_report {
	unsigned long index;        /* 0-based position in the input */
	struct cg_textpos pos;      /* where the record starts */
	const char *record_id;      /* its recordId when that is a string, else NULL */
	const struct cg_diag *diag; /* located, sorted; valid = cg_diag_is_valid() */
	const struct cJSON *root; /* the parsed item (NULL after a syntax fault), during the call */
	size_t start, end;        /* the item's bytes in the input (valid when root is set) */
};

/* Called once per record, in input order. A non-zero return stops the walk
 * and is returned by cg_validate_input. */
typedef enum cg_err (*cg_report_fn)(void *ctx, const struct cg_record_report *r);

enum cg_err cg_validate_input(const struct cg_validate_opts *o, const char *p, size_t len,
                              enum cg_format format, cg_report_fn report, void *ctx);

#endif
