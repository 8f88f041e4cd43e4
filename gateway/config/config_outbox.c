/* config_outbox.c: the outbox section: where queue-mode destinations'
 * messages wait (a SQLite file, var/outbox.db beside the configuration by
 * default, or a PostgreSQL database several gateways share) and when the
 * gateway refuses more. */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "config_internal.h"

enum {
	O_QUEUE,
	O_PATH,
	O_DATABASE,
	O_PASSWORD_FILE,
	O_INSTANCE,
	O_LEASE,
	O_MAX_DEPTH,
	O_MIN_FREE,
	O_RETRY_AFTER,
	O_KEEP,
	O__N
};
static const struct cg_member outbox_spec[] = {{"queue", 0},         {"path", 0},
                                               {"database", 0},      {"password_file", 0},
                                               {"instance", 0},      {"lease_s", 0},
                                               {"max_depth", 0},     {"min_free_bytes", 0},
                                               {"retry_after_s", 0}, {"keep_delivered_s", 0}};
static const char *const queues[] = {"sqlite", "postgres", NULL};

static void
refuse(struct ck *k, const cJSON *n, const char *name, const char *why)
{
	cg_check_issue(&k->c, CG_C_NOT_ALLOWED, n, name, 0, "%s", why);
}

/* An instance's name: what `cellgate queue stats` shows and what a lease
 * carries; plain characters, so that it reads the same everywhere. */
static void
check_instance(struct ck *k, const cJSON *n)
{
	const char *s = cg_check_string(&k->c, n, "instance");
	size_t i;

	if (!s || !s[0])
		return; /* empty (${NAME:-}): the default, host:pid */
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._:-", s[i])))
			break;
	if (s[i] || i > 100)
		cg_check_issue(&k->c, CG_C_PATTERN, n, "instance", 0,
		               "an instance name is 1 to 100 of A-Z a-z 0-9 . _ : -");
}

/* The database: a libpq URI or connection string, read by libpq itself
 * (its message is not repeated: it may quote a password). The store is
 * then named in the tree's path, as store.h takes it: the URI as it is,
 * a connection string after "postgres:". */
static void
check_database(struct ck *k, cJSON *o, const cJSON *n)
{
	const char *s = cg_check_string(&k->c, n, "database");
	PQconninfoOption *opts;
	char *err = NULL, where[4096];
	int uri;

	if (!s || strstr(s, "${"))
		return;
	opts = PQconninfoParse(s, &err);
	PQfreemem(err);
	if (!opts) {
		cg_check_issue(
		        &k->c, CG_C_PATTERN, n, "database", 0,
		        "not a connection string libpq reads: postgresql://USER@HOST:PORT/DB, "
		        "or host=HOST port=PORT dbname=DB");
		return;
	}
	PQconninfoFree(opts);
	uri = strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
	if ((size_t)snprintf(where, sizeof(where), "%s%s", uri ? "" : "postgres:", s) >=
	    sizeof(where)) {
		refuse(k, n, "database", "longer than 4,000 characters");
		return;
	}
	if (!cJSON_AddStringToObject(o, "path", where))
		k->c.err = CG_ENOMEM;
}

void
cg_ck_outbox(struct ck *k, cJSON *root, const cJSON *n)
{
	static const double range[][2] = {
	        {5, 3600}, {1, 1e12}, {0, 1e15}, {1, 3600}, {0, 3153600000.0}};
	const cJSON *f[O__N] = {0};
	size_t i, mark;
	int postgres = 0;
	long v;

	if (n && cg_check_members(&k->c, n, "outbox", outbox_spec, O__N, f))
		return;
	if (!k->queued && !n)
		return;
	if (!n) {
		n = cJSON_AddObjectToObject(root, "outbox");
		if (!n) {
			k->c.err = CG_ENOMEM;
			return;
		}
	}
	/* Left empty (${NAME:-} with NAME unset reads as null): not given. */
	if (f[O_PASSWORD_FILE] && cJSON_IsNull(f[O_PASSWORD_FILE]))
		f[O_PASSWORD_FILE] = NULL;
	if (f[O_INSTANCE] && cJSON_IsNull(f[O_INSTANCE]))
		f[O_INSTANCE] = NULL;
	mark = cg_check_push_key(&k->c, "outbox");
	if (f[O_QUEUE])
		postgres = cg_check_enum(&k->c, f[O_QUEUE], "queue", queues) == 1;
	if (postgres) {
		/* One place for the messages: a path would say there were two. */
		if (f[O_PATH])
			refuse(k, f[O_PATH], "path",
			       "path is the SQLite file's; a postgres queue is in `database`");
		if (f[O_MIN_FREE])
			refuse(k, f[O_MIN_FREE], "min_free_bytes",
			       "min_free_bytes is the SQLite file's disk; watch the database's");
		if (!f[O_DATABASE])
			cg_check_issue(
			        &k->c, CG_C_REQUIRED, n, "database", 0,
			        "queue: postgres needs database (a libpq connection string or "
			        "URI; ${NAME} for one with a password)");
		else if (!f[O_PATH])
			check_database(k, cg_ck_mut(n), f[O_DATABASE]);
		/* empty (${NAME:-}): none, libpq's own ways (PGPASSWORD, .pgpass) */
		if (f[O_PASSWORD_FILE] &&
		    !(cJSON_IsString(f[O_PASSWORD_FILE]) && !f[O_PASSWORD_FILE]->valuestring[0]))
			cg_ck_want_file(k, cg_ck_mut(f[O_PASSWORD_FILE]), "password_file");
		if (f[O_INSTANCE])
			check_instance(k, f[O_INSTANCE]);
	} else {
		/* What a SQLite file has no use for is a mistake, not a no-op. */
		static const int pg_only[] = {O_DATABASE, O_PASSWORD_FILE, O_INSTANCE, O_LEASE};

		for (i = 0; i < sizeof(pg_only) / sizeof(pg_only[0]); i++)
			if (f[pg_only[i]])
				cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[pg_only[i]],
				               outbox_spec[pg_only[i]].name, 0,
				               "%s is for queue: postgres (the SQLite store is one "
				               "gateway's file)",
				               outbox_spec[pg_only[i]].name);
		if (!f[O_PATH]) {
			f[O_PATH] = cJSON_AddStringToObject(cg_ck_mut(n), "path", "var/outbox.db");
			if (!f[O_PATH]) {
				k->c.err = CG_ENOMEM;
				cg_check_pop(&k->c, mark);
				return;
			}
		}
		cg_ck_want_folder(k, cg_ck_mut(f[O_PATH]), "path");
	}
	for (i = O_LEASE; i < O__N; i++)
		if (f[i])
			cg_check_integer(&k->c, f[i], outbox_spec[i].name, range[i - O_LEASE][0],
			                 range[i - O_LEASE][1], &v);
	cg_check_pop(&k->c, mark);
}
