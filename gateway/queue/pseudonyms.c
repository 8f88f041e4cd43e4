/* pseudonyms.c: random pseudonyms over the store; see pseudonyms.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pseudonyms.h"
#include "store.h"

/* Pseudonyms in memory: the ones made and not yet committed (pending),
 * which must stay, and ones read or committed, dropped when there are
 * more than CACHE_MAX (the store has them). */
#define BUCKETS   4096
#define CACHE_MAX 100000

struct entry {
	struct entry *next;
	int pending;
	char pseudonym[CG_PSEUDONYM_MAX + 1];
	size_t keylen;
	char key[]; /* registry NUL system NUL value */
};

struct cg_pseudonyms {
	pthread_mutex_t lock; /* memory: never held over a round trip to the store */
	/* the store's handle, one user at a time: held over its round trips,
	 * taken before lock when both are (an event loop takes lock only, in
	 * cg_pseudonyms_cached, and so never waits for the store) */
	pthread_mutex_t store_lock;
	struct cg_store *store;
	int direct;
	struct entry *bucket[BUCKETS];
	size_t count;
	_Atomic int64_t *down_since; /* the store's health (forwarder.h), or NULL */
	struct cg_pseudonym_source source;
};

static size_t
make_key(char *out, size_t size, const char *r, const char *s, const char *v)
{
	size_t a = strlen(r), b = strlen(s), c = strlen(v);

	if (a + b + c + 3 > size)
		return 0;
	memcpy(out, r, a + 1);
	memcpy(out + a + 1, s, b + 1);
	memcpy(out + a + b + 2, v, c + 1);
	return a + b + c + 3;
}

static uint32_t
hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

static struct entry *
find(struct cg_pseudonyms *p, const char *k, size_t n)
{
	struct entry *e;

	for (e = p->bucket[hash(k, n) % BUCKETS]; e; e = e->next)
		if (e->keylen == n && memcmp(e->key, k, n) == 0)
			return e;
	return NULL;
}

/* Drops what the store has (never a pending one). */
static void
trim(struct cg_pseudonyms *p)
{
	size_t i;

	for (i = 0; i < BUCKETS; i++) {
		struct entry **e = &p->bucket[i];

		while (*e) {
			if ((*e)->pending) {
				e = &(*e)->next;
			} else {
				struct entry *gone = *e;

				*e = gone->next;
				free(gone);
				p->count--;
			}
		}
	}
}

static enum cg_err
remember(struct cg_pseudonyms *p, const char *k, size_t n, const char *pseud, int pending)
{
	struct entry *e;

	if (p->count >= CACHE_MAX)
		trim(p);
	e = malloc(sizeof(*e) + n);
	if (!e)
		return CG_ENOMEM;
	memcpy(e->key, k, n);
	e->keylen = n;
	e->pending = pending;
	snprintf(e->pseudonym, sizeof(e->pseudonym), "%s", pseud);
	e->next = p->bucket[hash(k, n) % BUCKETS];
	p->bucket[hash(k, n) % BUCKETS] = e;
	p->count++;
	return CG_OK;
}

/* Memory's pseudonym for key, under lock. */
static int
cached(struct cg_pseudonyms *p, const char *key, size_t n, char out[CG_PSEUDONYM_MAX + 1])
{
	struct entry *e;

	pthread_mutex_lock(&p->lock);
	e = find(p, key, n);
	if (e)
		memcpy(out, e->pseudonym, sizeof(e->pseudonym));
	pthread_mutex_unlock(&p->lock);
	return e != NULL;
}

static enum cg_err
get(void *ctx, const char *registry, const char *system, const char *value,
    char out[CG_PSEUDONYM_MAX + 1])
{
	struct cg_pseudonyms *p = ctx;
	char key[4096];
	size_t n = make_key(key, sizeof(key), registry, system, value);
	enum cg_err result;

	if (!n)
		return CG_ELIMIT;
	if (cached(p, key, n, out))
		return CG_OK;
	/* A store that does not answer is not asked (a worker's loop would
	 * wait for a database's connect timeout): the item fails, 503. */
	if (p->down_since && atomic_load(p->down_since))
		return CG_EIO;
	/* The store's round trip under store_lock only: memory stays open to
	 * the loops meanwhile. Entries are added under store_lock alone, so
	 * one found missing now stays missing until this one is added. */
	pthread_mutex_lock(&p->store_lock);
	if (cached(p, key, n, out)) { /* made while this one waited */
		pthread_mutex_unlock(&p->store_lock);
		return CG_OK;
	}
	result = cg_store_pseudonym_get(p->store, registry, system, value, out,
	                                CG_PSEUDONYM_MAX + 1);
	if (result == CG_ENOENT) {
		result = cg_pseudonym_random(out);
		if (!result && p->direct)
			result = cg_store_pseudonym_put(p->store, registry, system, value, out,
			                                cg_clock_wall_ms());
		/* Another process sharing the store made the patient's first: it
		 * is the one (store_pg_ops.c). */
		if (result == CG_EINVAL && p->direct)
			result = cg_store_pseudonym_get(p->store, registry, system, value, out,
			                                CG_PSEUDONYM_MAX + 1);
		if (!result) {
			pthread_mutex_lock(&p->lock);
			result = remember(p, key, n, out, !p->direct);
			pthread_mutex_unlock(&p->lock);
		}
	} else if (result == CG_OK) {
		pthread_mutex_lock(&p->lock);
		result = remember(p, key, n, out, 0);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&p->store_lock);
	return result;
}

