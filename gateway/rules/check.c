/*
 * check.c: checking JSON values against a contract, reporting each problem
 * once with its JSON pointer; see check.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "ids.h"
#include "json_scan.h"

void
cg_check_init(struct cg_check *v, struct cg_diag *d)
{
	v->d = d;
	v->err = CG_OK;
	v->depth = 0;
}

void
cg_check_free(struct cg_check *v)
{
	(void)v; /* nothing is allocated between issues */
}

/* ---- paths and issues ------------------------------------------------- */
/* The path is a stack of segments that point into the tree; the pointer
 * text is built only when an issue needs it, which keeps the walk over
 * valid records free of string work. */

static size_t
push(struct cg_check *v, const char *key, size_t index)
{
	size_t mark = v->depth;

	if (v->depth < CG_CHECK_MAX_DEPTH) {
		v->segs[v->depth].key = key;
		v->segs[v->depth].index = index;
	} else {
		v->err = CG_EINVAL; /* a validator descending this deep is a bug */
	}
	v->depth++;
	return mark;
}

size_t
cg_check_push_key(struct cg_check *v, const char *key)
{
	return push(v, key, 0);
}

size_t
cg_check_push_index(struct cg_check *v, size_t i)
{
	return push(v, NULL, i);
}

void
cg_check_pop(struct cg_check *v, size_t mark)
{
	v->depth = mark;
}

static enum cg_err
add_key(struct cg_buf *b, const char *key)
{
	const char *run = key, *k;
	enum cg_err result = cg_buf_addc(b, '/');

	for (k = key; *k && !result; k++) {
		if (*k != '~' && *k != '/')
			continue;
		result = cg_buf_add(b, run, (size_t)(k - run));
		if (!result)
			result = cg_buf_addstr(b, *k == '~' ? "~0" : "~1");
		run = k + 1;
	}
	return result ? result : cg_buf_add(b, run, (size_t)(k - run));
}

/* Writes the RFC 6901 pointer of the current path, plus member if given. */
static enum cg_err
pointer(const struct cg_check *v, const char *member, struct cg_buf *b)
{
	enum cg_err result = cg_buf_add(b, "", 0);
	size_t i, n = v->depth < CG_CHECK_MAX_DEPTH ? v->depth : CG_CHECK_MAX_DEPTH;

	for (i = 0; i < n && !result; i++)
		if (v->segs[i].key)
			result = add_key(b, v->segs[i].key);
		else if (!(result = cg_buf_addc(b, '/')))
			result = cg_buf_add_ulong(b, (unsigned long)v->segs[i].index);
	if (member && !result)
		result = add_key(b, member);
	return result;
}

/*
 * Reports a problem with `node`, which sits at the current path, or, when
 * member is given, at the current path plus that member name (the pointer a
 * missing member would have). at_key places the issue on the member's name.
 */
void
cg_check_issue(struct cg_check *v, enum cg_code code, const cJSON *node, const char *member,
               int at_key, const char *fmt, ...)
{
	struct cg_buf path;
	va_list ap;

	cg_buf_init(&path, CG_BUF_MAX_POINTER);
	if (pointer(v, member, &path)) {
		v->err = CG_ENOMEM;
		return;
	}
	va_start(ap, fmt);
	if (cg_diag_vadd(v->d, code, path.p, node, at_key, fmt, ap))
		v->err = CG_ENOMEM;
	va_end(ap);
	cg_buf_free(&path);
}

/* Copies at most max bytes of s for a message, cut on a character boundary. */
const char *
cg_check_clip(const char *s, char *out, size_t max)
{
	size_t n = strlen(s);

	if (n < max) {
		memcpy(out, s, n + 1);
		return out;
	}
	n = max - 4;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}

const char *
cg_json_type_name(const cJSON *n)
{
	if (cJSON_IsObject(n))
		return "an object";
	if (cJSON_IsArray(n))
		return "an array";
	if (cJSON_IsString(n))
		return "a string";
	if (cJSON_IsNumber(n))
		return "a number";
	if (cJSON_IsBool(n))
		return "a boolean";
	return "null";
}

