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

/*
 * cJSON trees that cellgate builds with the cJSON API (mapping output) can
 * come from an arena too: cg_arena_cjson_hooks() points cJSON's one global
 * set of allocation hooks at the calling thread's active arena, falling back
 * to malloc/free when none is active. Call it once at start, before threads.
 * While an arena is active, every cJSON allocation of that thread (trees,
 * printed text) lives until the arena is reset: free it with cJSON_free (or
 * cJSON_Delete), never with free().
 */
void cg_arena_cjson_hooks(void);
/* Makes a the thread's active arena for cJSON (NULL: none); returns the old one. */
struct cg_arena *cg_arena_activate(struct cg_arena *a);

/*
 * Per-thread arenas that outlive a call: a server handles thousands of
 * bodies a second on each thread, and a fresh arena per body meant a fresh
 * 256 KB from malloc each time. cg_arena_thread(slot) hands out the calling
 * thread's arena for slot (0..3), made on first use and reset before it is
 * returned; cg_arena_thread_release() frees them all when the thread ends.
 * A caller must not use a slot another caller up its stack holds.
 */
enum { CG_ARENA_SLOT_PARSE, CG_ARENA_SLOT_MAP, CG_ARENA_SLOT_FHIRPATH, CG_ARENA_SLOTS = 4 };
struct cg_arena *cg_arena_thread(int slot, size_t first_chunk);
void cg_arena_thread_release(void);

/* Whether p lies in one of a's chunks (memory a handed out, since its
 * last reset or before: reset keeps the chunks). */
int cg_arena_owns(const struct cg_arena *a, const void *p);

/* Bytes handed out since the last reset, for tests and metrics. */
size_t cg_arena_used(const struct cg_arena *a);

#endif
