/*
 * diag.h: diagnostics, the list of what is wrong with one record or resource.
 *
 * Each issue has a stable code (the table in diag.c, documented in
 * docs/cli.md), a severity that the code decides, the RFC 6901 JSON pointer of
 * the offending value (for a missing member, the pointer it would have), a
 * message in English and, once located, the byte offset, line and column in
 * the input. The same list renders as CLI text, as NDJSON and as a FHIR
 * OperationOutcome, so every front end says the same thing.
 *
 * Messages never quote free-text values from the input (names, identifiers,
 * dates): only codes from closed lists and field names. That keeps patient data
 * out of anything that ends up in a log.
 */
#ifndef CG_DIAG_H
#define CG_DIAG_H

#include <stdbool.h>

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

enum cg_severity { CG_SEV_ERROR, CG_SEV_WARNING, CG_SEV_INFO };

/* Stable codes. Append only; the names are the public contract. */
enum cg_code {
	/* the JSON text itself */
	CG_C_JSON_SYNTAX,
	CG_C_JSON_ENCODING,
	CG_C_JSON_NUL_CHAR,
	CG_C_JSON_DEPTH,
	CG_C_JSON_TOO_LARGE,
	CG_C_JSON_STRING_TOO_LONG,
	CG_C_JSON_DUPLICATE_KEY,
	CG_C_JSON_NUMBER_RANGE,
	CG_C_EMPTY_INPUT,
	/* shape */
	CG_C_REQUIRED,
	CG_C_UNKNOWN_FIELD,
	CG_C_TYPE,
	CG_C_ENUM,
	CG_C_PATTERN,
	CG_C_RANGE,
	CG_C_INTEGER,
	CG_C_EMPTY,
	CG_C_DATE,
	CG_C_DATETIME,
	CG_C_URI,
	CG_C_SNOMED_CHECK,
	CG_C_DUPLICATE_ITEM,
	CG_C_DUPLICATE_ID,
	CG_C_UNIT,
	CG_C_NOT_ALLOWED,
	/* rules across fields */
	CG_C_ICD10CM_CATEGORY,
	CG_C_IPSC_SOURCE,
	CG_C_HLA_DONOR,
	CG_C_HLA_COUNTS,
	CG_C_DATE_ORDER,
	CG_C_FUTURE_DATE,
	CG_C_AGE_LIMIT,
	CG_C_POPULATION_AGE,
	CG_C_DOSE_KIND,
	CG_C_VALUE_ABSENT,
	CG_C_MACE_EVENTS,
	CG_C_MANIPULATION_CONFLICT,
	CG_C_VITAL_STATUS,
	/* warnings */
	CG_C_PEDIATRIC_DOSE,
	CG_C_DOSE_MISMATCH,
	CG_C_NOT_APPLICABLE,
	CG_C_DAYS_MISMATCH,
	/* information */
	CG_C_TOO_MANY_ISSUES,
	/* FHIR */
	CG_C_FHIR_RESOURCE_TYPE,
	CG_C_FHIR_CARDINALITY,
	CG_C_FHIR_CHOICE,
	CG_C_FHIR_FORMAT,
	CG_C_FHIR_BINDING,
	CG_C_FHIR_REFERENCE,
	CG_C_FHIR_BUNDLE,
	CG_C_FHIR_INVARIANT,
	CG_C_FHIR_INVARIANT_WARNING,
	/* mapping */
	CG_C_MAP_MISSING,
	CG_C_MAP_UNMAPPABLE,
	CG_C_NOT_STORABLE,
	/* registry policy */
	CG_C_CONSENT_REQUIRED,
	CG_C_POLICY_FAILED,
	CG_C_BUNDLE_TOO_LARGE,
	/* configuration */
	CG_C_CONFIG_SYNTAX,
	CG_C_CONFIG_ENV,
	CG_C_CONFIG_FILE,
	CG_C_CONFIG_REFERENCE,
	/* FHIR, issue 15: what the HL7 validator checks beyond invariants */
	CG_C_FHIR_NARRATIVE,
	CG_C_FHIR_NARRATIVE_WARNING,
	CG_C_FHIR_REFERENCE_UNRESOLVED,
	CG_C_FHIR_ATTACHMENT,
	CG_C_FHIR_BUNDLE_WARNING,
	CG_C__COUNT
};

struct cg_issue {
	enum cg_code code;
	char *path; /* RFC 6901 pointer, relative to the record */
	char *message;
	const void *node;     /* the value (or, when missing, its parent) */
	int at_key;           /* locate the member's key rather than its value */
	int located;          /* offset, line and column are set */
	size_t offset;        /* byte offset in the input */
	unsigned long line;   /* 1-based */
	unsigned long column; /* 1-based, in characters (code points) */
	size_t seq;           /* order of insertion, for a stable sort */
	size_t rank;          /* a late issue's (cg_diag.late_rank) */
};

struct cg_diag {
	struct cg_issue *v;
	size_t n;
	size_t cap;
	size_t max;      /* issues kept; past it they are only counted */
	size_t errors;   /* all errors, kept or not */
	size_t warnings; /* all warnings, kept or not */
	size_t dropped;  /* issues counted but not kept */
	/* Set while adding issues that, at the same place, come after those
	 * added while it is clear, whatever the order of adding: the FHIR
	 * invariants, evaluated during the structural walk, are listed after
	 * its issues on the same element. */
	int late;
	/* With late: where the issue's node comes in the walk that met the
	 * nodes before their children (a node's rank is below its
	 * children's). Past max, the issues kept are those the structural
	 * walk and then the invariants, walked on their own, would have added
	 * first: the non-late ones in their order, then the late ones by
	 * rank (and order at one rank). The invariants, evaluated after a
	 * node's children, would otherwise take the places of structural
	 * errors that come later in the walk. */
	size_t late_rank;
	size_t added; /* issues added since the reset, kept or not */
	/* The kept late issues, by place in v, as a heap whose top goes last:
	 * past max, each new issue asks it which one to drop in O(log n), so
	 * that no input makes a record with a large --max-issues quadratic.
	 * heap_ok is cleared when v is sorted (the places change). */
	size_t *heap;
	size_t nheap, heap_cap;
	int heap_ok;
};

void cg_diag_init(struct cg_diag *d, size_t max_issues);
/* Forgets every issue but keeps the memory for the next record. */
void cg_diag_reset(struct cg_diag *d);
void cg_diag_free(struct cg_diag *d);

/* Adds an issue. path is copied; node may be NULL (then the issue is located
 * at the start of the record). Returns CG_ENOMEM only; past d->max the issue
 * is counted and dropped, which is not an error. */
enum cg_err cg_diag_add(struct cg_diag *d, enum cg_code code, const char *path, const void *node,
                        int at_key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

enum cg_err cg_diag_vadd(struct cg_diag *d, enum cg_code code, const char *path, const void *node,
                         int at_key, const char *fmt, va_list ap)
        __attribute__((format(printf, 6, 0)));

/* Sorts the kept issues by position in the input (stable for equal ones). */
void cg_diag_sort(struct cg_diag *d);

/* 1 when no error was counted (warnings do not fail a record). */
bool cg_diag_is_valid(const struct cg_diag *d);

const char *cg_code_name(enum cg_code code);
enum cg_severity cg_code_severity(enum cg_code code);
/* The FHIR IssueType code (http://hl7.org/fhir/issue-type) for the code. */
const char *cg_code_fhir_type(enum cg_code code);
/* One line saying when the code is raised, for --list-codes and the docs. */
const char *cg_code_summary(enum cg_code code);
const char *cg_severity_name(enum cg_severity sev);

#endif
