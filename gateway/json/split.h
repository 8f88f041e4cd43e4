/*
 * split.h: cutting an input into records.
 *
 * An input is one record (a JSON object), a JSON array of records, or NDJSON
 * (one record a line). Each record's text is checked by the strict scanner as
 * it is cut out, so what split hands on is syntactically sound JSON of at most
 * the record size limit. A JSON syntax error ends a JSON input (nothing after
 * it can be trusted); in NDJSON it spoils one line only, and the next line is
 * a fresh start. An input without any record is reported too: an empty export
 * is a mistake, not a success.
 */
#ifndef CG_SPLIT_H
#define CG_SPLIT_H

#include <stddef.h>

#include "json_scan.h"
#include "textpos.h"

struct cJSON;
struct cg_arena;

enum cg_format {
	CG_FORMAT_AUTO,  /* decide from the text (standard input, other names) */
	CG_FORMAT_JSON,  /* .json: one record or an array of records */
	CG_FORMAT_NDJSON /* .ndjson, .jsonl: one record a line */
};

/* The format a file name implies. */
enum cg_format cg_format_from_name(const char *name);

struct cg_split {
	const char *p;
	size_t len;
	size_t pos;
	enum cg_format format;
	const struct cg_json_limits *lim;
	struct cg_arena *arena; /* when set, records come parsed (span.root) */
	struct cJSON *root;     /* the tree of the record just scanned */
	int nomem;
	int state;
	unsigned long index;      /* index of the next record */
	unsigned long produced;   /* records and faults handed out */
	struct cg_textpos cursor; /* moves forward with pos */
};

struct cg_span {
	size_t start;          /* the record's first byte */
	size_t end;            /* one past its last byte */
	unsigned long index;   /* 0-based position in the input */
	struct cg_textpos pos; /* line and column of start */
	struct cJSON *root;    /* the record's tree, built in the arena, or NULL */
};

enum cg_split_result {
	CG_SPLIT_RECORD, /* *span is a record */
	CG_SPLIT_FAULT,  /* *fault says what is wrong where; *span names the slot */
	CG_SPLIT_END,
	CG_SPLIT_NOMEM /* the arena could not grow */
};

/* With arena, each record is parsed as it is cut out (one pass over the
 * text) and span.root holds its tree until the caller resets the arena. */
void cg_split_init(struct cg_split *s, const char *p, size_t len, enum cg_format format,
                   const struct cg_json_limits *lim, struct cg_arena *arena);
enum cg_split_result cg_split_next(struct cg_split *s, struct cg_span *span,
                                   struct cg_json_fault *fault);

#endif
