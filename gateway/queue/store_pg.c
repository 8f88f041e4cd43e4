/* store_pg.c: the outbox's PostgreSQL store: connection, schema,
 * transactions, puts and reads; see store_pg.h. Claims under leases and
 * their outcomes are in store_pg_claim.c, what reads or changes many
 * messages at once in store_pg_ops.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <pthread.h>

#include "clock.h"
#include "store_pg.h"
#include "store_pg_internal.h"

/* The process's options (cg_store_set_pg_options): set before any open,
 * and again at a reload (a new password), while stores of other threads
 * may connect: under a lock, copied by each connection. */
static pthread_mutex_t opt_lock = PTHREAD_MUTEX_INITIALIZER;
static char opt_instance[CG_STORE_INSTANCE_MAX];
static long opt_lease_ms;
static char *opt_password;

void
cg_store_set_pg_options(const struct cg_store_pg_options *o)
{
	pthread_mutex_lock(&opt_lock);
	snprintf(opt_instance, sizeof(opt_instance), "%s",
	         o->instance && o->instance[0] ? o->instance : "");
	opt_lease_ms = o->lease_ms;
	if (opt_password) {
		OPENSSL_cleanse(opt_password, strlen(opt_password));
		free(opt_password);
	}
	opt_password = o->password ? strdup(o->password) : NULL;
	pthread_mutex_unlock(&opt_lock);
}

/* The schema, one step per version, as SQLite's (store_sqlite.c) but in
 * PostgreSQL's words: version 7 at once (the SQLite store's steps 1 to 7
 * made it what this is), and the leases, which SQLite's single gateway
 * does not need. The next version is a step in both. */
static const char *const migrations[] = {
        "CREATE SEQUENCE message_lease;"
        "CREATE TABLE message ("
        " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " txid text NOT NULL,"
        " dest text NOT NULL,"
        " okey text NOT NULL,"
        " client text,"
        " record_id text,"
        " type text NOT NULL,"
        " requests integer NOT NULL DEFAULT 0,"
        " state smallint NOT NULL DEFAULT 0,"
        " attempts integer NOT NULL DEFAULT 0,"
        " accepted_ms bigint NOT NULL,"
        " next_ms bigint NOT NULL,"
        " done_ms bigint,"
        " status integer,"
        " reason text,"
        " response bytea,"
        " response_type text,"
        " head boolean NOT NULL DEFAULT false,"
        /* the instance holding it in flight (or that delivered it or let
         * it die), the fencing token of its claim, and when its lease ends */
        " owner text,"
        " lease bigint,"
        " lease_until bigint);"
        "CREATE TABLE message_body (id bigint PRIMARY KEY REFERENCES message (id) ON DELETE "
        "CASCADE, body bytea NOT NULL);"
        /* A claim reads heads due or whose lease ended, in id order: the
         * index holds those two states' heads alone, so that delivered
         * messages (a week of them) and those waiting behind their key's
         * first never cost a claim anything. */
        "CREATE INDEX message_ready ON message (dest, id) WHERE head AND state IN (0, 1);"
        "CREATE INDEX message_line ON message (dest, okey, id) WHERE state IN (0, 1, 3);"
        "CREATE INDEX message_done ON message (done_ms) WHERE state IN (2, 4);"
        "CREATE INDEX message_state ON message (state, dest);"
        "CREATE INDEX message_tx ON message (txid);"
        "CREATE INDEX message_record ON message (record_id);"
        "CREATE INDEX message_owner ON message (owner) WHERE state = 1;"
        "CREATE TABLE pseudonym (registry text NOT NULL, system text NOT NULL, value text NOT "
        "NULL, pseudonym text NOT NULL, created_ms bigint NOT NULL, PRIMARY KEY (registry, "
        "system, value));"
        "CREATE UNIQUE INDEX pseudonym_back ON pseudonym (registry, pseudonym);"
        /* Every message is updated a few times and then deleted: vacuum the
         * table at 2% of dead rows rather than 20%, so that a claim's index
         * scan never walks a long tail of dead entries. */
        "ALTER TABLE message SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_analyze_scale_factor = 0.02);",
};
#define PG_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])) + 6)
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) + 6 == CG_STORE_SCHEMA_VERSION,
               "the PostgreSQL store's schema keeps the SQLite store's version");

