/* store.c: the outbox's store, SQLite or PostgreSQL; see store.h. Each call
 * goes to the store that was opened: the two keep the same schema, states
 * and rules (store_sqlite.c, store_pg.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_pg.h"
#include "store_row.h"
#include "store_sqlite.h"

struct cg_store {
	struct sq_store *sq; /* one of the two */
	struct pg_store *pg;
};

static const char *
at(const char *base, long long off)
{
	return off < 0 ? NULL : base + off;
}

void
store_row_texts(const char *base, struct cg_msg *m, const struct row_texts *t)
{
	m->txid = at(base, t->txid);
	m->dest = at(base, t->dest);
	m->key = at(base, t->key);
	m->client = at(base, t->client);
	m->record_id = at(base, t->record_id);
	m->type = at(base, t->type);
	m->body = at(base, t->body);
	m->reason = at(base, t->reason);
	m->response = at(base, t->response);
	m->response_type = at(base, t->response_type);
}

void
cg_store_filter_init(struct cg_store_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = -1;
}

bool
cg_store_is_postgres(const char *where)
{
	return strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0 ||
	       strncmp(where, "postgres:", 9) == 0;
}

/* What libpq is given: a URI as it is, a connection string without the
 * "postgres:" that marks it. */
static const char *
conninfo(const char *where)
{
	return strncmp(where, "postgres:", 9) == 0 && strncmp(where, "postgres://", 11) != 0
	               ? where + 9
	               : where;
}

static enum cg_err
open_store(const char *where, bool existing, struct cg_store **out, char *why, size_t whylen)
{
	struct cg_store *s = calloc(1, sizeof(*s));
	enum cg_err err;

	*out = NULL;
	if (!s) {
		snprintf(why, whylen, "out of memory");
		return CG_ENOMEM;
	}
	if (cg_store_is_postgres(where))
		err = existing ? pg_store_open_existing(conninfo(where), &s->pg, why, whylen)
		               : pg_store_open(conninfo(where), &s->pg, why, whylen);
	else
		err = existing ? sq_store_open_existing(where, &s->sq, why, whylen)
		               : sq_store_open(where, &s->sq, why, whylen);
	if (err) {
		free(s);
		return err;
	}
	*out = s;
	return CG_OK;
}

enum cg_err
cg_store_open(const char *path, struct cg_store **out, char *why, size_t whylen)
{
	return open_store(path, false, out, why, whylen);
}

enum cg_err
cg_store_open_existing(const char *path, struct cg_store **out, char *why, size_t whylen)
{
	return open_store(path, true, out, why, whylen);
}

void
cg_store_close(struct cg_store *s)
{
	if (!s)
		return;
	if (s->pg)
		pg_store_close(s->pg);
	else
		sq_store_close(s->sq);
	free(s);
}

const char *
cg_store_kind(const struct cg_store *s)
{
	return s->pg ? "postgres" : "sqlite";
}

const char *
cg_store_instance(const struct cg_store *s)
{
	return s->pg ? pg_store_instance(s->pg) : NULL;
}

enum cg_err
cg_store_renew(struct cg_store *s, int64_t now_ms)
{
	return s->pg ? pg_store_renew(s->pg, now_ms) : CG_OK;
}

enum cg_err
cg_store_ping(struct cg_store *s)
{
	return s->pg ? pg_store_ping(s->pg) : CG_OK;
}

enum cg_err
cg_store_health(struct cg_store *s, struct cg_store_health *out)
{
	memset(out, 0, sizeof(*out));
	return s->pg ? pg_store_health(s->pg, out) : CG_OK;
}

enum cg_err
cg_store_by_instance(struct cg_store *s, int (*cb)(const struct cg_store_instance *in, void *arg),
                     void *arg)
{
	return s->pg ? pg_store_by_instance(s->pg, cb, arg) : CG_OK;
}

enum cg_err
cg_store_put(struct cg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms, int64_t *ids)
{
	return s->pg ? pg_store_put(s->pg, in, n, now_ms, ids)
	             : sq_store_put(s->sq, in, n, now_ms, ids);
}

enum cg_err
cg_store_begin(struct cg_store *s)
{
	return s->pg ? pg_store_begin(s->pg) : sq_store_begin(s->sq);
}

enum cg_err
cg_store_add(struct cg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms, int64_t *ids)
{
	return s->pg ? pg_store_add(s->pg, in, n, now_ms, ids)
	             : sq_store_add(s->sq, in, n, now_ms, ids);
}

enum cg_err
cg_store_commit(struct cg_store *s)
{
	return s->pg ? pg_store_commit(s->pg) : sq_store_commit(s->sq);
}

void
cg_store_rollback(struct cg_store *s)
{
	if (s->pg)
		pg_store_rollback(s->pg);
	else
		sq_store_rollback(s->sq);
}

enum cg_err
cg_store_claim(struct cg_store *s, const char *dest, int64_t now_ms, size_t max, size_t max_bytes,
               struct cg_msg *out, size_t *n, bool *more)
{
	return s->pg ? pg_store_claim(s->pg, dest, now_ms, max, max_bytes, out, n, more)
	             : sq_store_claim(s->sq, dest, now_ms, max, max_bytes, out, n, more);
}

enum cg_err
cg_store_delivered(struct cg_store *s, int64_t id, int status, int64_t now_ms)
{
	return s->pg ? pg_store_delivered(s->pg, id, status, now_ms)
	             : sq_store_delivered(s->sq, id, status, now_ms);
}