enum cg_err
cg_pseudonyms_cached(struct cg_pseudonyms *p, const char *registry, const char *system,
                     const char *value, char out[CG_PSEUDONYM_MAX + 1])
{
	char key[4096];
	size_t n = make_key(key, sizeof(key), registry, system, value);

	if (!n)
		return CG_ELIMIT;
	return cached(p, key, n, out) ? CG_OK : CG_ENOENT;
}

enum cg_err
cg_pseudonyms_open(const char *path, int direct, struct cg_pseudonyms **out, char *why,
                   size_t whylen)
{
	struct cg_pseudonyms *p = calloc(1, sizeof(*p));
	enum cg_err result;

	*out = NULL;
	if (!p)
		return CG_ENOMEM;
	result = cg_store_open_existing(path, &p->store, why, whylen);
	if (result) {
		free(p);
		return result;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->store_lock, NULL);
	p->direct = direct;
	p->source.get = get;
	p->source.ctx = p;
	*out = p;
	return CG_OK;
}

void
cg_pseudonyms_close(struct cg_pseudonyms *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < BUCKETS; i++) {
		struct entry *e = p->bucket[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	cg_store_close(p->store);
	pthread_mutex_destroy(&p->store_lock);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

const struct cg_pseudonym_source *
cg_pseudonyms_source(struct cg_pseudonyms *p)
{
	return p ? &p->source : NULL;
}

void
cg_pseudonyms_committed(struct cg_pseudonyms *p, const struct cg_pseudonym_use *u, size_t n)
{
	size_t i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < n; i++) {
		char key[4096];
		size_t len = make_key(key, sizeof(key), u[i].registry, u[i].system, u[i].value);
		struct entry *e = len ? find(p, key, len) : NULL;

		if (e)
			e->pending = 0;
	}
	pthread_mutex_unlock(&p->lock);
}

void
cg_pseudonyms_set_health(struct cg_pseudonyms *p, _Atomic int64_t *down_since)
{
	p->down_since = down_since;
}

void
cg_pseudonyms_forget(struct cg_pseudonyms *p, const struct cg_pseudonym_use *u, size_t n)
{
	size_t i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < n; i++) {
		char key[4096];
		size_t len = make_key(key, sizeof(key), u[i].registry, u[i].system, u[i].value);
		struct entry **at = len ? &p->bucket[hash(key, len) % BUCKETS] : NULL;

		for (; at && *at; at = &(*at)->next) {
			struct entry *e = *at;

			if (e->keylen == len && memcmp(e->key, key, len) == 0) {
				if (e->pending && strcmp(e->pseudonym, u[i].pseudonym) == 0) {
					*at = e->next;
					free(e);
					p->count--;
				}
				break;
			}
		}
	}
	pthread_mutex_unlock(&p->lock);
}

enum cg_err
cg_pseudonyms_lookup(struct cg_pseudonyms *p, const char *registry, const char *system,
                     const char *value, char out[CG_PSEUDONYM_MAX + 1])
{
	enum cg_err result;

	pthread_mutex_lock(&p->store_lock);
	result = cg_store_pseudonym_get(p->store, registry, system, value, out,
	                                CG_PSEUDONYM_MAX + 1);
	pthread_mutex_unlock(&p->store_lock);
	return result;
}

enum cg_err
cg_pseudonyms_resolve(struct cg_pseudonyms *p, const char *registry, const char *pseudonym,
                      char *system, size_t syslen, char *value, size_t valuelen)
{
	enum cg_err result;

	pthread_mutex_lock(&p->store_lock);
	result = cg_store_pseudonym_resolve(p->store, registry, pseudonym, system, syslen, value,
	                                    valuelen);
	pthread_mutex_unlock(&p->store_lock);
	return result;
}

void
cg_pseudonym_uses_free(struct cg_pseudonym_use *u, size_t n)
{
	size_t i;

	for (i = 0; u && i < n; i++) {
		free(u[i].registry);
		free(u[i].system);
		free(u[i].value);
	}
	free(u);
}