/* The instance named by default: the host and the process. */
static void
default_instance(char *out, size_t len)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "cellgate");
	snprintf(out, len, "%.100s:%ld", host, (long)getpid());
}

static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Several statements without parameters (a migration step). */
static enum cg_err
exec_script(struct pg_store *s, const char *sql)
{
	PGresult *r;
	bool ok;

	if (!pg_connected(s))
		return CG_EIO;
	r = PQexec(s->conn, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(s->why, sizeof(s->why), "%s",
		         pg_one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn)));
	PQclear(r);
	return ok ? CG_OK : CG_EIO;
}

/* Opens a connection. Ours come before dbname, so that the connection
 * string given can override them; the password file's after it. */
static PGconn *
connect_db(const char *conninfo, char *why, size_t whylen)
{
	const char *keys[12], *vals[12];
	char *password;
	int k = 0;
	PGconn *c;

	keys[k] = "connect_timeout", vals[k++] = "5";
	keys[k] = "application_name", vals[k++] = "cellgate";
	keys[k] = "keepalives_idle", vals[k++] = "15";
	keys[k] = "keepalives_interval", vals[k++] = "5";
	keys[k] = "keepalives_count", vals[k++] = "3";
	keys[k] = "tcp_user_timeout", vals[k++] = "20000";
	keys[k] = "dbname", vals[k++] = conninfo;
	pthread_mutex_lock(&opt_lock);
	password = opt_password ? strdup(opt_password) : NULL;
	pthread_mutex_unlock(&opt_lock);
	if (password)
		keys[k] = "password", vals[k++] = password;
	keys[k] = NULL, vals[k] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (password) {
		OPENSSL_cleanse(password, strlen(password));
		free(password);
	}
	if (c && PQstatus(c) == CONNECTION_OK) {
		/* Notices ("skipping", "does not exist") are not the log's: libpq
		 * would print them on standard error, among the JSON lines. */
		PQsetNoticeProcessor(c, quiet, NULL);
		return c;
	}
	snprintf(why, whylen, "the database cannot be reached: %.400s",
	         c ? pg_one_line(PQerrorMessage(c)) : "out of memory");
	PQfinish(c);
	return NULL;
}

const char *
pg_one_line(const char *msg)
{
	/* libpq says one line per host it tried (a list of hosts): all of
	 * them, joined, so that the log says why each one failed */
	static _Thread_local char line[512];
	size_t n = 0;

	for (; *msg && n + 3 < sizeof(line); msg++) {
		if (*msg == '\n') {
			if (msg[1] && msg[1] != '\n')
				line[n++] = ';', line[n++] = ' ';
		} else if (*msg != '\t') {
			line[n++] = *msg;
		}
	}
	line[n] = '\0';
	return line;
}

/* What a connection made again needs before its first statement. */
static bool
session(struct pg_store *s)
{
	/* A statement that hangs (a lock held by a stuck session) fails
	 * rather than holding the writer or the forwarder for ever; a
	 * transaction left open by a stalled client ends by itself. Set here,
	 * not in the connection's options, which a connection string's own
	 * options= would replace. */
	PGresult *r = PQexec(s->conn, s->relaxed ? "SET statement_timeout = 30000; SET "
	                                           "idle_in_transaction_session_timeout = 60000; "
	                                           "SET synchronous_commit = off"
	                                         : "SET statement_timeout = 30000; SET "
	                                           "idle_in_transaction_session_timeout = 60000");
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	return ok;
}