enum cg_err
cg_store_retry_at(struct cg_store *s, int64_t id, int status, const char *reason, int64_t next_ms)
{
	return s->pg ? pg_store_retry_at(s->pg, id, status, reason, next_ms)
	             : sq_store_retry_at(s->sq, id, status, reason, next_ms);
}

enum cg_err
cg_store_dead(struct cg_store *s, int64_t id, int status, const char *reason, const char *response,
              size_t response_len, const char *response_type, int64_t now_ms)
{
	return s->pg ? pg_store_dead(s->pg, id, status, reason, response, response_len,
	                             response_type, now_ms)
	             : sq_store_dead(s->sq, id, status, reason, response, response_len,
	                             response_type, now_ms);
}

enum cg_err
cg_store_purge_some(struct cg_store *s, int64_t before_ms, size_t batch, int64_t *count)
{
	return s->pg ? pg_store_purge_some(s->pg, before_ms, batch, count)
	             : sq_store_purge_some(s->sq, before_ms, batch, count);
}

enum cg_err
cg_store_relax(struct cg_store *s)
{
	return s->pg ? pg_store_relax(s->pg) : sq_store_relax(s->sq);
}

void
cg_store_guard_puts(struct cg_store *s, bool guarded)
{
	if (s->pg)
		pg_store_guard_puts(s->pg, guarded);
}

enum cg_err
cg_store_leave_checkpoints(struct cg_store *s)
{
	return s->pg ? pg_store_leave_checkpoints(s->pg) : sq_store_leave_checkpoints(s->sq);
}

enum cg_err
cg_store_checkpoint(struct cg_store *s)
{
	return s->pg ? pg_store_checkpoint(s->pg) : sq_store_checkpoint(s->sq);
}

enum cg_err
cg_store_withdraw(struct cg_store *s, const char *dest, const char *key, const char *reason,
                  int64_t now_ms, int64_t *count)
{
	return s->pg ? pg_store_withdraw(s->pg, dest, key, reason, now_ms, count)
	             : sq_store_withdraw(s->sq, dest, key, reason, now_ms, count);
}

enum cg_err
cg_store_get(struct cg_store *s, int64_t id, struct cg_msg *out)
{
	return s->pg ? pg_store_get(s->pg, id, out) : sq_store_get(s->sq, id, out);
}

enum cg_err
cg_store_stats(struct cg_store *s, const char *dest, struct cg_store_stats *out)
{
	return s->pg ? pg_store_stats(s->pg, dest, out) : sq_store_stats(s->sq, dest, out);
}

enum cg_err
cg_store_stats_by_dest(struct cg_store *s,
                       int (*cb)(const char *dest, const struct cg_store_stats *st, void *arg),
                       void *arg)
{
	return s->pg ? pg_store_stats_by_dest(s->pg, cb, arg)
	             : sq_store_stats_by_dest(s->sq, cb, arg);
}

enum cg_err
cg_store_list(struct cg_store *s, const struct cg_store_filter *f,
              int (*cb)(const struct cg_msg *m, void *arg), void *arg)
{
	return s->pg ? pg_store_list(s->pg, f, cb, arg) : sq_store_list(s->sq, f, cb, arg);
}

enum cg_err
cg_store_retry(struct cg_store *s, int64_t id, int64_t now_ms)
{
	return s->pg ? pg_store_retry(s->pg, id, now_ms) : sq_store_retry(s->sq, id, now_ms);
}

enum cg_err
cg_store_retry_dead(struct cg_store *s, const char *dest, int64_t now_ms, int64_t *count)
{
	return s->pg ? pg_store_retry_dead(s->pg, dest, now_ms, count)
	             : sq_store_retry_dead(s->sq, dest, now_ms, count);
}

enum cg_err
cg_store_purge_delivered(struct cg_store *s, int64_t before_ms, size_t batch, int64_t *count)
{
	return s->pg ? pg_store_purge_delivered(s->pg, before_ms, batch, count)
	             : sq_store_purge_delivered(s->sq, before_ms, batch, count);
}

enum cg_err
cg_store_pseudonym_get(struct cg_store *s, const char *registry, const char *system,
                       const char *value, char *out, size_t outlen)
{
	return s->pg ? pg_store_pseudonym_get(s->pg, registry, system, value, out, outlen)
	             : sq_store_pseudonym_get(s->sq, registry, system, value, out, outlen);
}

enum cg_err
cg_store_pseudonym_put(struct cg_store *s, const char *registry, const char *system,
                       const char *value, const char *pseudonym, int64_t now_ms)
{
	return s->pg ? pg_store_pseudonym_put(s->pg, registry, system, value, pseudonym, now_ms)
	             : sq_store_pseudonym_put(s->sq, registry, system, value, pseudonym, now_ms);
}

enum cg_err
cg_store_pseudonym_resolve(struct cg_store *s, const char *registry, const char *pseudonym,
                           char *system, size_t syslen, char *value, size_t valuelen)
{
	return s->pg ? pg_store_pseudonym_resolve(s->pg, registry, pseudonym, system, syslen, value,
	                                          valuelen)
	             : sq_store_pseudonym_resolve(s->sq, registry, pseudonym, system, syslen, value,
	                                          valuelen);
}

enum cg_err
cg_store_pseudonym_count(struct cg_store *s, const char *registry, int64_t *n)
{
	return s->pg ? pg_store_pseudonym_count(s->pg, registry, n)
	             : sq_store_pseudonym_count(s->sq, registry, n);
}
