/* arena.c: bump allocation for per-record trees; see arena.h. */
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "arena.h"

struct cg_arena_chunk {
	struct cg_arena_chunk *next;
	size_t size; /* usable bytes after the header */
	alignas(CG_ARENA_ALIGN) char data[];
};

/*
 * In a debug build (no NDEBUG) every live arena is on one list, so that the
 * cJSON free hook can tell arena memory that is not the active arena's from
 * malloc'd memory: a tree built while one arena was active and deleted while
 * another is (or none) would otherwise go to free(), which a release build
 * survives only by luck. The hook aborts instead, naming the mistake.
 */
#ifndef NDEBUG
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cg_arena *live[256];
static size_t nlive;

static void
track(struct cg_arena *a, int on)
{
	size_t i;

	pthread_mutex_lock(&live_lock);
	if (on && nlive < sizeof(live) / sizeof(live[0]))
		live[nlive++] = a;
	for (i = 0; !on && i < nlive; i++)
		if (live[i] == a) {
			live[i] = live[--nlive];
			break;
		}
	pthread_mutex_unlock(&live_lock);
}
#else
#define track(a, on) ((void)0)
#endif

struct cg_arena *
cg_arena_new(size_t first_chunk)
{
	struct cg_arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->first = first_chunk < 4096 ? 4096 : first_chunk;
	track(a, 1);
	return a;
}

void
cg_arena_free(struct cg_arena *a)
{
	struct cg_arena_chunk *c, *next;

	if (!a)
		return;
	track(a, 0);
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *
cg_arena_alloc_slow(struct cg_arena *a, size_t n)
{
	size_t need = (n + CG_ARENA_ALIGN - 1) & ~(size_t)(CG_ARENA_ALIGN - 1);
	size_t size = a->head ? a->head->size * 2 : a->first;
	struct cg_arena_chunk *c;

	if (need < n)
		return NULL;
	while (size < need)
		size *= 2;
	c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->size = size;
	c->next = a->head;
	a->head = c;
	a->cur = c->data + need;
	a->limit = c->data + size;
	return c->data;
}

void
cg_arena_reset(struct cg_arena *a)
{
	struct cg_arena_chunk *c = a->head, *next;

	if (!c)
		return;
	/* The newest chunk is the largest: keep it for the next record. */
	for (next = c->next; next; next = c->next) {
		c->next = next->next;
		free(next);
	}
	a->cur = c->data;
	a->limit = c->data + c->size;
}

size_t
cg_arena_used(const struct cg_arena *a)
{
	const struct cg_arena_chunk *c;
	size_t used = 0;

	if (!a->head)
		return 0;
	used = (size_t)(a->cur - a->head->data);
	for (c = a->head->next; c; c = c->next)
		used += c->size; /* older chunks were filled as far as they could be */
	return used;
}

static _Thread_local struct cg_arena *active;

struct cg_arena *
cg_arena_activate(struct cg_arena *a)
{
	struct cg_arena *prev = active;

	active = a;
	return prev;
}

int
cg_arena_owns(const struct cg_arena *a, const void *p)
{
	const struct cg_arena_chunk *c;

	for (c = a->head; c; c = c->next)
		if ((const char *)p >= c->data && (const char *)p < c->data + c->size)
			return 1;
	return 0;
}

static void *
hook_malloc(size_t n)
{
	return active ? cg_arena_alloc(active, n) : malloc(n);
}

#ifndef NDEBUG
/* Whether p is in a live arena other than the active one. */
static int
in_other_arena(const void *p)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&live_lock);
	for (i = 0; i < nlive && !found; i++)
		found = live[i] != active && cg_arena_owns(live[i], p);
	pthread_mutex_unlock(&live_lock);
	return found;
}
#endif

static void
hook_free(void *p)
{
	/* Arena memory comes back at reset; anything else was malloc'd. */
	if (!p || (active && cg_arena_owns(active, p)))
		return;
#ifndef NDEBUG
	if (in_other_arena(p)) {
		fprintf(stderr, "cellgate: a cJSON tree from one arena freed while another "
		                "(or none) is active: deactivate the arena that built it first "
		                "(arena.h)\n");
		abort();
	}
#endif
	free(p);
}

void
cg_arena_cjson_hooks(void)
{
	cJSON_Hooks hooks = {hook_malloc, hook_free};

	cJSON_InitHooks(&hooks);
}

static _Thread_local struct cg_arena *thread_arenas[CG_ARENA_SLOTS];

struct cg_arena *
cg_arena_thread(int slot, size_t first_chunk)
{
	struct cg_arena **a = &thread_arenas[slot];

	if (!*a)
		*a = cg_arena_new(first_chunk);
	else
		cg_arena_reset(*a);
	return *a;
}

void
cg_arena_thread_release(void)
{
	int i;

	for (i = 0; i < CG_ARENA_SLOTS; i++) {
		cg_arena_free(thread_arenas[i]);
		thread_arenas[i] = NULL;
	}
}
