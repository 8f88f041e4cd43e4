/* support.c: shared unit-test helpers; see support.h. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "fileio.h"
#include "support.h"
#include "validate.h"

static struct cg_mappings *mappings;

static void
free_mappings(void)
{
	cg_mappings_free(mappings);
}

const struct cg_mappings *
test_mappings(void)
{
	char *why = NULL;

	if (!mappings) {
		if (cg_mappings_load(CG_TEST_MAPPINGS, &mappings, &why)) {
			fprintf(stderr, "cannot load mappings: %s\n", why ? why : "?");
			exit(1);
		}
		atexit(free_mappings);
	}
	return mappings;
}

char *
test_read_data(const char *relpath)
{
	char path[4096];
	char *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", CG_TEST_DATA, relpath);
	if (cg_file_read(path, 1u << 26, &text, &len)) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	return text;
}

struct collect {
	struct cg_diag *out;
	size_t records;
};

static char *
xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p)
		abort();
	return p;
}

/* Copies the (reused) diagnostics of each record into the caller's list. */
static enum cg_err
collect(void *ctx, const struct cg_record_report *r)
{
	struct collect *c = ctx;
	size_t i;

	c->records++;
	for (i = 0; i < r->diag->n; i++) {
		const struct cg_issue *is = &r->diag->v[i];
		struct cg_issue *copy;

		if (cg_diag_add(c->out, is->code, is->path, NULL, 0, "%s", is->message))
			abort();
		copy = &c->out->v[c->out->n - 1];
		copy->line = is->line;
		copy->column = is->column;
		copy->offset = is->offset;
		copy->located = is->located;
	}
	return CG_OK;
}

size_t
test_validate_text(const char *text, struct cg_diag *d)
{
	struct cg_validate_opts o;
	struct collect c;
	char *copy = xstrdup(text);

	cg_validate_opts_default(&o, test_mappings());
	o.today.year = 2026;
	o.today.month = 1;
	o.today.day = 1;
	cg_diag_init(d, 1000);
	c.out = d;
	c.records = 0;
	if (cg_validate_input(&o, copy, strlen(copy), CG_FORMAT_AUTO, collect, &c))
		abort();
	free(copy);
	return c.records;
}

int
test_has_issue(const struct cg_diag *d, enum cg_code code, const char *path)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].code == code && strcmp(d->v[i].path, path) == 0)
			return 1;
	return 0;
}

void
test_dump(const struct cg_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "  %lu:%lu %s %s: %s\n", d->v[i].line, d->v[i].column,
		        cg_code_name(d->v[i].code), d->v[i].path, d->v[i].message);
}

/* Finds the parent of the member a pointer names; *last is its last segment. */
static cJSON *
parent_of(cJSON *root, const char *path, char *last, size_t lastsz)
{
	char seg[256];
	const char *p = path;
	cJSON *cur = root;

	if (*p != '/')
		abort();
	for (;;) {
		const char *next = strchr(p + 1, '/');
		size_t n = next ? (size_t)(next - p - 1) : strlen(p + 1);

		if (n >= sizeof(seg))
			abort();
		memcpy(seg, p + 1, n);
		seg[n] = '\0';
		if (!next) {
			snprintf(last, lastsz, "%s", seg);
			return cur;
		}
		if (cJSON_IsArray(cur))
			cur = cJSON_GetArrayItem(cur, atoi(seg));
		else
			cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
		if (!cur) {
			fprintf(stderr, "test_mutate: no %s in the base record\n", path);
			abort();
		}
		p = next;
	}
}

char *
test_mutate(const char *base, const struct test_op *ops)
{
	cJSON *root = cJSON_Parse(base);
	char *out;

	if (!root)
		abort();
	for (; ops->kind != TEST_END; ops++) {
		char last[256];
		cJSON *parent = parent_of(root, ops->path, last, sizeof(last));
		cJSON *value = NULL;

		if (ops->kind != TEST_DEL) {
			value = cJSON_Parse(ops->value);
			if (!value) {
				fprintf(stderr, "test_mutate: bad JSON %s\n", ops->value);
				abort();
			}
		}
		if (cJSON_IsArray(parent)) {
			int i = strcmp(last, "-") == 0 ? cJSON_GetArraySize(parent) : atoi(last);

			if (ops->kind == TEST_DEL)
				cJSON_DeleteItemFromArray(parent, i);
			else if (i >= cJSON_GetArraySize(parent))
				cJSON_AddItemToArray(parent, value);
			else
				cJSON_ReplaceItemInArray(parent, i, value);
		} else if (ops->kind == TEST_DEL) {
			if (!cJSON_GetObjectItemCaseSensitive(parent, last))
				abort();
			cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
		} else if (ops->kind == TEST_ADD ||
		           !cJSON_GetObjectItemCaseSensitive(parent, last)) {
			cJSON_AddItemToObject(parent, last, value);
		} else {
			cJSON_ReplaceItemInObjectCaseSensitive(parent, last, value);
		}
	}
	out = cJSON_Print(root);
	cJSON_Delete(root);
	if (!out)
		abort();
	return out;
}

