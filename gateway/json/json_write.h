/*
 * json_write.h: writing JSON text straight into a buffer, without building a
 * tree. Mapping a record to FHIR with cJSON trees spent most of its time in
 * cJSON itself (a node and two strdups per member, then printing and
 * freeing); writing the text directly is several times faster. Numbers are
 * printed exactly as cJSON prints them, so the output does not depend on
 * which of the two made it.
 *
 * Members are written in order; the writer adds commas and quotes. A key of
 * NULL writes an array element. Keys are written as they are: they must be
 * the caller's own names, not outside input (string values are escaped).
 * Errors are sticky: check w->err at the end.
 */
#ifndef CG_JSON_WRITE_H
#define CG_JSON_WRITE_H

#include "buf.h"

struct cJSON;

#define CG_JW_MAX_DEPTH 64

struct cg_jw {
	struct cg_buf *b;
	int depth;
	unsigned char first[CG_JW_MAX_DEPTH]; /* no member written yet at this depth */
	char kind[CG_JW_MAX_DEPTH];           /* '{' or '[' */
	enum cg_err err;
};

void cg_jw_init(struct cg_jw *w, struct cg_buf *b);
void cg_jw_object(struct cg_jw *w, const char *key);
void cg_jw_array(struct cg_jw *w, const char *key);
void cg_jw_end(struct cg_jw *w); /* closes the innermost object or array */
void cg_jw_string(struct cg_jw *w, const char *key, const char *s);
void cg_jw_bool(struct cg_jw *w, const char *key, int v);
void cg_jw_int(struct cg_jw *w, const char *key, long long v);
void cg_jw_null(struct cg_jw *w, const char *key);
/* A copy of a scalar cJSON value (string, number, boolean, null). */
void cg_jw_value(struct cg_jw *w, const char *key, const struct cJSON *v);
/* A copy of any cJSON value, objects and arrays included, as
 * cJSON_PrintUnformatted prints it. Keys of the tree are escaped: they may
 * have come from outside. */
void cg_jw_tree(struct cg_jw *w, const char *key, const struct cJSON *v);
/* The same as a whole document: appends v to b as compact JSON text. */
enum cg_err cg_jw_write_tree(struct cg_buf *b, const struct cJSON *v);
/* Appends members given as ready JSON text ("a":1,"b":2) to the open object. */
void cg_jw_raw_members(struct cg_jw *w, const char *members);
/* Appends a number as cJSON_Print would. */
enum cg_err cg_jw_number_text(struct cg_buf *b, const struct cJSON *n);

#endif
