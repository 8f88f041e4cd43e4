/*
 * check.h: the building blocks of contract validators.
 *
 * A validator walks a cJSON tree (which came through the strict scanner) and
 * calls these to check each value. They keep the JSON pointer of where the
 * walk is, add an issue with that pointer to the diagnostics list when a
 * value is wrong, and return what they read, so a validator reads like the
 * contract it checks. Every check takes the node and its member name
 * relative to the current path, or NULL when the node is at the current path
 * (array elements, after cg_check_push_index).
 *
 * cg_check_members() is the heart: it resolves an object's members against a
 * table in one pass, which is also where unknown members (typos) and
 * duplicate member names (which cJSON keeps silently) are caught.
 */
#ifndef CG_CHECK_H
#define CG_CHECK_H

#include <stdbool.h>

#include <stddef.h>

#include "buf.h"
#include "datetime.h"
#include "diag.h"
#include "json_member.h"
#include "json_scan.h"
#include "mappings.h"

struct cJSON;

#define CG_CHECK_MAX_DEPTH CG_JSON_MAX_MAX_DEPTH

struct cg_check {
	struct cg_diag *d;
	struct {
		const char *key; /* member name, or NULL for an array index */
		size_t index;
	} segs[CG_CHECK_MAX_DEPTH]; /* the path from the record to where the walk is */
	size_t depth;
	enum cg_err err; /* sticky: the first program error (memory) */
};

struct cg_member {
	const char *name;
	int required;
};

void cg_check_init(struct cg_check *c, struct cg_diag *d);
void cg_check_free(struct cg_check *c);

/* Descending: each returns a mark for cg_check_pop. */
size_t cg_check_push_key(struct cg_check *c, const char *key);
size_t cg_check_push_index(struct cg_check *c, size_t i);
void cg_check_pop(struct cg_check *c, size_t mark);

/* Reports a problem with node, at the current path plus member (when not
 * NULL: also the pointer a missing member would have). at_key places it on
 * the member's name rather than its value. */
void cg_check_issue(struct cg_check *c, enum cg_code code, const struct cJSON *node,
                    const char *member, int at_key, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));

/* Resolves obj's members against spec[0..n): found[i] is the first member
 * named spec[i].name, or NULL. Reports unknown members (suggesting a close
 * name), repeated names and missing required members. -1 when obj is not an
 * object (reported). */
int cg_check_members(struct cg_check *c, const struct cJSON *obj, const char *name,
                     const struct cg_member *spec, size_t n, const struct cJSON **found);

/* Each returns NULL or -1 after reporting when the value is wrong. */
const char *cg_check_string(struct cg_check *c, const struct cJSON *n, const char *name);
int cg_check_enum(struct cg_check *c, const struct cJSON *n, const char *name,
                  const char *const *list);
int cg_check_enum_json(struct cg_check *c, const struct cJSON *n, const char *name,
                       const struct cJSON *list, const char **out);
const struct cg_term *cg_check_term(struct cg_check *c, const struct cJSON *n, const char *name,
                                    const struct cg_term_table *t);
int cg_check_number(struct cg_check *c, const struct cJSON *n, const char *name, double *out);
/* lo < x (lo_open) or lo <= x, and x <= hi. */
int cg_check_range(struct cg_check *c, const struct cJSON *n, const char *name, double lo,
                   int lo_open, double hi, double *out);
int cg_check_integer(struct cg_check *c, const struct cJSON *n, const char *name, double lo,
                     double hi, long *out);
int cg_check_bool(struct cg_check *c, const struct cJSON *n, const char *name, int *out);
int cg_check_date(struct cg_check *c, const struct cJSON *n, const char *name, struct cg_date *out);
int cg_check_datetime(struct cg_check *c, const struct cJSON *n, const char *name,
                      struct cg_datetime *out);
int cg_check_date_or_datetime(struct cg_check *c, const struct cJSON *n, const char *name,
                              struct cg_datetime *out);
int cg_check_uri(struct cg_check *c, const struct cJSON *n, const char *name);
/* A present array must not be empty: FHIR has no empty arrays, and an empty
 * list would not survive the round trip. */
const struct cJSON *cg_check_array(struct cg_check *c, const struct cJSON *n, const char *name);
/* 1 to 64 characters from A-Z a-z 0-9 . _ - */
const char *cg_check_id(struct cg_check *c, const struct cJSON *n, const char *name);

/* Finding repeated entries of a list in O(n log n), since a hostile list may
 * hold a hundred thousand entries. The caller fills key a (and optional
 * key b) of each entry, NULL a for entries that take no part; cg_dups_mark
 * sets dup on every entry equal to an earlier one. */
struct cg_dup {
	const char *a;
	const char *b;
	size_t index;
	int dup;
};

/* Fills v[i].a with the strings of array a's elements (or, when member is
 * given, of each element's member of that name). Returns NULL on ENOMEM. */
struct cg_dup *cg_dups_of(const struct cJSON *array, const char *member, size_t *n);
enum cg_err cg_dups_mark(struct cg_dup *v, size_t n);

/* Copies at most max bytes of s, cut on a character boundary, for messages. */
const char *cg_check_clip(const char *s, char *out, size_t max);
/* "an object", "a string"...: for messages. */
const char *cg_json_type_name(const struct cJSON *n);

/* 1 when s is a well-formed SNOMED CT concept id: 6 to 18 digits, no leading
 * zero, partition 00 or 10, and a correct Verhoeff check digit. */
bool cg_snomed_id_is_valid(const char *s);
/* 1 when s has the form of an ICD-10-CM code, dot included (I21.4, J84.112). */
bool cg_icd10cm_is_well_formed(const char *s);

#define CG_CHECK_MAX_SAFE_INTEGER 9007199254740992.0

#endif
