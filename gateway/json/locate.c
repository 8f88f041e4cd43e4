/* locate.c: line and column for issues; see locate.h. */
#include <stddef.h>
#include <stdlib.h>

#include "arena.h"
#include "locate.h"

enum cg_err
cg_locate_issues(struct cg_diag *d, const struct cg_arena *arena, const char *p, size_t start,
                 const struct cg_textpos *at)
{
	struct cg_textpos tp;
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct cg_issue *is = &d->v[i];

		/* A node of the record's tree carries its offsets (struct
		 * cg_json_placed); the arena it was parsed into holds no other
		 * cJSON node, so being in it says the node is one. Finding the
		 * nodes by walking the tree from its root was half of placing a
		 * record's issues. Anything else is placed at the start. */
		is->offset = start;
		if (is->node && cg_arena_owns(arena, is->node)) {
			const struct cg_json_placed *pl = is->node;

			is->offset = is->at_key && pl->key_off != CG_JSON_NO_KEY ? pl->key_off
			                                                         : pl->value_off;
		}
	}
	cg_diag_sort(d);
	tp = *at;
	for (i = 0; i < d->n; i++) {
		cg_textpos_advance(&tp, p, d->v[i].offset);
		d->v[i].line = tp.line;
		d->v[i].column = tp.column;
		d->v[i].located = 1;
	}
	return CG_OK;
}
