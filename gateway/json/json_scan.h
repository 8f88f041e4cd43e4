/*
 * json_scan.h: a strict, allocation-free JSON (RFC 8259) scanner.
 *
 * cJSON builds our trees, but it is lenient: it accepts raw control
 * characters and invalid UTF-8 in strings, lone surrogates, \u0000 (which
 * silently truncates a C string) and duplicate member names, and it reports
 * neither line nor column. Every piece of outside JSON therefore passes this
 * scanner first; what passes is text that cJSON parses faithfully.
 *
 * The scanner is iterative (no recursion, so nesting cannot exhaust the
 * stack) and enforces the limits below as it goes. The tree it builds keeps
 * the offset of every value and member name: that is how issues found on the
 * tree get their line and column back (see locate.h).
 */
#ifndef CG_JSON_SCAN_H
#define CG_JSON_SCAN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "diag.h"

struct cJSON;
struct cg_arena;

#define CG_JSON_DEFAULT_MAX_DEPTH  32
#define CG_JSON_MAX_MAX_DEPTH      1024
#define CG_JSON_DEFAULT_MAX_STRING (1024u * 1024) /* FHIR's limit for strings; attachments */
#define CG_JSON_DEFAULT_MAX_RECORD (1024u * 1024)

struct cg_json_limits {
	unsigned max_depth; /* objects and arrays nested, the outermost counting 1 */
	size_t max_string;  /* bytes in one string, member name or number, as written */
	size_t max_record;  /* bytes in one record */
};

void cg_json_limits_default(struct cg_json_limits *lim);

struct cg_json_fault {
	enum cg_code code; /* one of the CG_C_JSON_* codes */
	size_t offset;     /* where in the buffer */
	char message[160];
};

#define CG_JSON_NO_KEY ((size_t)-1)

/* A node built by cg_json_parse, and where it was written. */
struct cg_json_placed {
	struct cJSON node; /* first: a cJSON * of the tree points here */
	size_t value_off;  /* the value's first byte */
	size_t key_off;    /* its member name's quote, or CG_JSON_NO_KEY */
};

/* Set in a number node's type by cg_json_parse when the number was written
 * with a fraction or an exponent (1.0, 1e0, 10e-1): such a value is not an
 * integer as written, whatever its value, and integer fields refuse it (the
 * text is what an NDJSON destination stores). A bit cJSON leaves alone: its
 * type tests and printing look at the low byte only. */
#define CG_JSON_NOT_INTEGRAL (1 << 12)

/* Skips JSON white space from pos; returns the first other offset (or end). */
size_t cg_json_skip_ws(const char *p, size_t end, size_t pos);

/*
 * Scans one JSON value that starts at p[*pos] (white space before it is
 * skipped), reading no further than p[end - 1]. On success returns 0 and sets
 * *pos just past the value. On failure returns -1 and fills *fault; a value
 * cut off by `end` gives a json-syntax fault at offset `end` exactly.
 */
int cg_json_scan(const char *p, size_t end, size_t *pos, const struct cg_json_limits *lim,
                 struct cg_json_fault *fault);

/*
 * The same scan, building the cJSON tree of the value as it goes, so that
 * records are read once instead of twice (scanner, then cJSON_Parse). Nodes
 * and strings come from arena and live until it is reset: never pass the
 * tree to cJSON_Delete. Returns 0 (tree in *out), -1 (*fault says why) or
 * -2 when the arena is out of memory.
 *
 * Each node is the first member of a struct cg_json_placed that says where
 * its value starts in p (its first byte) and where its member name does (its
 * quote; CG_JSON_NO_KEY for array elements and the top-level value): an
 * issue found on the tree gets its place without reading the text again
 * (see locate.h). Only a node of such a tree has them: nothing
 * copied from it (cJSON_Duplicate) or added to it does.
 */
int cg_json_parse(const char *p, size_t end, size_t *pos, const struct cg_json_limits *lim,
                  struct cg_arena *arena, struct cJSON **out, struct cg_json_fault *fault);

#endif
