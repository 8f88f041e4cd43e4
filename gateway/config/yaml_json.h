/*
 * yaml_json.h: a YAML document (libyaml) as a cJSON tree, with where each
 * node came from, so that the configuration is checked with the same tools
 * as records (check.h) and its errors name the file's line and column.
 *
 * Mappings become objects (keys must be scalars; a repeated key stays
 * repeated, for cg_check_members to report), sequences arrays, scalars
 * strings, except plain (unquoted) true/false, null/~ and decimal integers,
 * which become booleans, null and numbers. Anchors and aliases are refused:
 * a configuration has no use for them and they are how YAML bombs are made.
 */
#ifndef CG_YAML_JSON_H
#define CG_YAML_JSON_H

#include <stdbool.h>

#include <stddef.h>

#include "err.h"

struct cJSON;

struct cg_yaml_pos {
	const struct cJSON *node;
	unsigned long line, column;         /* 1-based: where the value starts */
	unsigned long key_line, key_column; /* where its key starts (a mapping value) */
	int plain;                          /* a plain (unquoted) scalar */
};

struct cg_yaml {
	struct cJSON *root;
	struct cg_yaml_pos *pos; /* one per node, in creation order */
	size_t npos;
};

/* Parses text. On a YAML error returns CG_EINVAL with *line, *column and a
 * message in why (the caller frees it). */
enum cg_err cg_yaml_load(const char *text, size_t len, struct cg_yaml *out, unsigned long *line,
                         unsigned long *column, char **why);
void cg_yaml_free(struct cg_yaml *y);
/* Whether node came from a plain (unquoted) scalar. */
bool cg_yaml_is_plain(const struct cg_yaml *y, const struct cJSON *node);
/* Gives node, a string, the type a plain scalar of the same text has (true,
 * false, null, a number, else it stays a string), in place: its position
 * stays known. For text substituted into a plain scalar (config_env.c ${NAME}),
 * typed as if it had been written there. */
void cg_yaml_type_plain(struct cJSON *node);
/* Where node came from (line 0 when unknown); at_key: where its key is. */
void cg_yaml_where(const struct cg_yaml *y, const struct cJSON *node, int at_key,
                   unsigned long *line, unsigned long *column);

#endif
