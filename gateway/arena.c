/* arena.c: bump allocation for per-record trees; see arena.h. */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"

#define ALIGN 16

struct chunk {
	struct chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	max_align_t data[];
};

struct cg_arena {
	struct chunk *head; /* the chunk being filled; older ones follow */
	size_t first;
	size_t total; /* handed out since reset */
};

static struct chunk *
chunk_new(size_t size)
{
	struct chunk *c = malloc(sizeof(*c) + size);

	if (!c)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

struct cg_arena *
cg_arena_new(size_t first_chunk)
{
	struct cg_arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->first = first_chunk < 4096 ? 4096 : first_chunk;
	return a;
}

void
cg_arena_free(struct cg_arena *a)
{
	struct chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *
cg_arena_alloc(struct cg_arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (need < n)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t size = c ? c->size * 2 : a->first;

		while (size < need)
			size *= 2;
		c = chunk_new(size);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	a->total += need;
	return p;
}

void
cg_arena_reset(struct cg_arena *a)
{
	struct chunk *c = a->head, *next;

	if (!c)
		return;
	/* The newest chunk is the largest: keep it for the next record. */
	for (next = c->next; next; next = c->next) {
		c->next = next->next;
		free(next);
	}
	c->used = 0;
	a->total = 0;
}

size_t
cg_arena_used(const struct cg_arena *a)
{
	return a->total;
}
