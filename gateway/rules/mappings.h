/*
 * mappings.h: the code tables that records are checked and mapped against.
 *
 * Codes are data: the measures with their LOINC codes, units and ranges, the
 * indication categories with their ICD-10-CM codes, cell types, tissue
 * sources, donor types, routes and body sites live in JSON files under
 * mappings/ (documented in docs/record-format.md). They are loaded once at
 * start, checked, and are read-only afterwards, so threads may share them.
 *
 * Where the folder is: the explicit path, else $CELLGATE_MAPPINGS, else
 * <binary>/../share/cellgate/mappings (an installed cellgate), else the
 * source tree the binary was built from.
 */
#ifndef CG_MAPPINGS_H
#define CG_MAPPINGS_H

#include <stdbool.h>

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct cJSON;

/* One entry of a table: its key (the record's code) and its attributes. */
struct cg_term {
	const char *key;
	const struct cJSON *attrs;
};

/* Entries are sorted by key. */
struct cg_term_table {
	const char *name;
	struct cg_term *v;
	size_t n;
};

enum cg_value_kind { CG_VALUE_NUMBER, CG_VALUE_INTEGER, CG_VALUE_CODE, CG_VALUE_BOOLEAN };

enum cg_cell_kind { CG_CELLS, CG_VESICLES };

struct cg_measure {
	const char *key;
	const struct cJSON *attrs;
	enum cg_value_kind kind;
	const char *system; /* "local" for the project's own code system */
	const char *code;
	const char *unit;                /* number and integer measures only */
	double min, max;                 /* number and integer measures only */
	const struct cJSON *values;      /* code measures: array of strings */
	const struct cJSON *methods;     /* array of strings, or NULL */
	const struct cJSON *event_types; /* array of strings, or NULL */
	int has_grade;
	int grade_min, grade_max;
};

struct cg_fhir_structure;

struct cg_mappings {
	char *dir;
	unsigned long generation;       /* unique per load: lets caches tell tables apart */
	struct cg_fhir_structure *fhir; /* fhir-r4/structure.json */
	struct cJSON *docs[8];
	const struct cJSON *record_fhir; /* record-fhir.json: how records map to FHIR */
	const char *canonical_base;      /* its default canonical base URL */
	struct cg_term_table indications;
	struct cg_term_table cell_types;
	struct cg_term_table tissue_sources;
	struct cg_term_table donor_types;
	struct cg_term_table routes;
	struct cg_term_table body_sites;
	struct cg_measure *measures;
	size_t nmeasures;
};

/* Loads and checks every table in dir. On failure returns CG_EMAPPINGS (or
 * CG_ENOMEM) and, for the user, a message naming the file and the problem in
 * *why (the caller frees it). */
enum cg_err cg_mappings_load(const char *dir, struct cg_mappings **out, char **why);
void cg_mappings_free(struct cg_mappings *m);

/* The folder to load when the user named none; see the top of this file.
 * Returns a new string, or NULL when no candidate exists. */
char *cg_mappings_default_dir(void);

const struct cg_term *cg_term_find(const struct cg_term_table *t, const char *key);
const struct cg_measure *cg_measure_find(const struct cg_mappings *m, const char *key);
/* A string attribute of an entry, or NULL. */
const char *cg_term_str(const struct cg_term *c, const char *attr);
/* 1 when a boolean attribute is true. */
bool cg_term_has_flag(const struct cg_term *c, const char *attr);
/* The kind of product a cell-type entry describes. */
enum cg_cell_kind cg_cell_kind(const struct cg_term *cell_type);
/* 1 when icd10cm belongs to the indication (its "icd10cm" globs). */
bool cg_indication_has_icd10cm(const struct cg_term *indication, const char *icd10cm);
/* Writes "a, b, c" (the table's keys) into b, for messages. */
CG_MUST_CHECK enum cg_err cg_term_table_list(const struct cg_term_table *t, struct cg_buf *b);

#endif