bool
pg_connected(struct pg_store *s)
{
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return true;
	/* A transaction lost with its connection is its caller's failure: the
	 * statements after it must not run outside it, one by one. */
	if (s->tx) {
		snprintf(s->why, sizeof(s->why), "the connection to the database was lost");
		return false;
	}
	PQfinish(s->conn);
	s->conn = connect_db(s->conninfo, s->why, sizeof(s->why));
	if (s->conn && !session(s)) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	return s->conn != NULL;
}

PGresult *
pg_run(struct pg_store *s, const char *sql, const struct pg_params *p)
{
	PGresult *r;
	ExecStatusType st;

	int tries = 0;

again:
	if (!pg_connected(s))
		return NULL;
	r = PQexecParams(s->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL,
	                 p ? p->fmt : NULL, 1);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	/* A connection found broken by this statement (the server restarted,
	 * a failover): outside a transaction, the statement runs again once
	 * on a new one; inside, the transaction is gone: its caller's error. */
	if (PQstatus(s->conn) == CONNECTION_BAD && !s->tx && !tries++) {
		PQclear(r);
		goto again;
	}
	snprintf(s->why, sizeof(s->why), "%s",
	         pg_one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn)));
	PQclear(r);
	return NULL;
}

enum cg_err
pg_exec(struct pg_store *s, const char *sql, const struct pg_params *p)
{
	PGresult *r = pg_run(s, sql, p);

	PQclear(r);
	return r ? CG_OK : CG_EIO;
}