/* ---- typo suggestions ------------------------------------------------- */

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive edit distance, capped: enough to suggest a member name. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[65];

	if (la > 64 || lb > 64)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = lower(a[i - 1]) != lower(b[j - 1]);
			size_t best = diag + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *
suggest(const char *name, const struct cg_member *spec, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3, i;

	for (i = 0; i < n; i++) {
		size_t d = distance(name, spec[i].name);

		if (d < best_d) {
			best_d = d;
			best = spec[i].name;
		}
	}
	return best;
}

/* strcmp after a first-character test: most names differ at once, and this
 * runs for every member of every record. */
static inline int
same_name(const char *a, const char *b)
{
	return a[0] == b[0] && strcmp(a, b) == 0;
}

/* ---- members ---------------------------------------------------------- */

/*
 * Resolves the members of obj (at the current path, or at member `name` of
 * it) against spec. found[i] receives the first member called spec[i].name.
 * Returns -1 when obj is not an object.
 */
int
cg_check_members(struct cg_check *v, const cJSON *obj, const char *name,
                 const struct cg_member *spec, size_t n, const cJSON **found)
{
	const cJSON *c;
	size_t i, mark, hint = 0;
	char shown[80];

	for (i = 0; i < n; i++)
		found[i] = NULL;
	if (!cJSON_IsObject(obj)) {
		cg_check_issue(v, CG_C_TYPE, obj, name, 0, "must be an object, not %s",
		               cg_json_type_name(obj));
		return -1;
	}
	mark = name ? cg_check_push_key(v, name) : v->depth;
	for (c = obj->child; c; c = c->next) {
		/* Members usually come in the contract's order: try the one after
		 * the last match first, then all. */
		i = n;
		if (hint < n && same_name(c->string, spec[hint].name))
			i = hint;
		else
			for (i = 0; i < n; i++)
				if (same_name(c->string, spec[i].name))
					break;
		hint = i + 1;
		if (i == n) {
			/* Past the issue limit the message is not kept: skip the search. */
			const char *s = v->d->n < v->d->max ? suggest(c->string, spec, n) : NULL;

			if (s)
				cg_check_issue(v, CG_C_UNKNOWN_FIELD, c, c->string, 1,
				               "unknown member '%s'; did you mean '%s'?",
				               cg_check_clip(c->string, shown, sizeof(shown)), s);
			else
				cg_check_issue(v, CG_C_UNKNOWN_FIELD, c, c->string, 1,
				               "unknown member '%s'",
				               cg_check_clip(c->string, shown, sizeof(shown)));
		} else if (found[i]) {
			cg_check_issue(v, CG_C_JSON_DUPLICATE_KEY, c, c->string, 1,
			               "member '%s' appears more than once in this object",
			               c->string);
		} else {
			found[i] = c;
		}
	}
	for (i = 0; i < n; i++)
		if (spec[i].required && !found[i])
			cg_check_issue(v, CG_C_REQUIRED, obj, spec[i].name, 0,
			               "missing required member '%s'", spec[i].name);
	cg_check_pop(v, mark);
	return 0;
}

/* ---- value checks ----------------------------------------------------- */
/* Each takes the node and its member name relative to the current path
 * (NULL when the node is at the current path) and reports what is wrong. */

const char *
cg_check_string(struct cg_check *v, const cJSON *n, const char *name)
{
	if (!cJSON_IsString(n)) {
		cg_check_issue(v, CG_C_TYPE, n, name, 0, "must be a string, not %s",
		               cg_json_type_name(n));
		return NULL;
	}
	if (!n->valuestring[0]) {
		cg_check_issue(v, CG_C_EMPTY, n, name, 0, "must not be empty");
		return NULL;
	}
	return n->valuestring;
}

