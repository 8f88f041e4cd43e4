/*
 * arena.h: per-record memory.
 *
 * A record's tree has one node per value and one string per member name and
 * string: with glibc malloc, malloc and free took a quarter of validation
 * time. An arena hands out memory by bumping a pointer and takes it all back
 * at once when the record is done (cg_arena_reset), keeping its largest chunk
 * so that the next record allocates nothing from the system.
 *
 * Trees built in an arena (json_scan.h, cg_json_parse) are cJSON trees that
 * cJSON reads like any other, but they must never reach cJSON_Delete.
 */
#ifndef CG_ARENA_H
#define CG_ARENA_H

#include <stddef.h>

struct cg_arena_chunk;

/* Public only so that the fast path below can be inlined: treat as opaque. */
struct cg_arena {
	struct cg_arena_chunk *head; /* the chunk being filled; older ones follow */
	char *cur;                   /* next free byte of head */
	char *limit;                 /* end of head */
	size_t first;                /* size of the first chunk */
};

#define CG_ARENA_ALIGN 16

struct cg_arena *cg_arena_new(size_t first_chunk);
void cg_arena_free(struct cg_arena *a);

/* Takes back everything allocated from a; keeps its largest chunk. */
void cg_arena_reset(struct cg_arena *a);

void *cg_arena_alloc_slow(struct cg_arena *a, size_t n);

/* Allocates n bytes, aligned for any type; NULL when out of memory. Inline:
 * it runs for every value of every record. */
static inline void *
cg_arena_alloc(struct cg_arena *a, size_t n)
{
	size_t need = (n + CG_ARENA_ALIGN - 1) & ~(size_t)(CG_ARENA_ALIGN - 1);

	if (need >= n && (size_t)(a->limit - a->cur) >= need) {
		void *p = a->cur;

		a->cur += need;
		return p;
	}
	return cg_arena_alloc_slow(a, n);
}

/* Bytes handed out since the last reset, for tests and metrics. */
size_t cg_arena_used(const struct cg_arena *a);

#endif