void
pg_text(struct pg_params *p, const char *v)
{
	p->v[p->n] = v;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
pg_int(struct pg_params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
	pg_text(p, p->num[p->n]);
}

void
pg_bytes(struct pg_params *p, const char *v, size_t len)
{
	p->v[p->n] = v ? v : "";
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

int64_t
pg_i64(const PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col);
	uint64_t v = 0;
	int i;

	if (PQgetisnull(r, row, col) || len > 8)
		return 0;
	for (i = 0; i < len; i++)
		v = v << 8 | p[i];
	if (len > 0 && len < 8 && (p[0] & 0x80)) /* a negative int2 or int4 */
		v |= ~(uint64_t)0 << (len * 8);
	return (int64_t)v;
}

/* Brings the schema to PG_SCHEMA_VERSION, under an advisory lock, so that
 * gateways starting together do not make it twice. */
static enum cg_err
migrate(struct pg_store *s, bool create, char *why, size_t whylen)
{
	PGresult *r;
	int v = -1;
	struct pg_params p = {0};

	if (pg_exec(s, "BEGIN", NULL) ||
	    pg_exec(s, "SELECT pg_advisory_xact_lock(7245031)", NULL) ||
	    pg_exec(s, "CREATE TABLE IF NOT EXISTS cellgate_schema (version integer NOT NULL)",
	            NULL))
		goto fail;
	r = pg_run(s, "SELECT version FROM cellgate_schema", NULL);
	if (!r)
		goto fail;
	if (PQntuples(r) == 1)
		v = (int)pg_i64(r, 0, 0);
	PQclear(r);
	if (v < 0 && !create) {
		pg_exec(s, "ROLLBACK", NULL);
		snprintf(why, whylen, "the database has no cellgate store (no schema)");
		return CG_EINVAL;
	}
	if (v > PG_SCHEMA_VERSION) {
		pg_exec(s, "ROLLBACK", NULL);
		snprintf(why, whylen,
		         "the store's schema is version %d, newer than this cellgate's %d: use a "
		         "newer cellgate",
		         v, PG_SCHEMA_VERSION);
		return CG_EINVAL;
	}
	if (v < 0) {
		if (pg_exec(s, "INSERT INTO cellgate_schema VALUES (0)", NULL))
			goto fail;
		v = 0;
	}
	/* Version 0 is empty; each step takes it to the version after 6 + i. */
	for (; v < PG_SCHEMA_VERSION; v = v < 7 ? 7 : v + 1) {
		size_t step = v < 7 ? 0 : (size_t)(v - 6);

		if (exec_script(s, migrations[step]))
			goto fail;
	}
	pg_int(&p, v);
	if (pg_exec(s, "UPDATE cellgate_schema SET version = $1", &p) || pg_exec(s, "COMMIT", NULL))
		goto fail;
	return CG_OK;
fail:
	snprintf(why, whylen, "the store's schema cannot be made: %s", s->why);
	pg_exec(s, "ROLLBACK", NULL);
	return CG_EIO;
}

/* What this instance left in flight when it stopped (a crash, a kill):
 * back to the queue at once, rather than at its leases' end; one whose
 * patient withdrew consent meanwhile is withdrawn. Then every line has its
 * head (marks may be missing only if a tool edited the table). */
static enum cg_err
take_back(struct pg_store *s)
{
	struct pg_params p = {0};

	pg_text(&p, s->instance);
	pg_int(&p, cg_clock_wall_ms());
	if (pg_exec(s,
	            "UPDATE message SET state = CASE WHEN " PG_IS_WITHDRAWN
	            " THEN 4 ELSE 0 END, head = CASE WHEN " PG_IS_WITHDRAWN
	            " THEN false ELSE head END, done_ms = CASE WHEN " PG_IS_WITHDRAWN
	            " THEN $2 ELSE done_ms END, owner = NULL, lease = NULL, lease_until = NULL "
	            "WHERE state = 1 AND owner = $1",
	            &p))
		return CG_EIO;
	return pg_exec(s,
	               "UPDATE message m SET head = true WHERE NOT head AND state IN (0, 1, 3) AND "
	               "NOT EXISTS (SELECT 1 FROM message e WHERE e.dest = m.dest AND e.okey = "
	               "m.okey AND e.state IN (0, 1, 3) AND e.id < m.id)",
	               NULL);
}

static enum cg_err
open_db(const char *conninfo, bool owner, struct pg_store **out, char *why, size_t whylen)
{
	struct pg_store *s = calloc(1, sizeof(*s));
	enum cg_err err;

	*out = NULL;
	if (!s || !(s->conninfo = strdup(conninfo))) {
		free(s);
		snprintf(why, whylen, "out of memory");
		return CG_ENOMEM;
	}
	cg_buf_init(&s->rd, CG_BUF_MAX_ITEMS);
	pthread_mutex_lock(&opt_lock);
	if (opt_instance[0])
		snprintf(s->instance, sizeof(s->instance), "%s", opt_instance);
	else
		default_instance(s->instance, sizeof(s->instance));
	s->lease_ms = opt_lease_ms > 0 ? opt_lease_ms : 30000;
	pthread_mutex_unlock(&opt_lock);
	s->owner = owner;
	if (!pg_connected(s)) {
		snprintf(why, whylen, "%s", s->why);
		pg_store_close(s);
		return CG_EIO;
	}
	err = migrate(s, owner, why, whylen);
	if (!err && owner && take_back(s)) {
		snprintf(why, whylen, "the store cannot be written: %s", s->why);
		err = CG_EIO;
	}
	if (err) {
		pg_store_close(s);
		return err;
	}
	*out = s;
	return CG_OK;
}

enum cg_err
pg_store_open(const char *path, struct pg_store **out, char *why, size_t whylen)
{
	return open_db(path, true, out, why, whylen);
}

enum cg_err
pg_store_open_existing(const char *path, struct pg_store **out, char *why, size_t whylen)
{
	return open_db(path, false, out, why, whylen);
}

void
pg_store_close(struct pg_store *s)
{
	if (!s)
		return;
	PQfinish(s->conn);
	cg_buf_free(&s->rd);
	free(s->leases);
	free(s->conninfo);
	free(s);
}

const char *
pg_store_instance(const struct pg_store *s)
{
	return s->instance;
}

/* COMMIT of a transaction a statement failed in answers "ROLLBACK" with
 * PGRES_COMMAND_OK: that is no commit. */
static enum cg_err
commit_checked(struct pg_store *s)
{
	PGresult *r;
	enum cg_err err = CG_EIO;

	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK ||
	    PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
		snprintf(s->why, sizeof(s->why), "the transaction was aborted or lost");
		return CG_EIO;
	}
	r = PQexec(s->conn, "COMMIT");
	if (PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0)
		err = CG_OK;
	else
		snprintf(s->why, sizeof(s->why), "%s",
		         pg_one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn)));
	PQclear(r);
	return err;
}

