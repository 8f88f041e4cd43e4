/*
 * locate.h: giving issues found on a cJSON tree their place in the text.
 *
 * cJSON keeps no positions, but the tree cg_json_parse builds does: each
 * node is a struct cg_json_placed that says where its value and member name
 * start. Issues name their node; locating them is finding those nodes in the
 * tree. This runs only for records that have issues: valid records pay
 * nothing for it.
 */
#ifndef CG_LOCATE_H
#define CG_LOCATE_H

#include <stddef.h>

#include "diag.h"
#include "err.h"
#include "json_scan.h"
#include "textpos.h"

struct cJSON;

/*
 * Sets offset, line and column of every kept issue of d. root is the tree
 * cg_json_parse built from a record's text, unchanged since (its nodes carry
 * their offsets: anything else would be read as if it did); p is the text
 * the offsets are in, start the record's first byte and *at its line and
 * column. Issues with no node, and issues whose node is not in the tree, are
 * placed at start. Sorts the issues by position.
 */
enum cg_err cg_locate_issues(struct cg_diag *d, const struct cJSON *root, const char *p,
                             size_t start, const struct cg_textpos *at);

#endif
