/*
 * textpos.h: line and column of a byte offset, counted forward.
 *
 * Lines are 1-based and end at '\n'. Columns are 1-based and count
 * characters (UTF-8 code points), not bytes, so that they match what an
 * editor shows for non-ASCII text. A cursor only moves forward; callers keep
 * one and advance it in offset order, so a whole file costs one pass.
 */
#ifndef CG_TEXTPOS_H
#define CG_TEXTPOS_H

#include <stddef.h>

struct cg_textpos {
	size_t offset;
	unsigned long line;
	unsigned long column;
};

/* The position of offset 0. */
void cg_textpos_start(struct cg_textpos *tp);

/* Moves tp forward to offset `to` of p (to >= tp->offset). */
void cg_textpos_advance(struct cg_textpos *tp, const char *p, size_t to);

#endif