void
test_check_case(const char *text, enum cg_code expect, const char *path, int only)
{
	struct cg_diag d;
	size_t i;

	assert_int_equal(test_validate_text(text, &d), 1);
	if (expect == CG_C__COUNT) {
		if (d.errors || d.warnings)
			test_dump(&d);
		assert_int_equal(d.errors, 0);
		assert_int_equal(d.warnings, 0);
	} else {
		if (!test_has_issue(&d, expect, path) || (only && d.n != 1)) {
			fprintf(stderr, "expected %s at %s, got:\n", cg_code_name(expect), path);
			test_dump(&d);
		}
		assert_true(test_has_issue(&d, expect, path));
		if (only)
			assert_int_equal(d.n, 1);
		if (cg_code_severity(expect) == CG_SEV_ERROR)
			assert_true(d.errors > 0);
		else if (only)
			assert_int_equal(d.errors, 0); /* a warning alone leaves it valid */
		for (i = 0; i < d.n; i++) {
			assert_true(d.v[i].located);
			assert_true(d.v[i].line >= 1);
		}
	}
	cg_diag_free(&d);
}

char test_tmp_path[512];
static char tmp_dir[64];

int
test_tmp_setup(const char *file)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/cg-test-XXXXXX");
	if (!mkdtemp(tmp_dir))
		return -1;
	if (test_pg() && strstr(file, ".db")) {
		test_store_where(file, test_tmp_path, sizeof(test_tmp_path));
		return 0;
	}
	snprintf(test_tmp_path, sizeof(test_tmp_path), "%s/%s", tmp_dir, file);
	return 0;
}

const char *
test_tmp_dir(void)
{
	return tmp_dir;
}

const char *
test_pg(void)
{
	const char *pg = getenv("CG_TEST_PG");

	return pg && pg[0] ? pg : NULL;
}

/* The connection string libpq takes, without the "postgres:" mark. */
static const char *
libpq_conninfo(const char *where)
{
	return strncmp(where, "postgres:", 9) == 0 ? where + 9 : where;
}

static PGconn *
pg_open(const char *where)
{
	PGconn *c = PQconnectdb(libpq_conninfo(where));

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("PostgreSQL: %s", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

void
test_pg_exec(const char *where, const char *sql)
{
	PGconn *c = pg_open(where);
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("PostgreSQL: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

long long
test_pg_int(const char *where, const char *sql)
{
	PGconn *c = pg_open(where);
	PGresult *r = PQexec(c, sql);
	long long v = -1;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("PostgreSQL: %s: %s", sql, PQresultErrorMessage(r));
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

struct cg_store *
test_store_open_as(const char *where, const char *instance, long lease_ms)
{
	struct cg_store_pg_options o = {instance, lease_ms, NULL};
	struct cg_store *s;
	char why[512];

	cg_store_set_pg_options(&o);
	if (cg_store_open(where, &s, why, sizeof(why)) != CG_OK)
		fail_msg("open as %s: %s", instance, why);
	return s;
}

struct cg_msg_in
test_msg(const char *key, const char *body)
{
	struct cg_msg_in m = {.txid = "tx",
	                      .dest = "registry",
	                      .key = key,
	                      .client = "ehr",
	                      .record_id = body,
	                      .type = "record",
	                      .body = body,
	                      .len = strlen(body)};

	return m;
}

void
test_store_where(const char *name, char *out, size_t len)
{
	const char *pg = test_pg();
	char schema[96], sql[256];
	size_t i, k;

	if (!pg) {
		snprintf(out, len, "%s/%s", tmp_dir, name);
		return;
	}
	/* A schema of its own: a store is the tables of the search path. */
	k = (size_t)snprintf(schema, sizeof(schema), "t%ld_", (long)getpid());
	for (i = 0; name[i] && k + 1 < sizeof(schema); i++)
		schema[k++] = isalnum((unsigned char)name[i])
		                      ? (char)tolower((unsigned char)name[i])
		                      : '_';
	schema[k] = '\0';
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
	         schema);
	test_pg_exec(pg, sql);
	snprintf(out, len, "%s options='-c search_path=%s'", pg, schema);
}

int
test_tmp_teardown(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *fhir_bases[3];

static void
run_fhir_case(void **state)
{
	const struct fhir_case *c = *state;
	char *text = test_mutate(fhir_bases[c->base], c->ops);

	test_check_case(text, c->code, c->path, c->only);
	free(text);
}

int
test_run_fhir_cases(const char *group, const struct fhir_case *cases, size_t n)
{
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	size_t i;
	int failed;

	assert_non_null(tests);
	fhir_bases[OBS] = test_read_data("fhir/observation-lvef.json");
	fhir_bases[PROC] = test_read_data("fhir/procedure-msc.json");
	fhir_bases[BUNDLE] = test_read_data("fhir/bundle-transaction.json");
	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_fhir_case;
		tests[i].initial_state = (void *)(uintptr_t)&cases[i];
	}
	failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
	for (i = 0; i < 3; i++)
		free(fhir_bases[i]);
	return failed;
}
