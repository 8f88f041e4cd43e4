/*
 * support.h: helpers shared by the unit tests: the code tables, a record
 * template to mutate, and running the validator on text.
 */
#ifndef CG_TEST_SUPPORT_H
#define CG_TEST_SUPPORT_H

#include <stddef.h>

#include "diag.h"
#include "mappings.h"

struct cJSON;

/* The project's code tables; loaded once, freed at exit. */
const struct cg_mappings *test_mappings(void);

/* Reads a file under tests/data into a new string. */
char *test_read_data(const char *relpath);

/* Validates one record given as JSON text with the real pipeline (split,
 * parse, validate, locate) and returns its diagnostics in *d (the caller
 * frees them with cg_diag_free). "today" is fixed at 2026-01-01 so that tests
 * do not age. Returns the number of records seen. */
size_t test_validate_text(const char *text, struct cg_diag *d);

/* 1 when d holds an issue with this code at this JSON pointer. */
int test_has_issue(const struct cg_diag *d, enum cg_code code, const char *path);

/* Prints d to stderr (on failure, to see what was found instead). */
void test_dump(const struct cg_diag *d);

#endif
