/*
 * support.h: helpers shared by the unit tests: the code tables, a record
 * template to mutate, and running the validator on text.
 */
#ifndef CG_TEST_SUPPORT_H
#define CG_TEST_SUPPORT_H

#include <stddef.h>

#include "diag.h"
#include "store.h"
#include "mappings.h"

struct cJSON;

/* The project's code tables; loaded once, freed at exit. */
const struct cg_mappings *test_mappings(void);

/* A fresh folder under /tmp for a test file (cmocka group setup and
 * teardown): test_tmp_path is FILE inside it. */
extern char test_tmp_path[512];
int test_tmp_setup(const char *file);
const char *test_tmp_dir(void);
int test_tmp_teardown(void);

/* The outbox's tests run against SQLite files, and again against a real
 * PostgreSQL server (tests/tools/pgserver.py run sets CG_TEST_PG): then a
 * store is a schema of its own in the test database. test_pg: the server's
 * database, or NULL (SQLite). test_store_where: where the store named name
 * is (a fresh, empty schema, or a file in the test folder); test_tmp_setup
 * of a FILE ending in .db makes test_tmp_path one too. */
const char *test_pg(void);
void test_store_where(const char *name, char *out, size_t len);
/* A statement on a PostgreSQL store (where: as test_store_where gives it);
 * test_pg_int: the first column of its first row, -1 for none. */
void test_pg_exec(const char *where, const char *sql);
/* A store opened as the gateway named instance would (lease_ms each):
 * PostgreSQL's process options set first. Fails the test otherwise. */
struct cg_store *test_store_open_as(const char *where, const char *instance, long lease_ms);
/* A message for destination "registry", ordering key key, its body (and
 * record id) body. */
struct cg_msg_in test_msg(const char *key, const char *body);
long long test_pg_int(const char *where, const char *sql);

/* Reads a file under tests/data into a new string. */
char *test_read_data(const char *relpath);

/* Validates one record given as JSON text with the real pipeline (split,
 * parse, validate, locate) and returns its diagnostics in *d (the caller
 * frees them with cg_diag_free). "today" is fixed at 2026-01-01 so that tests
 * do not age. Returns the number of records seen. */
size_t test_validate_text(const char *text, struct cg_diag *d);

/* 1 when d holds an issue with this code at this JSON pointer. */
int test_has_issue(const struct cg_diag *d, enum cg_code code, const char *path);

/* One edit of a record: SET replaces or adds the member at a JSON pointer,
 * ADD appends a member even when one of that name exists (a duplicate key),
 * DEL removes it. value is JSON text. */
enum test_op_kind { TEST_END, TEST_SET, TEST_ADD, TEST_DEL };

struct test_op {
	enum test_op_kind kind;
	const char *path;
	const char *value;
};

/* Shorthands for tables of cases. */
#define SET(p, v)                                                                                  \
	{                                                                                          \
		TEST_SET, p, v                                                                     \
	}
#define ADD(p, v)                                                                                  \
	{                                                                                          \
		TEST_ADD, p, v                                                                     \
	}
#define DEL(p)                                                                                     \
	{                                                                                          \
		TEST_DEL, p, NULL                                                                  \
	}

/* Applies ops (ended by TEST_END) to the JSON text base and returns the
 * result as new text; aborts when a path does not exist. */
char *test_mutate(const char *base, const struct test_op *ops);

/* The check of one table case, the same for records and FHIR: text is
 * validated as one item; expect CG_C__COUNT means valid, with neither errors
 * nor warnings; otherwise an issue with code at path must be among the
 * issues (the only one when only), every issue located, and the item
 * invalid when the code is an error (still valid when a warning is the only
 * issue). Fails the running cmocka test otherwise. */
void test_check_case(const char *text, enum cg_code expect, const char *path, int only);

/* A table case of the FHIR validator: one of the samples of
 * tests/data/fhir/ (observation-lvef, procedure-msc, bundle-transaction),
 * changed by ops, and what test_check_case must find. */
enum test_fhir_base { OBS, PROC, BUNDLE };
struct fhir_case {
	const char *name;
	enum test_fhir_base base;
	struct test_op ops[10];
	enum cg_code code;
	const char *path;
	int only;
};
/* Runs the cases as the cmocka group name; its exit status. */
int test_run_fhir_cases(const char *group, const struct fhir_case *cases, size_t n);

/* Prints d to stderr (on failure, to see what was found instead). */
void test_dump(const struct cg_diag *d);

#endif
