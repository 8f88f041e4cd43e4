/*
 * locate.h: giving issues found on a cJSON tree their place in the text.
 *
 * cJSON keeps no positions, but the tree cg_json_parse builds does: each
 * node is a struct cg_json_placed that says where its value and member name
 * start. Issues name their node; placing them is reading it. This runs only
 * for records that have issues: valid records pay nothing for it.
 */
#ifndef CG_LOCATE_H
#define CG_LOCATE_H

#include <stddef.h>

#include "diag.h"
#include "err.h"
#include "json_scan.h"
#include "textpos.h"

struct cJSON;
struct cg_arena;

/*
 * Sets offset, line and column of every kept issue of d, and sorts them by
 * position. arena is the one cg_json_parse built the record's tree in,
 * since its last reset, from the text p: the only cJSON nodes in it are the
 * tree's (placed) nodes, which an issue's node inside it is taken to be.
 * start is the record's first byte and *at its line and column. Issues
 * with no node, or a node not in the arena, are placed at start.
 */
enum cg_err cg_locate_issues(struct cg_diag *d, const struct cg_arena *arena, const char *p,
                             size_t start, const struct cg_textpos *at);

#endif