int
cg_check_enum(struct cg_check *v, const cJSON *n, const char *name, const char *const *list)
{
	const char *s = cg_check_string(v, n, name);
	struct cg_buf all;
	enum cg_err err = CG_OK;
	char shown[80];
	int i;

	if (!s)
		return -1;
	for (i = 0; list[i]; i++)
		if (same_name(s, list[i]))
			return i;
	/* A list that does not fit is left out of the message, not cut. */
	cg_buf_init(&all, CG_BUF_MAX_MESSAGE);
	for (i = 0; list[i] && !err; i++)
		err = cg_buf_printf(&all, "%s%s", i ? ", " : "", list[i]);
	cg_check_issue(v, CG_C_ENUM, n, name, 0, "'%s' is not one of: %s",
	               cg_check_clip(s, shown, sizeof(shown)), err || !all.p ? "" : all.p);
	cg_buf_free(&all);
	return -1;
}

/* Like want_enum, for a closed list given as a JSON array of strings. */
int
cg_check_enum_json(struct cg_check *v, const cJSON *n, const char *name, const cJSON *list,
                   const char **out)
{
	const char *s = cg_check_string(v, n, name);
	const cJSON *it;
	struct cg_buf all;
	enum cg_err err = CG_OK;
	char shown[80];

	if (!s)
		return -1;
	cJSON_ArrayForEach(it, list) if (strcmp(s, it->valuestring) == 0)
	{
		if (out)
			*out = it->valuestring;
		return 0;
	}
	cg_buf_init(&all, CG_BUF_MAX_MESSAGE);
	cJSON_ArrayForEach(it, list)
	{
		err = cg_buf_printf(&all, "%s%s", it == list->child ? "" : ", ", it->valuestring);
		if (err)
			break;
	}
	cg_check_issue(v, CG_C_ENUM, n, name, 0, "'%s' is not one of: %s",
	               cg_check_clip(s, shown, sizeof(shown)), err || !all.p ? "" : all.p);
	cg_buf_free(&all);
	return -1;
}

const struct cg_term *
cg_check_term(struct cg_check *v, const cJSON *n, const char *name, const struct cg_term_table *t)
{
	const char *s = cg_check_string(v, n, name);
	const struct cg_term *c;
	struct cg_buf all;
	enum cg_err err;
	char shown[80];

	if (!s)
		return NULL;
	c = cg_term_find(t, s);
	if (c)
		return c;
	cg_buf_init(&all, CG_BUF_MAX_MESSAGE);
	err = cg_term_table_list(t, &all);
	cg_check_issue(v, CG_C_ENUM, n, name, 0, "'%s' is not a known %s; expected one of: %s",
	               cg_check_clip(s, shown, sizeof(shown)), t->name, err || !all.p ? "" : all.p);
	cg_buf_free(&all);
	return NULL;
}

int
cg_check_number(struct cg_check *v, const cJSON *n, const char *name, double *out)
{
	if (!cJSON_IsNumber(n)) {
		cg_check_issue(v, CG_C_TYPE, n, name, 0, "must be a number, not %s",
		               cg_json_type_name(n));
		return -1;
	}
	if (!isfinite(n->valuedouble)) {
		cg_check_issue(v, CG_C_JSON_NUMBER_RANGE, n, name, 0,
		               "number is too large to represent");
		return -1;
	}
	*out = n->valuedouble;
	return 0;
}

