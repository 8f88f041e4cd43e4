/*
 * json_pretty.h: re-indents compact JSON (as cJSON_PrintUnformatted makes
 * it) with two spaces, "key": value, and [] / {} kept on one line: the
 * layout people and diff tools expect, which cJSON_Print's tabs are not.
 */
#ifndef CG_JSON_PRETTY_H
#define CG_JSON_PRETTY_H

#include "buf.h"

enum cg_err cg_json_pretty(const char *compact, struct cg_buf *out);

#endif
