/*
 * fuzz_json.c: differential libFuzzer target. Whatever the strict scanner
 * accepts, cJSON must accept too, and the tree cellgate builds in one pass
 * must print exactly as the tree cJSON builds, whether cJSON prints it or
 * json_write's cg_jw_tree (which `cellgate map` uses). Also checks that scanning and
 * parsing agree on what is valid and where the value ends.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "json_write.h"
#include "json_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cg_arena *arena;
	struct cg_json_limits lim;
	struct cg_json_fault f1, f2;
	size_t pos1 = 0, pos2 = 0;
	cJSON *ours = NULL, *theirs;
	char *copy;
	int r1, r2;

	if (!arena)
		arena = cg_arena_new(1 << 16);
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	cg_json_limits_default(&lim);
	lim.max_depth = 64;
	r1 = cg_json_scan(copy, size, &pos1, &lim, &f1);
	r2 = cg_json_parse(copy, size, &pos2, &lim, arena, &ours, &f2);
	if (r1 != r2 || (r1 == 0 && pos1 != pos2) ||
	    (r1 != 0 && (f1.code != f2.code || f1.offset != f2.offset)))
		abort();
	if (r2 == 0) {
		char *p1, *p2;

		theirs = cJSON_ParseWithLength(copy, pos2);
		if (!theirs)
			abort(); /* strict accepted what lenient refused */
		p1 = cJSON_PrintUnformatted(ours);
		p2 = cJSON_PrintUnformatted(theirs);
		if (!p1 || !p2 || strcmp(p1, p2) != 0)
			abort();
		{
			struct cg_buf b;
			struct cg_jw w;

			cg_buf_init(&b, CG_BUF_MAX_ITEMS);
			cg_jw_init(&w, &b);
			cg_jw_tree(&w, NULL, ours);
			/* The writer nests less deeply than the parser allows. */
			if (w.err != CG_ELIMIT &&
			    (w.err || b.len != strlen(p2) || memcmp(b.p, p2, b.len) != 0))
				abort();
			cg_buf_free(&b);
		}
		free(p1);
		free(p2);
		cJSON_Delete(theirs);
	}
	cg_arena_reset(arena);
	free(copy);
	return 0;
}
