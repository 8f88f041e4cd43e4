/*
 * record_validate.c: the rules of the stem-cell treatment record v1.0.
 *
 * The walk is driven by member tables, one per object of the contract.
 * members() resolves an object against its table in one pass over its
 * children: that pass is also where unknown members (typos) and duplicate
 * member names (which cJSON keeps silently) are caught, so no part of a
 * record escapes both checks. Facts that rules across sections need (birth
 * date, administration start, weight, product kind...) are gathered first,
 * quietly; each section then reports its own problems once.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "record_validate.h"

#define PATH_MAX_BYTES (1024u * 1024)
#define COUNT(a)       (sizeof(a) / sizeof((a)[0]))

struct member {
	const char *name;
	int required;
};

/* Facts for rules that cross sections, and the walk's state. */
struct v {
	struct cg_diag *d;
	const struct cg_mappings *m;
	const struct cg_date *today;
	struct cg_buf path;
	enum cg_err err;

	int has_birth;
	struct cg_date birth;
	int has_start;
	struct cg_datetime start;
	int has_weight;
	double weight;
	int pediatric;                   /* -1 absent, 0 adult, 1 pediatric */
	const struct cg_term *cell_type; /* NULL when absent or invalid */
	const struct cg_term *tissue;
	const struct cg_term *donor;
};

static const char *const sexes[] = {"male", "female", "other", "unknown", NULL};
static const char *const id_types[] = {"MR", "REGISTRY", "NATIONAL", NULL};
static const char *const populations[] = {"adult", "pediatric", NULL};
static const char *const procedure_types[] = {"primary-pci", "cabg", "other", NULL};
static const char *const hla_statuses[] = {"matched", "mismatched", "haploidentical", "not-tested",
                                           NULL};
static const char *const manipulations[] = {"none",
                                            "ex-vivo-expansion",
                                            "selection",
                                            "preconditioned",
                                            "genetically-modified",
                                            "cryopreserved",
                                            NULL};
static const char *const admin_statuses[] = {"completed", "in-progress",      "not-done",
                                             "stopped",   "entered-in-error", NULL};
static const char *const timepoints[] = {"baseline", "day-0",    "day-7",    "day-30", "month-3",
                                         "month-6",  "month-12", "month-24", "other",  NULL};
static const char *const outcome_statuses[] = {"preliminary",      "final", "amended", "corrected",
                                               "entered-in-error", NULL};
static const char *const absent_reasons[] = {"unknown", "not-performed", "asked-declined", "error",
                                             NULL};
static const char *const vital_statuses[] = {"alive", "dead", "unknown", NULL};

/* ---- paths and issues ------------------------------------------------- */

static void
path_add_key(struct v *v, const char *key)
{
	const char *run = key;
	const char *k;

	if (cg_buf_addc(&v->path, '/'))
		goto fail;
	for (k = key; *k; k++) {
		if (*k != '~' && *k != '/')
			continue;
		if (cg_buf_add(&v->path, run, (size_t)(k - run)) ||
		    cg_buf_addstr(&v->path, *k == '~' ? "~0" : "~1"))
			goto fail;
		run = k + 1;
	}
	if (!cg_buf_add(&v->path, run, (size_t)(k - run)))
		return;
fail:
	v->err = CG_ENOMEM;
}

static size_t
push_key(struct v *v, const char *key)
{
	size_t mark = v->path.len;

	path_add_key(v, key);
	return mark;
}

static size_t
push_index(struct v *v, size_t i)
{
	size_t mark = v->path.len;

	if (cg_buf_printf(&v->path, "/%zu", i))
		v->err = CG_ENOMEM;
	return mark;
}

static void
pop(struct v *v, size_t mark)
{
	cg_buf_truncate(&v->path, mark);
}

/*
 * Reports a problem with `node`, which sits at the current path, or, when
 * member is given, at the current path plus that member name (the pointer a
 * missing member would have). at_key places the issue on the member's name.
 */