/* A number with lo < x (lo_open) or lo <= x, and x <= hi. */
int
cg_check_range(struct cg_check *v, const cJSON *n, const char *name, double lo, int lo_open,
               double hi, double *out)
{
	double x;

	if (cg_check_number(v, n, name, &x))
		return -1;
	if (x < lo || (lo_open && x == lo) || x > hi) {
		cg_check_issue(v, CG_C_RANGE, n, name, 0, "must be %s %g and at most %g",
		               lo_open ? "greater than" : "at least", lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

int
cg_check_integer(struct cg_check *v, const cJSON *n, const char *name, double lo, double hi,
                 long *out)
{
	double x;

	if (cg_check_number(v, n, name, &x))
		return -1;
	if (x != floor(x) || fabs(x) > CG_CHECK_MAX_SAFE_INTEGER) {
		cg_check_issue(v, CG_C_INTEGER, n, name, 0, "must be a whole number");
		return -1;
	}
	/* 1.0 and 1e0 are whole numbers but not written as integers: stored
	 * verbatim they would differ from the FHIR mapping's 1 (and FHIR's
	 * integer has no fraction or exponent). */
	if (n->type & CG_JSON_NOT_INTEGRAL) {
		cg_check_issue(v, CG_C_INTEGER, n, name, 0,
		               "must be written as an integer, without a fraction or exponent "
		               "(%.0f)",
		               x);
		return -1;
	}
	if (x < lo || x > hi) {
		if (hi >= CG_CHECK_MAX_SAFE_INTEGER)
			cg_check_issue(v, CG_C_RANGE, n, name, 0, "must be at least %.0f", lo);
		else
			cg_check_issue(v, CG_C_RANGE, n, name, 0, "must be from %.0f to %.0f", lo,
			               hi);
		return -1;
	}
	*out = (long)x;
	return 0;
}

int
cg_check_bool(struct cg_check *v, const cJSON *n, const char *name, int *out)
{
	if (!cJSON_IsBool(n)) {
		cg_check_issue(v, CG_C_TYPE, n, name, 0, "must be true or false, not %s",
		               cg_json_type_name(n));
		return -1;
	}
	*out = cJSON_IsTrue(n);
	return 0;
}

int
cg_check_date(struct cg_check *v, const cJSON *n, const char *name, struct cg_date *out)
{
	const char *s = cg_check_string(v, n, name);

	if (!s)
		return -1;
	if (cg_date_parse(s, out)) {
		cg_check_issue(v, CG_C_DATE, n, name, 0,
		               "must be a real calendar date written YYYY-MM-DD");
		return -1;
	}
	return 0;
}

int
cg_check_datetime(struct cg_check *v, const cJSON *n, const char *name, struct cg_datetime *out)
{
	const char *s = cg_check_string(v, n, name);

	if (!s)
		return -1;
	if (cg_datetime_parse(s, out)) {
		cg_check_issue(v, CG_C_DATETIME, n, name, 0,
		               "must be an RFC 3339 date-time with an offset, such as "
		               "2024-03-05T14:30:00+01:00 or 2024-03-05T13:30:00Z");
		return -1;
	}
	return 0;
}

int
cg_check_date_or_datetime(struct cg_check *v, const cJSON *n, const char *name,
                          struct cg_datetime *out)
{
	const char *s = cg_check_string(v, n, name);

	if (!s)
		return -1;
	if (cg_date_or_datetime_parse(s, out)) {
		cg_check_issue(
		        v, CG_C_DATETIME, n, name, 0,
		        "must be a date (YYYY-MM-DD) or an RFC 3339 date-time with an offset");
		return -1;
	}
	return 0;
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An absolute URI: scheme ":" rest, no white space or control characters;
 * urn:oid and urn:uuid must hold a real OID or lower-case UUID (as FHIR). */
static int
uri_ok(const char *s)
{
	const char *p = s;

	if (!is_alpha(*p))
		return 0;
	while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0')
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	if (strncmp(s, "urn:oid:", 8) == 0)
		return cg_ids_is_oid(s + 8);
	if (strncmp(s, "urn:uuid:", 9) == 0)
		return cg_ids_is_uuid(s + 9);
	if (strncmp(s, "http://", 7) == 0)
		return s[7] != '\0' && s[7] != '/';
	if (strncmp(s, "https://", 8) == 0)
		return s[8] != '\0' && s[8] != '/';
	return 1;
}

int
cg_check_uri(struct cg_check *v, const cJSON *n, const char *name)
{
	const char *s = cg_check_string(v, n, name);

	if (!s)
		return -1;
	if (!uri_ok(s)) {
		cg_check_issue(v, CG_C_URI, n, name, 0,
		               "must be an absolute URI, such as urn:oid:1.2.3 or "
		               "https://example.org/ids");
		return -1;
	}
	return 0;
}

/* A present array must have at least one element: FHIR has no empty arrays,
 * and an empty list would not survive the round trip. */
const cJSON *
cg_check_array(struct cg_check *v, const cJSON *n, const char *name)
{
	if (!cJSON_IsArray(n)) {
		cg_check_issue(v, CG_C_TYPE, n, name, 0, "must be an array, not %s",
		               cg_json_type_name(n));
		return NULL;
	}
	if (!n->child) {
		cg_check_issue(v, CG_C_EMPTY, n, name, 0,
		               "must not be an empty array (leave the member out instead)");
		return NULL;
	}
	return n;
}

/* ---- identifiers ------------------------------------------------------ */

bool
cg_snomed_id_is_valid(const char *s)
{
	static const unsigned char d[10][10] = {
	        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
	        {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
	        {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	        {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
	        {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
	static const unsigned char p[8][10] = {
	        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
	        {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
	        {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	        {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};
	size_t n = strlen(s), i;
	int c = 0;

	if (n < 6 || n > 18 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return 0;
	/* The partition identifier: 00 for a concept, 10 for an extension's. */
	if (!(s[n - 2] == '0' && (s[n - 3] == '0' || s[n - 3] == '1')))
		return 0;
	for (i = 0; i < n; i++)
		c = d[c][p[i % 8][s[n - 1 - i] - '0']];
	return c == 0;
}

bool
cg_icd10cm_is_well_formed(const char *s)
{
	size_t n = strlen(s), i;

	/* Letter, digit, digit or letter; then optionally "." and 1-4 more. */
	if (n < 3 || !(s[0] >= 'A' && s[0] <= 'Z') || !is_digit(s[1]) ||
	    !(is_digit(s[2]) || (s[2] >= 'A' && s[2] <= 'Z')))
		return 0;
	if (n == 3)
		return 1;
	if (s[3] != '.' || n < 5 || n > 8)
		return 0;
	for (i = 4; i < n; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'A' && s[i] <= 'Z'))
			return 0;
	return 1;
}

static int
id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
	return i >= 1 && i <= 64;
}

const char *
cg_check_id(struct cg_check *v, const cJSON *n, const char *name)
{
	const char *s = cg_check_string(v, n, name);

	if (s && !id_ok(s)) {
		cg_check_issue(v, CG_C_PATTERN, n, name, 0,
		               "must be 1 to 64 characters from A-Z a-z 0-9 . _ -");
		return NULL;
	}
	return s;
}

static int
strcmp_null(const char *x, const char *y)
{
	if (!x || !y)
		return !x - !y;
	return strcmp(x, y);
}

static int
dup_cmp(const void *p, const void *q)
{
	const struct cg_dup *x = *(const struct cg_dup *const *)p;
	const struct cg_dup *y = *(const struct cg_dup *const *)q;
	int r = strcmp_null(x->a, y->a);

	if (!r)
		r = strcmp_null(x->b, y->b);
	if (!r)
		r = x->index < y->index ? -1 : x->index > y->index;
	return r;
}

enum cg_err
cg_dups_mark(struct cg_dup *v, size_t n)
{
	struct cg_dup **order;
	size_t i;

	if (n < 2)
		return CG_OK;
	order = malloc(n * sizeof(*order));
	if (!order)
		return CG_ENOMEM;
	for (i = 0; i < n; i++) {
		v[i].index = i;
		v[i].dup = 0;
		order[i] = &v[i];
	}
	qsort(order, n, sizeof(*order), dup_cmp);
	for (i = 1; i < n; i++)
		if (order[i]->a && order[i - 1]->a && !strcmp(order[i]->a, order[i - 1]->a) &&
		    !strcmp_null(order[i]->b, order[i - 1]->b))
			order[i]->dup = 1;
	free(order);
	return CG_OK;
}

struct cg_dup *
cg_dups_of(const cJSON *array, const char *member, size_t *n)
{
	const cJSON *it;
	struct cg_dup *v;
	size_t i = 0;

	*n = 0;
	cJSON_ArrayForEach(it, array) i++;
	v = calloc(i ? i : 1, sizeof(*v));
	if (!v)
		return NULL;
	cJSON_ArrayForEach(it, array)
	{
		const cJSON *key = member ? cg_json_member(it, member) : it;

		v[*n].a = cJSON_GetStringValue(key);
		(*n)++;
	}
	if (cg_dups_mark(v, *n)) {
		free(v);
		return NULL;
	}
	return v;
}