enum cg_err
pg_store_begin(struct pg_store *s)
{
	enum cg_err err = pg_exec(s, "BEGIN", NULL);

	s->tx = !err;
	return err;
}

enum cg_err
pg_store_commit(struct pg_store *s)
{
	enum cg_err err = commit_checked(s);

	if (err && s->conn && PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	s->tx = false;
	pg_leases_end(s, !err);
	return err;
}

void
pg_store_rollback(struct pg_store *s)
{
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	s->tx = false;
	pg_leases_end(s, false);
}

enum cg_err
pg_sub_begin(struct pg_store *s, bool guard, enum pg_sub *sub)
{
	enum cg_err err;

	*sub = !s->tx ? PG_SUB_OWN : guard ? PG_SUB_SAVEPOINT : PG_SUB_NONE;
	if (*sub == PG_SUB_NONE)
		return CG_OK;
	err = pg_exec(s, *sub == PG_SUB_OWN ? "BEGIN" : "SAVEPOINT sub", NULL);
	if (!err && *sub == PG_SUB_OWN)
		s->tx = true; /* a lost connection fails it: nothing runs again alone */
	return err;
}

enum cg_err
pg_sub_end(struct pg_store *s, enum pg_sub sub, enum cg_err err)
{
	if (sub == PG_SUB_NONE)
		return err;
	if (err) {
		if (sub == PG_SUB_OWN)
			pg_store_rollback(s);
		else if (!pg_exec(s, "ROLLBACK TO SAVEPOINT sub", NULL))
			pg_exec(s, "RELEASE SAVEPOINT sub", NULL);
		return err;
	}
	return sub == PG_SUB_OWN ? pg_store_commit(s) : pg_exec(s, "RELEASE SAVEPOINT sub", NULL);
}

void
pg_store_guard_puts(struct pg_store *s, bool guarded)
{
	s->unguarded = !guarded;
}

/* One message and its body in one statement: head when the first waiting
 * message of its key, if any, is not there to share-lock (see store_pg.h:
 * SKIP LOCKED, so that a commit never waits for a delivery being written,
 * and a message whose first is being settled is marked head: one mark too
 * many at worst, which a claim checks). */
#define PUT_SQL                                                                                    \
	"WITH first AS (SELECT id FROM message WHERE dest = $2 AND okey = $3 AND state IN (0, "    \
	"1, 3) ORDER BY id LIMIT 1 FOR SHARE SKIP LOCKED), m AS (INSERT INTO message (txid, "      \
	"dest, okey, client, record_id, type, requests, accepted_ms, next_ms, head) VALUES ($1, "  \
	"$2, $3, $4, $5, $6, $7, $9, $9, NOT EXISTS (SELECT 1 FROM first)) RETURNING id) INSERT "  \
	"INTO message_body (id, body) SELECT id, $8 FROM m RETURNING id"

enum cg_err
pg_store_add(struct pg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms, int64_t *ids)
{
	enum cg_err err;
	enum pg_sub sub;
	size_t i;

	err = pg_sub_begin(s, !s->unguarded, &sub);
	for (i = 0; i < n && !err; i++) {
		struct pg_params p = {0};
		PGresult *r;

		pg_text(&p, in[i].txid);
		pg_text(&p, in[i].dest);
		pg_text(&p, in[i].key ? in[i].key : "");
		pg_text(&p, in[i].client);
		pg_text(&p, in[i].record_id);
		pg_text(&p, in[i].type);
		pg_int(&p, in[i].requests);
		pg_bytes(&p, in[i].body, in[i].len);
		pg_int(&p, now_ms);
		r = pg_run(s, PUT_SQL, &p);
		if (!r || PQntuples(r) != 1)
			err = CG_EIO;
		else if (ids)
			ids[i] = pg_i64(r, 0, 0);
		PQclear(r);
	}
	return pg_sub_end(s, sub, err);
}

enum cg_err
pg_store_put(struct pg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms, int64_t *ids)
{
	enum cg_err err = pg_store_begin(s);

	if (!err)
		err = pg_store_add(s, in, n, now_ms, ids);
	if (!err)
		err = pg_store_commit(s);
	if (err)
		pg_store_rollback(s);
	return err;
}

/* Copies column col into the read buffer: its offset, -1 for NULL. */
static long long
keep(struct pg_store *s, const PGresult *r, int row, int col, enum cg_err *err)
{
	size_t at = s->rd.len;

	if (PQgetisnull(r, row, col) || *err)
		return -1;
	*err = cg_buf_add(&s->rd, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
	if (!*err)
		*err = cg_buf_addc(&s->rd, '\0');
	return (long long)at;
}

void
pg_read_row(struct pg_store *s, const PGresult *r, int row, bool with_body, struct cg_msg *m,
            struct row_texts *t, enum cg_err *err)
{
	memset(m, 0, sizeof(*m));
	m->id = pg_i64(r, row, 0);
	t->txid = keep(s, r, row, 1, err);
	t->dest = keep(s, r, row, 2, err);
	t->key = keep(s, r, row, 3, err);
	t->client = keep(s, r, row, 4, err);
	t->record_id = keep(s, r, row, 5, err);
	t->type = keep(s, r, row, 6, err);
	m->requests = (int)pg_i64(r, row, 7);
	if (with_body) {
		m->len = (size_t)PQgetlength(r, row, 8);
		t->body = keep(s, r, row, 8, err);
	} else {
		m->len = (size_t)pg_i64(r, row, 8);
		t->body = -1;
	}
	m->state = (enum cg_msg_state)pg_i64(r, row, 9);
	m->attempts = (int)pg_i64(r, row, 10);
	m->accepted_ms = pg_i64(r, row, 11);
	m->next_ms = pg_i64(r, row, 12);
	m->done_ms = pg_i64(r, row, 13);
	m->status = (int)pg_i64(r, row, 14);
	t->reason = keep(s, r, row, 15, err);
	m->response_len = PQgetisnull(r, row, 16) ? 0 : (size_t)PQgetlength(r, row, 16);
	t->response = keep(s, r, row, 16, err);
	t->response_type = keep(s, r, row, 17, err);
}

void
pg_set_texts(const struct pg_store *s, struct cg_msg *m, const struct row_texts *t)
{
	store_row_texts(s->rd.p, m, t);
}

enum cg_err
pg_store_get(struct pg_store *s, int64_t id, struct cg_msg *out)
{
	struct pg_params p = {0};
	struct row_texts t;
	enum cg_err err = CG_OK;
	PGresult *r;

	cg_buf_reset(&s->rd);
	pg_int(&p, id);
	r = pg_run(s, "SELECT " PG_COLUMNS " FROM message m WHERE m.id = $1", &p);
	if (!r)
		return CG_EIO;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return CG_ENOENT;
	}
	pg_read_row(s, r, 0, true, out, &t, &err);
	PQclear(r);
	if (!err)
		pg_set_texts(s, out, &t);
	return err;
}

enum cg_err
pg_store_ping(struct pg_store *s)
{
	return pg_exec(s, "SELECT 1", NULL);
}

enum cg_err
pg_store_relax(struct pg_store *s)
{
	s->relaxed = true;
	return session(s) ? CG_OK : CG_EIO;
}

enum cg_err
pg_store_leave_checkpoints(struct pg_store *s)
{
	(void)s; /* PostgreSQL's checkpointer does it */
	return CG_OK;
}

enum cg_err
pg_store_checkpoint(struct pg_store *s)
{
	(void)s;
	return CG_OK;
}