static void issue(struct v *v, enum cg_code code, const cJSON *node, const char *member, int at_key,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
issue(struct v *v, enum cg_code code, const cJSON *node, const char *member, int at_key,
      const char *fmt, ...)
{
	size_t mark = v->path.len;
	va_list ap;

	if (member)
		path_add_key(v, member);
	va_start(ap, fmt);
	if (cg_diag_vadd(v->d, code, v->path.p ? v->path.p : "", node, at_key, fmt, ap))
		v->err = CG_ENOMEM;
	va_end(ap);
	pop(v, mark);
}

/* Copies at most max bytes of s for a message, cut on a character boundary. */
static const char *
clip(const char *s, char *out, size_t max)
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

static const char *
type_name(const cJSON *n)
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
suggest(const char *name, const struct member *spec, size_t n)
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

/* ---- members ---------------------------------------------------------- */

/*
 * Resolves the members of obj (at the current path, or at member `name` of
 * it) against spec. found[i] receives the first member called spec[i].name.
 * Returns -1 when obj is not an object.
 */
static int
members(struct v *v, const cJSON *obj, const char *name, const struct member *spec, size_t n,
        const cJSON **found)
{
	const cJSON *c;
	size_t i, mark;
	char shown[80];

	for (i = 0; i < n; i++)
		found[i] = NULL;
	if (!cJSON_IsObject(obj)) {
		issue(v, CG_C_TYPE, obj, name, 0, "must be an object, not %s", type_name(obj));
		return -1;
	}
	mark = name ? push_key(v, name) : v->path.len;
	for (c = obj->child; c; c = c->next) {
		for (i = 0; i < n; i++)
			if (strcmp(c->string, spec[i].name) == 0)
				break;
		if (i == n) {
			const char *s = suggest(c->string, spec, n);

			if (s)
				issue(v, CG_C_UNKNOWN_FIELD, c, c->string, 1,
				      "unknown member '%s'; did you mean '%s'?",
				      clip(c->string, shown, sizeof(shown)), s);
			else
				issue(v, CG_C_UNKNOWN_FIELD, c, c->string, 1, "unknown member '%s'",
				      clip(c->string, shown, sizeof(shown)));
		} else if (found[i]) {
			issue(v, CG_C_JSON_DUPLICATE_KEY, c, c->string, 1,
			      "member '%s' appears more than once in this object", c->string);
		} else {
			found[i] = c;
		}
	}
	for (i = 0; i < n; i++)
		if (spec[i].required && !found[i])
			issue(v, CG_C_REQUIRED, obj, spec[i].name, 0,
			      "missing required member '%s'", spec[i].name);
	pop(v, mark);
	return 0;
}

/* ---- value checks ----------------------------------------------------- */
/* Each takes the node and its member name relative to the current path
 * (NULL when the node is at the current path) and reports what is wrong. */

static const char *
want_string(struct v *v, const cJSON *n, const char *name)
{
	if (!cJSON_IsString(n)) {
		issue(v, CG_C_TYPE, n, name, 0, "must be a string, not %s", type_name(n));
		return NULL;
	}
	if (!n->valuestring[0]) {
		issue(v, CG_C_EMPTY, n, name, 0, "must not be empty");
		return NULL;
	}
	return n->valuestring;
}

static int
want_enum(struct v *v, const cJSON *n, const char *name, const char *const *list)
{
	const char *s = want_string(v, n, name);
	struct cg_buf all;
	char shown[80];
	int i;

	if (!s)
		return -1;
	for (i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return i;
	cg_buf_init(&all, 4096);
	for (i = 0; list[i]; i++)
		cg_buf_printf(&all, "%s%s", i ? ", " : "", list[i]);
	issue(v, CG_C_ENUM, n, name, 0, "'%s' is not one of: %s", clip(s, shown, sizeof(shown)),
	      all.p ? all.p : "");
	cg_buf_free(&all);
	return -1;
}

/* Like want_enum, for a closed list given as a JSON array of strings. */
static int
want_enum_json(struct v *v, const cJSON *n, const char *name, const cJSON *list, const char **out)
{
	const char *s = want_string(v, n, name);
	const cJSON *it;
	struct cg_buf all;
	char shown[80];

	if (!s)
		return -1;
	cJSON_ArrayForEach(it, list) if (strcmp(s, it->valuestring) == 0)
	{
		if (out)
			*out = it->valuestring;
		return 0;
	}
	cg_buf_init(&all, 4096);
	cJSON_ArrayForEach(it, list)
	        cg_buf_printf(&all, "%s%s", it == list->child ? "" : ", ", it->valuestring);
	issue(v, CG_C_ENUM, n, name, 0, "'%s' is not one of: %s", clip(s, shown, sizeof(shown)),
	      all.p ? all.p : "");
	cg_buf_free(&all);
	return -1;
}

static const struct cg_term *
want_code(struct v *v, const cJSON *n, const char *name, const struct cg_term_table *t)
{
	const char *s = want_string(v, n, name);
	const struct cg_term *c;
	struct cg_buf all;
	char shown[80];

	if (!s)
		return NULL;
	c = cg_term_find(t, s);
	if (c)
		return c;
	cg_buf_init(&all, 4096);
	cg_term_table_list(t, &all);
	issue(v, CG_C_ENUM, n, name, 0, "'%s' is not a known %s; expected one of: %s",
	      clip(s, shown, sizeof(shown)), t->name, all.p ? all.p : "");
	cg_buf_free(&all);
	return NULL;
}

static int
want_number(struct v *v, const cJSON *n, const char *name, double *out)
{
	if (!cJSON_IsNumber(n)) {
		issue(v, CG_C_TYPE, n, name, 0, "must be a number, not %s", type_name(n));
		return -1;
	}
	if (!isfinite(n->valuedouble)) {
		issue(v, CG_C_JSON_NUMBER_RANGE, n, name, 0, "number is too large to represent");
		return -1;
	}
	*out = n->valuedouble;
	return 0;
}

/* A number with lo < x (lo_open) or lo <= x, and x <= hi. */
static int
want_range(struct v *v, const cJSON *n, const char *name, double lo, int lo_open, double hi,
           double *out)
{
	double x;

	if (want_number(v, n, name, &x))
		return -1;
	if (x < lo || (lo_open && x == lo) || x > hi) {
		issue(v, CG_C_RANGE, n, name, 0, "must be %s %g and at most %g",
		      lo_open ? "greater than" : "at least", lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

static int
want_integer(struct v *v, const cJSON *n, const char *name, double lo, double hi, long *out)
{
	double x;

	if (want_number(v, n, name, &x))
		return -1;
	if (x != floor(x) || fabs(x) > 9007199254740992.0) {
		issue(v, CG_C_INTEGER, n, name, 0, "must be a whole number");
		return -1;
	}
	if (x < lo || x > hi) {
		if (hi >= 9007199254740992.0)
			issue(v, CG_C_RANGE, n, name, 0, "must be at least %.0f", lo);
		else
			issue(v, CG_C_RANGE, n, name, 0, "must be from %.0f to %.0f", lo, hi);
		return -1;
	}
	*out = (long)x;
	return 0;
}

static int
want_bool(struct v *v, const cJSON *n, const char *name, int *out)
{
	if (!cJSON_IsBool(n)) {
		issue(v, CG_C_TYPE, n, name, 0, "must be true or false, not %s", type_name(n));
		return -1;
	}
	*out = cJSON_IsTrue(n);
	return 0;
}

static int
want_date(struct v *v, const cJSON *n, const char *name, struct cg_date *out)
{
	const char *s = want_string(v, n, name);

	if (!s)
		return -1;
	if (cg_date_parse(s, out)) {
		issue(v, CG_C_DATE, n, name, 0, "must be a real calendar date written YYYY-MM-DD");
		return -1;
	}
	return 0;
}

static int
want_datetime(struct v *v, const cJSON *n, const char *name, struct cg_datetime *out)
{
	const char *s = want_string(v, n, name);

	if (!s)
		return -1;
	if (cg_datetime_parse(s, out)) {
		issue(v, CG_C_DATETIME, n, name, 0,
		      "must be an RFC 3339 date-time with an offset, such as "
		      "2024-03-05T14:30:00+01:00 or 2024-03-05T13:30:00Z");
		return -1;
	}
	return 0;
}

static int
want_date_or_datetime(struct v *v, const cJSON *n, const char *name, struct cg_datetime *out)
{
	const char *s = want_string(v, n, name);

	if (!s)
		return -1;
	if (cg_date_or_datetime_parse(s, out)) {
		issue(v, CG_C_DATETIME, n, name, 0,
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

static int
oid_ok(const char *s)
{
	int arcs = 0;

	if (s[0] < '0' || s[0] > '2')
		return 0;
	for (;;) {
		if (!is_digit(*s) || (s[0] == '0' && is_digit(s[1])))
			return 0;
		while (is_digit(*s))
			s++;
		arcs++;
		if (*s == '\0')
			return arcs >= 2;
		if (*s++ != '.')
			return 0;
	}
}

static int
uuid_ok(const char *s)
{
	int i;

	for (i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
		         : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[36] == '\0';
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
		return oid_ok(s + 8);
	if (strncmp(s, "urn:uuid:", 9) == 0)
		return uuid_ok(s + 9);
	if (strncmp(s, "http://", 7) == 0)
		return s[7] != '\0' && s[7] != '/';
	if (strncmp(s, "https://", 8) == 0)
		return s[8] != '\0' && s[8] != '/';
	return 1;
}

static int
want_uri(struct v *v, const cJSON *n, const char *name)
{
	const char *s = want_string(v, n, name);

	if (!s)
		return -1;
	if (!uri_ok(s)) {
		issue(v, CG_C_URI, n, name, 0,
		      "must be an absolute URI, such as urn:oid:1.2.3 or https://example.org/ids");
		return -1;
	}
	return 0;
}

/* A present array must have at least one element: FHIR has no empty arrays,
 * and an empty list would not survive the round trip. */
static const cJSON *
want_array(struct v *v, const cJSON *n, const char *name)
{
	if (!cJSON_IsArray(n)) {
		issue(v, CG_C_TYPE, n, name, 0, "must be an array, not %s", type_name(n));
		return NULL;
	}
	if (!n->child) {
		issue(v, CG_C_EMPTY, n, name, 0,
		      "must not be an empty array (leave the member out instead)");
		return NULL;
	}
	return n;
}

/* ---- identifiers ------------------------------------------------------ */

int
cg_snomed_id_valid(const char *s)
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
	        {9, 4, 5, 3, 1, 2, 7, 6, 0, 8}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
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

int
cg_icd10cm_well_formed(const char *s)
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

static const char *
want_id(struct v *v, const cJSON *n, const char *name)
{
	const char *s = want_string(v, n, name);

	if (s && !id_ok(s)) {
		issue(v, CG_C_PATTERN, n, name, 0,
		      "must be 1 to 64 characters from A-Z a-z 0-9 . _ -");
		return NULL;
	}
	return s;
}

/* ---- facts ------------------------------------------------------------ */

static const cJSON *
get(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

/* Reads, without reporting anything, what rules across sections need. The
 * sections report the same values' own problems. */
static void
gather(struct v *v, const cJSON *rec)
{
	const cJSON *patient = get(rec, "patient");
	const cJSON *product = get(rec, "product");
	const char *s;

	s = cJSON_GetStringValue(get(patient, "birthDate"));
	v->has_birth = s && cg_date_parse(s, &v->birth) == 0;
	s = cJSON_GetStringValue(get(get(rec, "administration"), "start"));
	v->has_start = s && cg_datetime_parse(s, &v->start) == 0;
	{
		const cJSON *w = get(patient, "weightKg");

		v->has_weight = cJSON_IsNumber(w) && isfinite(w->valuedouble) &&
		                w->valuedouble > 0 && w->valuedouble <= 400;
		v->weight = v->has_weight ? w->valuedouble : 0;
	}
	s = cJSON_GetStringValue(get(get(rec, "indication"), "population"));
	v->pediatric = !s ? -1 : strcmp(s, "pediatric") == 0 ? 1 : strcmp(s, "adult") == 0 ? 0 : -1;
	s = cJSON_GetStringValue(get(product, "cellType"));
	v->cell_type = s ? cg_term_find(&v->m->cell_types, s) : NULL;
	s = cJSON_GetStringValue(get(product, "tissueSource"));
	v->tissue = s ? cg_term_find(&v->m->tissue_sources, s) : NULL;
	s = cJSON_GetStringValue(get(product, "donorType"));
	v->donor = s ? cg_term_find(&v->m->donor_types, s) : NULL;
}

/* A date that must not come before the birth date nor after administration. */
static void
date_between_birth_and_start(struct v *v, const cJSON *n, const char *name, const struct cg_date *d,
                             const char *what)
{
	if (v->has_birth && cg_date_cmp(d, &v->birth) < 0)
		issue(v, CG_C_DATE_ORDER, n, name, 0, "%s is before patient.birthDate", what);
	if (v->has_start && cg_date_cmp(d, &v->start.date) > 0)
		issue(v, CG_C_DATE_ORDER, n, name, 0, "%s is after administration.start", what);
}

/* ---- sections --------------------------------------------------------- */

enum { SRC_SYSTEM, SRC_RECORDREF, SRC__N };
static const struct member source_spec[] = {{"system", 1}, {"recordRef", 0}};

static void
check_source(struct v *v, const cJSON *n)
{
	const cJSON *f[SRC__N];
	size_t mark;

	if (members(v, n, "source", source_spec, SRC__N, f))
		return;
	mark = push_key(v, "source");
	if (f[SRC_SYSTEM])
		want_uri(v, f[SRC_SYSTEM], "system");
	if (f[SRC_RECORDREF])
		want_string(v, f[SRC_RECORDREF], "recordRef");
	pop(v, mark);
}

enum { ID_SYSTEM, ID_VALUE, ID_TYPE, ID__N };
static const struct member identifier_spec[] = {{"system", 1}, {"value", 1}, {"type", 0}};

static void
check_patient_identifiers(struct v *v, const cJSON *n)
{
	const cJSON *it, *other;
	size_t i = 0, mark;

	if (!want_array(v, n, "identifiers"))
		return;
	mark = push_key(v, "identifiers");
	cJSON_ArrayForEach(it, n)
	{
		const cJSON *f[ID__N];
		size_t im = push_index(v, i);

		if (members(v, it, NULL, identifier_spec, ID__N, f) == 0) {
			if (f[ID_SYSTEM])
				want_uri(v, f[ID_SYSTEM], "system");
			if (f[ID_VALUE])
				want_string(v, f[ID_VALUE], "value");
			if (f[ID_TYPE])
				want_enum(v, f[ID_TYPE], "type", id_types);
			/* The same identifier twice is a copy-paste slip. */
			for (other = n->child; other != it; other = other->next) {
				const char *s1 = cJSON_GetStringValue(get(it, "system"));
				const char *v1 = cJSON_GetStringValue(get(it, "value"));
				const char *s2 = cJSON_GetStringValue(get(other, "system"));
				const char *v2 = cJSON_GetStringValue(get(other, "value"));

				if (s1 && v1 && s2 && v2 && !strcmp(s1, s2) && !strcmp(v1, v2)) {
					issue(v, CG_C_DUPLICATE_ITEM, it, NULL, 0,
					      "the same identifier (system and value) is listed "
					      "twice");
					break;
				}
			}
		}
		pop(v, im);
		i++;
	}
	pop(v, mark);
}

enum { PAT_IDENTIFIERS, PAT_BIRTHDATE, PAT_SEX, PAT_WEIGHT, PAT__N };
static const struct member patient_spec[] = {
        {"identifiers", 1}, {"birthDate", 1}, {"sex", 1}, {"weightKg", 0}};

static void
check_patient(struct v *v, const cJSON *n)
{
	const cJSON *f[PAT__N];
	size_t mark;
	double w;

	if (members(v, n, "patient", patient_spec, PAT__N, f))
		return;
	mark = push_key(v, "patient");
	if (f[PAT_IDENTIFIERS])
		check_patient_identifiers(v, f[PAT_IDENTIFIERS]);
	if (f[PAT_BIRTHDATE]) {
		struct cg_date b;

		if (want_date(v, f[PAT_BIRTHDATE], "birthDate", &b) == 0) {
			if (cg_date_cmp(&b, v->today) > 0)
				issue(v, CG_C_FUTURE_DATE, f[PAT_BIRTHDATE], "birthDate", 0,
				      "birthDate is in the future");
			if (v->has_start && cg_date_cmp(&v->start.date, &b) >= 0 &&
			    cg_age_years(&b, &v->start.date) > 120)
				issue(v, CG_C_AGE_LIMIT, f[PAT_BIRTHDATE], "birthDate", 0,
				      "age at administration is over 120 years");
		}
	}
	if (f[PAT_SEX])
		want_enum(v, f[PAT_SEX], "sex", sexes);
	if (f[PAT_WEIGHT])
		want_range(v, f[PAT_WEIGHT], "weightKg", 0, 1, 400, &w);
	pop(v, mark);
}

enum { RP_TYPE, RP_DATE, RP__N };
static const struct member related_spec[] = {{"type", 1}, {"date", 1}};

enum { IND_CATEGORY, IND_POPULATION, IND_ICD10CM, IND_SNOMED, IND_DIAGNOSIS, IND_RELATED, IND__N };
static const struct member indication_spec[] = {{"category", 1},      {"population", 0},
                                                {"icd10cm", 1},       {"snomed", 0},
                                                {"diagnosisDate", 0}, {"relatedProcedure", 0}};

static void
check_indication(struct v *v, const cJSON *n)
{
	const cJSON *f[IND__N];
	const struct cg_term *cat = NULL;
	const char *icd = NULL;
	struct cg_date d;
	size_t mark;

	if (members(v, n, "indication", indication_spec, IND__N, f))
		return;
	mark = push_key(v, "indication");
	if (f[IND_CATEGORY])
		cat = want_code(v, f[IND_CATEGORY], "category", &v->m->indications);
	if (f[IND_POPULATION] && want_enum(v, f[IND_POPULATION], "population", populations) >= 0 &&
	    v->has_birth && v->has_start && cg_date_cmp(&v->start.date, &v->birth) >= 0) {
		int age = cg_age_years(&v->birth, &v->start.date);

		if (v->pediatric == 1 && age >= 18)
			issue(v, CG_C_POPULATION_AGE, f[IND_POPULATION], "population", 0,
			      "population is pediatric but the patient is %d at administration",
			      age);
		else if (v->pediatric == 0 && age < 18)
			issue(v, CG_C_POPULATION_AGE, f[IND_POPULATION], "population", 0,
			      "population is adult but the patient is %d at administration", age);
	}
	if (f[IND_ICD10CM]) {
		icd = want_string(v, f[IND_ICD10CM], "icd10cm");
		if (icd && !cg_icd10cm_well_formed(icd)) {
			issue(v, CG_C_PATTERN, f[IND_ICD10CM], "icd10cm", 0,
			      "must be an ICD-10-CM code with its dot, such as I21.4 or J84.112");
			icd = NULL;
		}
	}
	if (cat && icd && !cg_indication_has_icd10cm(cat, icd)) {
		struct cg_buf globs;
		const cJSON *g;

		cg_buf_init(&globs, 4096);
		cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(cat->attrs, "icd10cm"))
		        cg_buf_printf(&globs, "%s%s", globs.len ? ", " : "", g->valuestring);
		issue(v, CG_C_ICD10CM_CATEGORY, f[IND_ICD10CM], "icd10cm", 0,
		      "ICD-10-CM code does not belong to category %s (expected %s)", cat->key,
		      globs.p ? globs.p : "");
		cg_buf_free(&globs);
	}
	if (f[IND_SNOMED]) {
		const char *s = want_string(v, f[IND_SNOMED], "snomed");
		size_t i, len = s ? strlen(s) : 0;

		for (i = 0; i < len && is_digit(s[i]); i++)
			;
		if (s && (i != len || len < 6 || len > 18))
			issue(v, CG_C_PATTERN, f[IND_SNOMED], "snomed", 0,
			      "must be a SNOMED CT concept id: 6 to 18 digits");
		else if (s && !cg_snomed_id_valid(s))
			issue(v, CG_C_SNOMED_CHECK, f[IND_SNOMED], "snomed", 0,
			      "not a valid SNOMED CT concept id (check digit or partition wrong)");
	}
	if (f[IND_DIAGNOSIS] && want_date(v, f[IND_DIAGNOSIS], "diagnosisDate", &d) == 0)
		date_between_birth_and_start(v, f[IND_DIAGNOSIS], "diagnosisDate", &d,
		                             "diagnosisDate");
	if (f[IND_RELATED]) {
		const cJSON *r[RP__N];

		if (members(v, f[IND_RELATED], "relatedProcedure", related_spec, RP__N, r) == 0) {
			size_t rm = push_key(v, "relatedProcedure");

			if (r[RP_TYPE])
				want_enum(v, r[RP_TYPE], "type", procedure_types);
			if (r[RP_DATE] && want_date(v, r[RP_DATE], "date", &d) == 0)
				date_between_birth_and_start(v, r[RP_DATE], "date", &d,
				                             "relatedProcedure.date");
			pop(v, rm);
		}
	}
	pop(v, mark);
}

static const struct member product_ids_spec[] = {
        {"productId", 0}, {"batch", 0}, {"lot", 0}, {"isbt128Din", 0}, {"isbt128ProductCode", 0}};

enum { HLA_STATUS, HLA_MATCHED, HLA_EVALUATED, HLA__N };
static const struct member hla_spec[] = {{"status", 1}, {"matched", 0}, {"evaluated", 0}};

enum {
	PR_IDENTIFIERS,
	PR_CELLTYPE,
	PR_TISSUE,
	PR_DONOR,
	PR_HLA,
	PR_MANIPULATION,
	PR_GENETIC,
	PR_MANUFACTURER,
	PR_COLLECTION,
	PR_VIABILITY,
	PR__N
};
static const struct member product_spec[] = {
        {"identifiers", 1},         {"cellType", 1},     {"tissueSource", 1},
        {"donorType", 1},           {"hlaMatch", 0},     {"manipulation", 0},
        {"geneticModification", 0}, {"manufacturer", 0}, {"collectionDate", 0},
        {"viabilityPercent", 0}};

static void
check_hla(struct v *v, const cJSON *n)
{
	const cJSON *f[HLA__N];
	long matched = -1, evaluated = -1;
	size_t mark;

	if (members(v, n, "hlaMatch", hla_spec, HLA__N, f))
		return;
	mark = push_key(v, "hlaMatch");
	if (f[HLA_STATUS])
		want_enum(v, f[HLA_STATUS], "status", hla_statuses);
	if (f[HLA_MATCHED] &&
	    want_integer(v, f[HLA_MATCHED], "matched", 0, 9007199254740992.0, &matched))
		matched = -1;
	if (f[HLA_EVALUATED] &&
	    want_integer(v, f[HLA_EVALUATED], "evaluated", 0, 9007199254740992.0, &evaluated))
		evaluated = -1;
	if (matched >= 0 && evaluated >= 0 && matched > evaluated)
		issue(v, CG_C_HLA_COUNTS, f[HLA_MATCHED], "matched", 0,
		      "matched (%ld) is greater than evaluated (%ld)", matched, evaluated);
	pop(v, mark);
	if (v->donor && !cg_term_flag(v->donor, "allogeneic"))
		issue(v, CG_C_HLA_DONOR, n, "hlaMatch", 0,
		      "hlaMatch applies to allogeneic donors only, and donorType is %s",
		      v->donor->key);
}

static void
check_manipulation(struct v *v, const cJSON *n, const cJSON *genetic)
{
	const cJSON *it, *none = NULL;
	size_t i = 0, count = 0, mark;
	int modified = 0;

	if (!want_array(v, n, "manipulation"))
		return;
	mark = push_key(v, "manipulation");
	cJSON_ArrayForEach(it, n)
	{
		size_t im = push_index(v, i);
		int k = want_enum(v, it, NULL, manipulations);
		const cJSON *prev;

		if (k >= 0) {
			count++;
			for (prev = n->child; prev != it; prev = prev->next)
				if (cJSON_IsString(prev) &&
				    !strcmp(prev->valuestring, it->valuestring))
					break;
			if (prev != it)
				issue(v, CG_C_DUPLICATE_ITEM, it, NULL, 0, "'%s' is listed twice",
				      manipulations[k]);
			if (k == 0)
				none = it;
			if (!strcmp(manipulations[k], "genetically-modified"))
				modified = 1;
		}
		pop(v, im);
		i++;
	}
	if (none && count > 1)
		issue(v, CG_C_MANIPULATION_CONFLICT, none, NULL, 0,
		      "'none' cannot be combined with other manipulations");
	pop(v, mark);
	if (modified && !genetic)
		issue(v, CG_C_REQUIRED, NULL, "geneticModification", 0,
		      "geneticModification is required when manipulation includes "
		      "genetically-modified");
}

static void
check_product(struct v *v, const cJSON *n)
{
	const cJSON *f[PR__N];
	size_t mark;
	struct cg_date d;
	double x;

	if (members(v, n, "product", product_spec, PR__N, f))
		return;
	mark = push_key(v, "product");
	if (f[PR_IDENTIFIERS]) {
		const cJSON *ids[COUNT(product_ids_spec)];
		size_t i, present = 0;

		if (members(v, f[PR_IDENTIFIERS], "identifiers", product_ids_spec,
		            COUNT(product_ids_spec), ids) == 0) {
			size_t im = push_key(v, "identifiers");

			for (i = 0; i < COUNT(product_ids_spec); i++)
				if (ids[i]) {
					present++;
					want_string(v, ids[i], product_ids_spec[i].name);
				}
			pop(v, im);
			if (!present)
				issue(v, CG_C_REQUIRED, f[PR_IDENTIFIERS], "identifiers", 0,
				      "at least one of productId, batch, lot, isbt128Din, "
				      "isbt128ProductCode is required");
		}
	}
	if (f[PR_CELLTYPE])
		want_code(v, f[PR_CELLTYPE], "cellType", &v->m->cell_types);
	if (f[PR_TISSUE])
		want_code(v, f[PR_TISSUE], "tissueSource", &v->m->tissue_sources);
	if (f[PR_DONOR])
		want_code(v, f[PR_DONOR], "donorType", &v->m->donor_types);
	/* The contract's rule: tissue source ipsc if and only if iPSC-derived. */
	if (v->cell_type && v->tissue &&
	    (strcmp(v->tissue->key, "ipsc") == 0) !=
	            (strcmp(v->cell_type->key, "ipsc-derived") == 0))
		issue(v, CG_C_IPSC_SOURCE, f[PR_TISSUE], "tissueSource", 0,
		      strcmp(v->tissue->key, "ipsc") == 0
		              ? "tissueSource ipsc requires cellType ipsc-derived"
		              : "cellType ipsc-derived requires tissueSource ipsc");
	if (f[PR_HLA])
		check_hla(v, f[PR_HLA]);
	if (f[PR_MANIPULATION])
		check_manipulation(v, f[PR_MANIPULATION], f[PR_GENETIC]);
	if (f[PR_GENETIC] && want_string(v, f[PR_GENETIC], "geneticModification")) {
		int modified = 0;
		const cJSON *it =
		        cJSON_IsArray(f[PR_MANIPULATION]) ? f[PR_MANIPULATION]->child : NULL;

		for (; it; it = it->next)
			if (cJSON_IsString(it) && !strcmp(it->valuestring, "genetically-modified"))
				modified = 1;
		if (!modified)
			issue(v, CG_C_NOT_APPLICABLE, f[PR_GENETIC], "geneticModification", 0,
			      "geneticModification is given but manipulation does not include "
			      "genetically-modified");
	}
	if (f[PR_MANUFACTURER])
		want_string(v, f[PR_MANUFACTURER], "manufacturer");
	if (f[PR_COLLECTION] && want_date(v, f[PR_COLLECTION], "collectionDate", &d) == 0)
		date_between_birth_and_start(v, f[PR_COLLECTION], "collectionDate", &d,
		                             "collectionDate");
	if (f[PR_VIABILITY])
		want_range(v, f[PR_VIABILITY], "viabilityPercent", 0, 0, 100, &x);
	pop(v, mark);
}

enum { DOSE_CELLS_TOTAL, DOSE_CELLS_PER_KG, DOSE_PARTICLES, DOSE_PROTEIN, DOSE__N };
static const struct member dose_spec[] = {
        {"cellsTotal", 0}, {"cellsPerKg", 0}, {"particles", 0}, {"proteinMicrograms", 0}};

static void
check_dose(struct v *v, const cJSON *n)
{
	const cJSON *f[DOSE__N];
	double val[DOSE__N];
	int ok[DOSE__N];
	size_t i, mark;

	if (members(v, n, "dose", dose_spec, DOSE__N, f))
		return;
	mark = push_key(v, "dose");
	for (i = 0; i < DOSE__N; i++)
		ok[i] = f[i] && want_range(v, f[i], dose_spec[i].name, 0, 1, 1e300, &val[i]) == 0;
	pop(v, mark);
	if (v->cell_type && cg_cell_kind(v->cell_type) == CG_VESICLES) {
		if (!f[DOSE_PARTICLES] && !f[DOSE_PROTEIN])
			issue(v, CG_C_DOSE_KIND, n, "dose", 0,
			      "a %s dose needs particles or proteinMicrograms", v->cell_type->key);
		for (i = DOSE_CELLS_TOTAL; i <= DOSE_CELLS_PER_KG; i++)
			if (f[i]) {
				mark = push_key(v, "dose");
				issue(v, CG_C_DOSE_KIND, f[i], dose_spec[i].name, 0,
				      "%s is a vesicle product: cell counts do not apply",
				      v->cell_type->key);
				pop(v, mark);
			}
		return;
	}
	if (v->cell_type) {
		if (!f[DOSE_CELLS_TOTAL] && !f[DOSE_CELLS_PER_KG])
			issue(v, CG_C_DOSE_KIND, n, "dose", 0,
			      "a cell product dose needs cellsTotal or cellsPerKg");
		for (i = DOSE_PARTICLES; i <= DOSE_PROTEIN; i++)
			if (f[i]) {
				mark = push_key(v, "dose");
				issue(v, CG_C_DOSE_KIND, f[i], dose_spec[i].name, 0,
				      "%s applies to vesicle products, not to %s",
				      dose_spec[i].name, v->cell_type->key);
				pop(v, mark);
			}
	}
	mark = push_key(v, "dose");
	if (v->pediatric == 1 && ok[DOSE_CELLS_TOTAL] && !f[DOSE_CELLS_PER_KG] && !v->has_weight)
		issue(v, CG_C_PEDIATRIC_DOSE, f[DOSE_CELLS_TOTAL], "cellsTotal", 0,
		      "pediatric dose given as cellsTotal only: add cellsPerKg or "
		      "patient.weightKg (pediatric doses are per kg)");
	if (ok[DOSE_CELLS_TOTAL] && ok[DOSE_CELLS_PER_KG] && v->has_weight) {
		double expect = val[DOSE_CELLS_PER_KG] * v->weight;

		if (fabs(val[DOSE_CELLS_TOTAL] - expect) > 0.05 * val[DOSE_CELLS_TOTAL])
			issue(v, CG_C_DOSE_MISMATCH, f[DOSE_CELLS_TOTAL], "cellsTotal", 0,
			      "cellsTotal differs from cellsPerKg x patient.weightKg (%.3g) by "
			      "more than 5 %%",
			      expect);
	}
	pop(v, mark);
}

enum { PERF_SYSTEM, PERF_VALUE, PERF__N };
static const struct member performer_spec[] = {{"system", 1}, {"value", 1}};

enum {
	AD_STATUS,
	AD_START,
	AD_END,
	AD_ROUTE,
	AD_BODYSITE,
	AD_DOSE,
	AD_INJECTIONS,
	AD_INFUSION,
	AD_ENTIRE,
	AD_PERFORMER,
	AD_CONCOMITANT,
	AD__N
};
static const struct member admin_spec[] = {{"status", 1},
                                           {"start", 1},
                                           {"end", 0},
                                           {"route", 1},
                                           {"bodySite", 0},
                                           {"dose", 1},
                                           {"numberOfInjections", 0},
                                           {"infusionNumber", 0},
                                           {"entireProductInfused", 0},
                                           {"performer", 0},
                                           {"concomitantTherapy", 0}};

static void
check_administration(struct v *v, const cJSON *n)
{
	const cJSON *f[AD__N];
	struct cg_datetime t;
	size_t mark;
	long k;
	int b;

	if (members(v, n, "administration", admin_spec, AD__N, f))
		return;
	mark = push_key(v, "administration");
	if (f[AD_STATUS])
		want_enum(v, f[AD_STATUS], "status", admin_statuses);
	if (f[AD_START] && want_datetime(v, f[AD_START], "start", &t) == 0 && v->has_birth &&
	    cg_date_cmp(&t.date, &v->birth) < 0)
		issue(v, CG_C_DATE_ORDER, f[AD_START], "start", 0,
		      "start is before patient.birthDate");
	if (f[AD_END] && want_datetime(v, f[AD_END], "end", &t) == 0 && v->has_start &&
	    cg_datetime_cmp(&t, &v->start) < 0)
		issue(v, CG_C_DATE_ORDER, f[AD_END], "end", 0, "end is before start");
	if (f[AD_ROUTE])
		want_code(v, f[AD_ROUTE], "route", &v->m->routes);
	if (f[AD_BODYSITE])
		want_code(v, f[AD_BODYSITE], "bodySite", &v->m->body_sites);
	if (f[AD_DOSE])
		check_dose(v, f[AD_DOSE]);
	if (f[AD_INJECTIONS])
		want_integer(v, f[AD_INJECTIONS], "numberOfInjections", 1, 9007199254740992.0, &k);
	if (f[AD_INFUSION])
		want_integer(v, f[AD_INFUSION], "infusionNumber", 1, 9007199254740992.0, &k);
	if (f[AD_ENTIRE])
		want_bool(v, f[AD_ENTIRE], "entireProductInfused", &b);
	if (f[AD_PERFORMER]) {
		const cJSON *p[PERF__N];

		if (members(v, f[AD_PERFORMER], "performer", performer_spec, PERF__N, p) == 0) {
			size_t pm = push_key(v, "performer");

			if (p[PERF_SYSTEM])
				want_uri(v, p[PERF_SYSTEM], "system");
			if (p[PERF_VALUE])
				want_string(v, p[PERF_VALUE], "value");
			pop(v, pm);
		}
	}
	if (f[AD_CONCOMITANT] && want_array(v, f[AD_CONCOMITANT], "concomitantTherapy")) {
		const cJSON *it;
		size_t i = 0, cm = push_key(v, "concomitantTherapy");

		cJSON_ArrayForEach(it, f[AD_CONCOMITANT])
		{
			size_t im = push_index(v, i++);

			want_string(v, it, NULL);
			pop(v, im);
		}
		pop(v, cm);
	}
	pop(v, mark);
}

enum { EV_TYPE, EV_DATE, EV__N };
static const struct member event_spec[] = {{"type", 1}, {"date", 1}};

enum { TP_LABEL, TP_EFFECTIVE, TP_DAYS, TP__N };
static const struct member timepoint_spec[] = {
        {"label", 1}, {"effective", 1}, {"daysFromAdministration", 0}};

enum {
	OC_ID,
	OC_MEASURE,
	OC_TIMEPOINT,
	OC_METHOD,
	OC_VALUE,
	OC_UNIT,
	OC_STATUS,
	OC_ABSENT,
	OC_EVENTS,
	OC_GRADE,
	OC__N
};
static const struct member outcome_spec[] = {
        {"id", 1},   {"measure", 1}, {"timepoint", 1},        {"method", 0}, {"value", 0},
        {"unit", 0}, {"status", 1},  {"dataAbsentReason", 0}, {"events", 0}, {"grade", 0}};

static void
check_timepoint(struct v *v, const cJSON *n)
{
	const cJSON *f[TP__N];
	struct cg_datetime eff;
	int label = -1, have_eff = 0;
	long days;
	size_t mark;

	if (members(v, n, "timepoint", timepoint_spec, TP__N, f))
		return;
	mark = push_key(v, "timepoint");
	if (f[TP_LABEL])
		label = want_enum(v, f[TP_LABEL], "label", timepoints);
	if (f[TP_EFFECTIVE] && want_date_or_datetime(v, f[TP_EFFECTIVE], "effective", &eff) == 0) {
		have_eff = 1;
		if (v->has_birth && cg_date_cmp(&eff.date, &v->birth) < 0)
			issue(v, CG_C_DATE_ORDER, f[TP_EFFECTIVE], "effective", 0,
			      "effective is before patient.birthDate");
		if (label == 0 && v->has_start && cg_datetime_cmp(&eff, &v->start) > 0 &&
		    cg_date_cmp(&eff.date, &v->start.date) > 0)
			issue(v, CG_C_DATE_ORDER, f[TP_EFFECTIVE], "effective", 0,
			      "a baseline measurement must not be after the administration date");
	}
	if (f[TP_DAYS] &&
	    want_integer(v, f[TP_DAYS], "daysFromAdministration", -9007199254740992.0,
	                 9007199254740992.0, &days) == 0 &&
	    have_eff && v->has_start) {
		long actual = cg_date_days(&eff.date) - cg_date_days(&v->start.date);

		if (labs(actual - days) > 1)
			issue(v, CG_C_DAYS_MISMATCH, f[TP_DAYS], "daysFromAdministration", 0,
			      "daysFromAdministration is %ld but effective is %ld days from "
			      "administration.start",
			      days, actual);
	}
	pop(v, mark);
}

static void
check_events(struct v *v, const cJSON *n, const struct cg_measure *ms)
{
	const cJSON *it;
	size_t i = 0, mark;

	if (!want_array(v, n, "events"))
		return;
	mark = push_key(v, "events");
	cJSON_ArrayForEach(it, n)
	{
		const cJSON *f[EV__N];
		size_t im = push_index(v, i++);
		struct cg_date d;

		if (members(v, it, NULL, event_spec, EV__N, f) == 0) {
			if (f[EV_TYPE])
				want_enum_json(v, f[EV_TYPE], "type", ms->event_types, NULL);
			if (f[EV_DATE] && want_date(v, f[EV_DATE], "date", &d) == 0 &&
			    v->has_birth && cg_date_cmp(&d, &v->birth) < 0)
				issue(v, CG_C_DATE_ORDER, f[EV_DATE], "date", 0,
				      "event date is before patient.birthDate");
		}
		pop(v, im);
	}
	pop(v, mark);
}

static void
check_value(struct v *v, const cJSON *n, const struct cg_measure *ms)
{
	double x;
	long k;
	int b;

	switch (ms->kind) {
	case CG_VALUE_NUMBER:
		if (want_number(v, n, "value", &x) == 0 && (x < ms->min || x > ms->max))
			issue(v, CG_C_RANGE, n, "value", 0, "%s must be from %g to %g %s", ms->key,
			      ms->min, ms->max, ms->unit);
		break;
	case CG_VALUE_INTEGER:
		want_integer(v, n, "value", ms->min, ms->max, &k);
		break;
	case CG_VALUE_CODE:
		want_enum_json(v, n, "value", ms->values, NULL);
		break;
	case CG_VALUE_BOOLEAN:
		want_bool(v, n, "value", &b);
		break;
	}
}

static void
check_outcome(struct v *v, const cJSON *n)
{
	const cJSON *f[OC__N];
	const struct cg_measure *ms = NULL;
	const char *mname = NULL;

	if (members(v, n, NULL, outcome_spec, OC__N, f))
		return;
	if (f[OC_ID])
		want_id(v, f[OC_ID], "id");
	if (f[OC_MEASURE] && (mname = want_string(v, f[OC_MEASURE], "measure"))) {
		ms = cg_measure_find(v->m, mname);
		if (!ms) {
			struct cg_buf all;
			size_t i;
			char shown[80];

			cg_buf_init(&all, 4096);
			for (i = 0; i < v->m->nmeasures; i++)
				cg_buf_printf(&all, "%s%s", i ? ", " : "", v->m->measures[i].key);
			issue(v, CG_C_ENUM, f[OC_MEASURE], "measure", 0,
			      "'%s' is not a known measure; expected one of: %s",
			      clip(mname, shown, sizeof(shown)), all.p ? all.p : "");
			cg_buf_free(&all);
		}
	}
	if (f[OC_TIMEPOINT])
		check_timepoint(v, f[OC_TIMEPOINT]);
	if (f[OC_STATUS])
		want_enum(v, f[OC_STATUS], "status", outcome_statuses);
	if (f[OC_ABSENT])
		want_enum(v, f[OC_ABSENT], "dataAbsentReason", absent_reasons);
	if (!f[OC_VALUE] == !f[OC_ABSENT])
		issue(v, CG_C_VALUE_ABSENT, f[OC_VALUE] ? f[OC_ABSENT] : n,
		      f[OC_VALUE] ? "dataAbsentReason" : "value", 0,
		      f[OC_VALUE] ? "give either value or dataAbsentReason, not both"
		                  : "an outcome needs value or dataAbsentReason");
	if (!ms)
		return; /* the rest depends on the measure */
	if (f[OC_VALUE])
		check_value(v, f[OC_VALUE], ms);
	if (ms->kind <= CG_VALUE_INTEGER) {
		const char *u = f[OC_UNIT] ? want_string(v, f[OC_UNIT], "unit") : NULL;
		char shown[80];

		if (!f[OC_UNIT] && f[OC_VALUE])
			issue(v, CG_C_REQUIRED, n, "unit", 0, "%s values need unit \"%s\"", ms->key,
			      ms->unit);
		else if (u && strcmp(u, ms->unit) != 0)
			issue(v, CG_C_UNIT, f[OC_UNIT], "unit", 0,
			      "unit '%s' is wrong for %s: use \"%s\" (UCUM, case-sensitive)",
			      clip(u, shown, sizeof(shown)), ms->key, ms->unit);
	} else if (f[OC_UNIT]) {
		issue(v, CG_C_NOT_ALLOWED, f[OC_UNIT], "unit", 0, "%s values have no unit",
		      ms->key);
	}
	if (f[OC_METHOD]) {
		if (ms->methods)
			want_enum_json(v, f[OC_METHOD], "method", ms->methods, NULL);
		else
			issue(v, CG_C_NOT_ALLOWED, f[OC_METHOD], "method", 0,
			      "method is not recorded for %s", ms->key);
	}
	if (f[OC_EVENTS]) {
		if (!ms->event_types) {
			issue(v, CG_C_NOT_ALLOWED, f[OC_EVENTS], "events", 0,
			      "events are recorded for mace only, not for %s", ms->key);
		} else {
			check_events(v, f[OC_EVENTS], ms);
			if (cJSON_IsFalse(f[OC_VALUE]) && cJSON_IsArray(f[OC_EVENTS]) &&
			    f[OC_EVENTS]->child)
				issue(v, CG_C_MACE_EVENTS, f[OC_EVENTS], "events", 0,
				      "events are listed but value is false (no MACE)");
		}
	}
	if (f[OC_GRADE]) {
		long g;

		if (!ms->has_grade)
			issue(v, CG_C_NOT_ALLOWED, f[OC_GRADE], "grade", 0,
			      "grade is recorded for adverse-event only, not for %s", ms->key);
		else
			want_integer(v, f[OC_GRADE], "grade", ms->grade_min, ms->grade_max, &g);
	}
}

static void
check_outcomes(struct v *v, const cJSON *n)
{
	const cJSON *it, *prev;
	size_t i = 0, mark;

	if (!want_array(v, n, "outcomes"))
		return;
	mark = push_key(v, "outcomes");
	cJSON_ArrayForEach(it, n)
	{
		size_t im = push_index(v, i++);
		const char *id = cJSON_GetStringValue(get(it, "id"));

		check_outcome(v, it);
		for (prev = n->child; id && prev != it; prev = prev->next) {
			const char *pid = cJSON_GetStringValue(get(prev, "id"));

			if (pid && strcmp(pid, id) == 0) {
				issue(v, CG_C_DUPLICATE_ID, get(it, "id"), "id", 0,
				      "outcome id is already used by an earlier outcome");
				break;
			}
		}
		pop(v, im);
	}
	pop(v, mark);
}

enum { VS_STATUS, VS_DATE, VS_CAUSE, VS__N };
static const struct member vital_spec[] = {{"status", 1}, {"date", 1}, {"causeOfDeath", 0}};

static void
check_vital(struct v *v, const cJSON *n)
{
	const cJSON *f[VS__N];
	struct cg_date d;
	int status = -1;
	size_t mark;

	if (members(v, n, "vitalStatus", vital_spec, VS__N, f))
		return;
	mark = push_key(v, "vitalStatus");
	if (f[VS_STATUS])
		status = want_enum(v, f[VS_STATUS], "status", vital_statuses);
	if (f[VS_DATE] && want_date(v, f[VS_DATE], "date", &d) == 0 && v->has_birth &&
	    cg_date_cmp(&d, &v->birth) < 0)
		issue(v, CG_C_DATE_ORDER, f[VS_DATE], "date", 0,
		      "date is before patient.birthDate");
	if (f[VS_CAUSE] && want_string(v, f[VS_CAUSE], "causeOfDeath") && status >= 0 &&
	    strcmp(vital_statuses[status], "dead") != 0)
		issue(v, CG_C_VITAL_STATUS, f[VS_CAUSE], "causeOfDeath", 0,
		      "causeOfDeath is given but status is %s", vital_statuses[status]);
	pop(v, mark);
}

enum { CO_RESEARCH, CO_REGISTRIES, CO_DATE, CO__N };
static const struct member consent_spec[] = {{"research", 1}, {"registries", 0}, {"date", 0}};

static void
check_consent(struct v *v, const cJSON *n)
{
	const cJSON *f[CO__N];
	struct cg_date d;
	size_t mark;
	int b;

	if (members(v, n, "consent", consent_spec, CO__N, f))
		return;
	mark = push_key(v, "consent");
	if (f[CO_RESEARCH])
		want_bool(v, f[CO_RESEARCH], "research", &b);
	if (f[CO_REGISTRIES] && want_array(v, f[CO_REGISTRIES], "registries")) {
		const cJSON *it, *prev;
		size_t i = 0, rm = push_key(v, "registries");

		cJSON_ArrayForEach(it, f[CO_REGISTRIES])
		{
			size_t im = push_index(v, i++);

			if (want_string(v, it, NULL)) {
				for (prev = f[CO_REGISTRIES]->child; prev != it; prev = prev->next)
					if (cJSON_IsString(prev) &&
					    !strcmp(prev->valuestring, it->valuestring))
						break;
				if (prev != it)
					issue(v, CG_C_DUPLICATE_ITEM, it, NULL, 0,
					      "registry is listed twice");
			}
			pop(v, im);
		}
		pop(v, rm);
	}
	if (f[CO_DATE] && want_date(v, f[CO_DATE], "date", &d) == 0 && v->has_birth &&
	    cg_date_cmp(&d, &v->birth) < 0)
		issue(v, CG_C_DATE_ORDER, f[CO_DATE], "date", 0,
		      "date is before patient.birthDate");
	pop(v, mark);
}

enum {
	R_SCHEMA,
	R_RECORDID,
	R_SOURCE,
	R_PATIENT,
	R_INDICATION,
	R_PRODUCT,
	R_ADMINISTRATION,
	R_OUTCOMES,
	R_VITAL,
	R_CONSENT,
	R__N
};
static const struct member record_spec[] = {
        {"schemaVersion", 1}, {"recordId", 1}, {"source", 1},         {"patient", 1},
        {"indication", 1},    {"product", 1},  {"administration", 1}, {"outcomes", 0},
        {"vitalStatus", 0},   {"consent", 0}};

enum cg_err
cg_record_validate(const cJSON *rec, const struct cg_mappings *m, const struct cg_date *today,
                   struct cg_diag *d)
{
	const cJSON *f[R__N];
	struct v v;

	memset(&v, 0, sizeof(v));
	v.d = d;
	v.m = m;
	v.today = today;
	cg_buf_init(&v.path, PATH_MAX_BYTES);
	if (!cJSON_IsObject(rec)) {
		issue(&v, CG_C_TYPE, rec, NULL, 0, "a record must be a JSON object, not %s",
		      type_name(rec));
		goto out;
	}
	gather(&v, rec);
	if (members(&v, rec, NULL, record_spec, R__N, f))
		goto out;
	if (f[R_SCHEMA]) {
		const char *s = want_string(&v, f[R_SCHEMA], "schemaVersion");

		if (s && strcmp(s, "1.0") != 0)
			issue(&v, CG_C_ENUM, f[R_SCHEMA], "schemaVersion", 0,
			      "schemaVersion must be \"1.0\" (the version this cellgate "
			      "implements)");
	}
	if (f[R_RECORDID])
		want_id(&v, f[R_RECORDID], "recordId");
	if (f[R_SOURCE])
		check_source(&v, f[R_SOURCE]);
	if (f[R_PATIENT])
		check_patient(&v, f[R_PATIENT]);
	if (f[R_INDICATION])
		check_indication(&v, f[R_INDICATION]);
	if (f[R_PRODUCT])
		check_product(&v, f[R_PRODUCT]);
	if (f[R_ADMINISTRATION])
		check_administration(&v, f[R_ADMINISTRATION]);
	if (f[R_OUTCOMES])
		check_outcomes(&v, f[R_OUTCOMES]);
	if (f[R_VITAL])
		check_vital(&v, f[R_VITAL]);
	if (f[R_CONSENT])
		check_consent(&v, f[R_CONSENT]);
out:
	cg_buf_free(&v.path);
	return v.err;
}
