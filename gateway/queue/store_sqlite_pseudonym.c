/* store_pseudonym.c: the store's table of random pseudonyms; see store.h. */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite.h"

static enum cg_err
prepare(struct sq_store *s, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK ? CG_OK : CG_EIO;
}

static void
copy_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, len, "%s", t ? (const char *)t : "");
}

enum cg_err
sq_store_pseudonym_get(struct sq_store *s, const char *registry, const char *system,
                       const char *value, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	enum cg_err result;
	int rc;

	if (prepare(s,
	            "SELECT pseudonym FROM pseudonym WHERE registry = ?1 AND system = ?2 AND "
	            "value = ?3",
	            &st))
		return CG_EIO;
	sqlite3_bind_text(st, 1, registry, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, system, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_text(st, 0, out, outlen);
		result = CG_OK;
	} else {
		result = rc == SQLITE_DONE ? CG_ENOENT : CG_EIO;
	}
	sqlite3_finalize(st);
	return result;
}

enum cg_err
sq_store_pseudonym_put(struct sq_store *s, const char *registry, const char *system,
                       const char *value, const char *pseudonym, int64_t now_ms)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(s,
	            "INSERT OR IGNORE INTO pseudonym (registry, system, value, pseudonym, "
	            "created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
	            &st))
		return CG_EIO;
	sqlite3_bind_text(st, 1, registry, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, system, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, pseudonym, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CG_OK : CG_EIO;
}

enum cg_err
sq_store_pseudonym_resolve(struct sq_store *s, const char *registry, const char *pseudonym,
                           char *system, size_t syslen, char *value, size_t valuelen)
{
	sqlite3_stmt *st;
	enum cg_err result;
	int rc;

	if (prepare(s, "SELECT system, value FROM pseudonym WHERE registry = ?1 AND pseudonym = ?2",
	            &st))
		return CG_EIO;
	sqlite3_bind_text(st, 1, registry, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pseudonym, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_text(st, 0, system, syslen);
		copy_text(st, 1, value, valuelen);
		result = CG_OK;
	} else {
		result = rc == SQLITE_DONE ? CG_ENOENT : CG_EIO;
	}
	sqlite3_finalize(st);
	return result;
}

enum cg_err
sq_store_pseudonym_count(struct sq_store *s, const char *registry, int64_t *n)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (prepare(s,
	            registry ? "SELECT count(*) FROM pseudonym WHERE registry = ?1"
	                     : "SELECT count(*) FROM pseudonym",
	            &st))
		return CG_EIO;
	if (registry)
		sqlite3_bind_text(st, 1, registry, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? CG_OK : CG_EIO;
}
