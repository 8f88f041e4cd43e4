/* split.c: inputs into records; see split.h. */
#include <stdio.h>
#include <string.h>

#include "split.h"

enum {
	ST_START,
	ST_ARRAY, /* inside a top-level array, before an element */
	ST_NDJSON,
	ST_TRAILING,     /* data after the array's ']' is still to be reported */
	ST_NO_SEPARATOR, /* an element not followed by ',' or ']' */
	ST_END
};

enum cg_format
cg_format_from_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0))
		return CG_FORMAT_NDJSON;
	if (dot && strcmp(dot, ".json") == 0)
		return CG_FORMAT_JSON;
	return CG_FORMAT_AUTO;
}

void
cg_split_init(struct cg_split *s, const char *p, size_t len, enum cg_format format,
              const struct cg_json_limits *lim, struct cg_arena *arena)
{
	memset(s, 0, sizeof(*s));
	s->arena = arena;
	s->p = p;
	s->len = len;
	s->format = format;
	s->lim = lim;
	s->state = ST_START;
	cg_textpos_start(&s->cursor);
	/* A UTF-8 byte order mark, as Windows tools write, is not content. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		s->pos = 3;
}

static void
slot(struct cg_split *s, struct cg_span *span, size_t start, size_t end)
{
	cg_textpos_advance(&s->cursor, s->p, start);
	span->start = start;
	span->end = end;
	span->index = s->index++;
	span->pos = s->cursor;
	span->root = NULL;
	s->produced++;
}

static enum cg_split_result
record_at(struct cg_split *s, struct cg_span *span, size_t start, size_t end)
{
	slot(s, span, start, end);
	span->root = s->root;
	return CG_SPLIT_RECORD;
}

static enum cg_split_result
fault_at(struct cg_split *s, struct cg_span *span, size_t start)
{
	slot(s, span, start, start);
	return CG_SPLIT_FAULT;
}

static enum cg_split_result
fault_here(struct cg_split *s, struct cg_span *span, struct cg_json_fault *f, size_t at,
           const char *msg)
{
	f->code = CG_C_JSON_SYNTAX;
	f->offset = at;
	snprintf(f->message, sizeof(f->message), "%s", msg);
	return fault_at(s, span, at);
}

/*
 * Scans the value at start, reading at most the record size limit. A value
 * cut off by that limit while the input goes on is too large; it is then
 * scanned to its end without the limit so that an array can go on after it.
 * *after is past the value, or (size_t)-1 when its end is unknown.
 */
static int
scan_record(struct cg_split *s, size_t start, size_t end, size_t *after, struct cg_json_fault *f)
{
	size_t limit = end, pos = start;
	int r;

	*after = (size_t)-1;
	s->root = NULL;
	if (end - start > s->lim->max_record)
		limit = start + s->lim->max_record;
	if (s->arena)
		r = cg_json_parse(s->p, limit, &pos, s->lim, s->arena, &s->root, f);
	else
		r = cg_json_scan(s->p, limit, &pos, s->lim, f);
	if (r == -2) {
		s->nomem = 1;
		return -1;
	}
	if (r == 0) {
		*after = pos;
		return 0;
	}
	if (f->code != CG_C_JSON_SYNTAX || f->offset != limit || limit == end)
		return -1;
	pos = start;
	if (cg_json_scan(s->p, end, &pos, s->lim, f))
		return -1; /* broken as well as large: the syntax error is reported */
	*after = pos;
	f->code = CG_C_JSON_TOO_LARGE;
	f->offset = start;
	snprintf(f->message, sizeof(f->message),
	         "record is larger than the record size limit (%zu bytes)", s->lim->max_record);
	return -1;
}

/* A record that must be all there is up to end: an NDJSON line, or an
 * input that holds one record. */
static enum cg_split_result
whole_record(struct cg_split *s, struct cg_span *span, struct cg_json_fault *f, size_t start,
             size_t end, const char *trailing)
{
	size_t after, rest;

	if (scan_record(s, start, end, &after, f))
		return fault_at(s, span, start);
	rest = cg_json_skip_ws(s->p, end, after);
	if (rest != end) {
		slot(s, span, start, start);
		f->code = CG_C_JSON_SYNTAX;
		f->offset = rest;
		snprintf(f->message, sizeof(f->message), "%s", trailing);
		return CG_SPLIT_FAULT;
	}
	return record_at(s, span, start, after);
}

static enum cg_split_result
next_ndjson(struct cg_split *s, struct cg_span *span, struct cg_json_fault *f)
{
	while (s->pos < s->len) {
		const char *nl = memchr(s->p + s->pos, '\n', s->len - s->pos);
		size_t line_end = nl ? (size_t)(nl - s->p) : s->len;
		size_t start = cg_json_skip_ws(s->p, line_end, s->pos);

		s->pos = nl ? line_end + 1 : s->len;
		if (start == line_end)
			continue; /* a blank line */
		return whole_record(
		        s, span, f, start, line_end,
		        "unexpected data after the record (NDJSON holds one record a line)");
	}
	return CG_SPLIT_END;
}

/* Consumes the ',' or ']' after an array element, or notes its absence. */
static void
after_element(struct cg_split *s, size_t after)
{
	size_t pos = cg_json_skip_ws(s->p, s->len, after);

	s->pos = pos;
	if (pos < s->len && s->p[pos] == ',') {
		s->pos = pos + 1;
	} else if (pos < s->len && s->p[pos] == ']') {
		s->pos = pos + 1;
		s->state = cg_json_skip_ws(s->p, s->len, s->pos) == s->len ? ST_END : ST_TRAILING;
	} else {
		s->state = ST_NO_SEPARATOR;
	}
}

static enum cg_split_result
next_element(struct cg_split *s, struct cg_span *span, struct cg_json_fault *f)
{
	size_t start = cg_json_skip_ws(s->p, s->len, s->pos);
	size_t after;

	if (scan_record(s, start, s->len, &after, f)) {
		if (after == (size_t)-1)
			s->state = ST_END;
		else
			after_element(s, after);
		return fault_at(s, span, start);
	}
	after_element(s, after);
	return record_at(s, span, start, after);
}

/* In AUTO format: one value spanning the input is JSON; a value that ends
 * on the first line with more input after it means NDJSON. */
static int
looks_like_ndjson(struct cg_split *s, size_t start)
{
	struct cg_json_fault f;
	const char *nl = memchr(s->p + start, '\n', s->len - start);
	size_t first_line_end = nl ? (size_t)(nl - s->p) : s->len;
	size_t pos = start;

	if (cg_json_scan(s->p, s->len, &pos, s->lim, &f))
		return f.offset <= first_line_end;
	return pos <= first_line_end && cg_json_skip_ws(s->p, s->len, pos) != s->len;
}

static enum cg_split_result split_next(struct cg_split *s, struct cg_span *span,
                                       struct cg_json_fault *f);

static enum cg_split_result
next_start(struct cg_split *s, struct cg_span *span, struct cg_json_fault *f)
{
	size_t start = cg_json_skip_ws(s->p, s->len, s->pos);

	if (start == s->len) {
		s->state = ST_END;
		return CG_SPLIT_END;
	}
	if (s->format == CG_FORMAT_NDJSON ||
	    (s->format == CG_FORMAT_AUTO && s->p[start] != '[' && looks_like_ndjson(s, start))) {
		s->state = ST_NDJSON;
		return next_ndjson(s, span, f);
	}
	if (s->p[start] == '[') {
		size_t first = cg_json_skip_ws(s->p, s->len, start + 1);

		if (first < s->len && s->p[first] == ']') {
			after_element(s, first);
			return s->state == ST_TRAILING ? split_next(s, span, f) : CG_SPLIT_END;
		}
		s->pos = start + 1;
		s->state = ST_ARRAY;
		return next_element(s, span, f);
	}
	/* A single record. */
	s->state = ST_END;
	return whole_record(s, span, f, start, s->len,
	                    "unexpected data after the record (use a JSON array, or .ndjson for "
	                    "one record a line)");
}

enum cg_split_result
cg_split_next(struct cg_split *s, struct cg_span *span, struct cg_json_fault *f)
{
	enum cg_split_result r = split_next(s, span, f);

	return s->nomem ? CG_SPLIT_NOMEM : r;
}

static enum cg_split_result
split_next(struct cg_split *s, struct cg_span *span, struct cg_json_fault *f)
{
	enum cg_split_result r = CG_SPLIT_END;

	switch (s->state) {
	case ST_START:
		r = next_start(s, span, f);
		break;
	case ST_ARRAY:
		r = next_element(s, span, f);
		break;
	case ST_NDJSON:
		r = next_ndjson(s, span, f);
		break;
	case ST_TRAILING:
		s->state = ST_END;
		return fault_here(s, span, f, cg_json_skip_ws(s->p, s->len, s->pos),
		                  "unexpected data after the end of the array");
	case ST_NO_SEPARATOR:
		s->state = ST_END;
		return fault_here(s, span, f, s->pos,
		                  s->pos < s->len ? "expected ',' or ']' after the array element"
		                                  : "unexpected end of input, expected ',' or ']'");
	default:
		break;
	}
	if (r != CG_SPLIT_END || s->produced != 0)
		return r;
	/* Nothing at all: an empty file, white space only, or []. */
	s->state = ST_END;
	f->code = CG_C_EMPTY_INPUT;
	f->offset = 0;
	snprintf(f->message, sizeof(f->message), "no record found in the input");
	return fault_at(s, span, 0);
}
