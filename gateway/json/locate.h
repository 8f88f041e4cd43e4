/*
 * locate.h: giving issues found on a cJSON tree their place in the text.
 *
 * cJSON keeps no positions. The strict scanner visits values in document
 * order, which is the pre-order of the tree cJSON builds from the same text
 * (cJSON keeps members in order, duplicates included). So the k-th node of a
 * pre-order walk starts at the k-th offset the scanner reports. This runs
 * only for records that have issues: valid records pay nothing for it.
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
 * Sets offset, line and column of every kept issue of d. The record's text
 * is p[start, end) (already scanned once, so it is sound), its tree is root,
 * and *at is the line and column of start. Issues with no node, and issues
 * whose node is not in the tree, are placed at start. Sorts the issues by
 * position.
 */
enum cg_err cg_locate_issues(struct cg_diag *d, const struct cJSON *root, const char *p,
                             size_t start, size_t end, const struct cg_json_limits *lim,
                             const struct cg_textpos *at);

#endif
