/* locate.c: line and column for issues; see locate.h. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "locate.h"

struct want {
	const void *node;
	size_t issue; /* index into d->v */
	size_t order; /* pre-order index of node, or (size_t)-1 */
};

struct walk {
	struct want *w; /* sorted by node address, then by order of issues */
	size_t n;
	size_t counter;
	size_t found; /* entries numbered so far */
};

static int
by_node(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	if (x->node != y->node)
		return (const char *)x->node < (const char *)y->node ? -1 : 1;
	return x->issue < y->issue ? -1 : x->issue > y->issue;
}

static int
by_order(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/* Numbers the tree's nodes in pre-order and notes the numbers we need.
 * Depth is bounded by the scanner's limit, so recursion is safe. */
static void
number_nodes(struct walk *wk, const cJSON *node)
{
	size_t lo = 0, hi = wk->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((const char *)wk->w[mid].node < (const char *)node)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < wk->n && wk->w[lo].node == node; lo++) {
		wk->w[lo].order = wk->counter;
		wk->found++;
	}
	wk->counter++;
	if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
		const cJSON *c;

		/* nothing after the last wanted node needs a number */
		for (c = node->child; c && wk->found < wk->n; c = c->next)
			number_nodes(wk, c);
	}
}

struct offsets {
	struct want *w; /* sorted by order */
	size_t n;
	size_t next; /* first entry not yet reached */
	size_t counter;
	size_t *value_off; /* per entry */
	size_t *key_off;
};

static void
visit(void *ctx, size_t value_off, size_t key_off)
{
	struct offsets *o = ctx;

	while (o->next < o->n && o->w[o->next].order == o->counter) {
		o->value_off[o->next] = value_off;
		o->key_off[o->next] = key_off;
		o->next++;
	}
	o->counter++;
}

static inline size_t
ws(const char *p, size_t end, size_t i)
{
	while (i < end && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
		i++;
	return i;
}

/* The end of the string whose opening quote is at p[i] (one past its
 * closing quote), or 0 when it has none before end. */
static size_t
skip_string(const char *p, size_t end, size_t i)
{
	const char *q;

	for (i++; i < end; i = (size_t)(q - p) + 1) {
		size_t bs = 0;

		q = memchr(p + i, '"', end - i);
		if (!q)
			return 0;
		/* escaped when an odd number of backslashes precede it */
		while ((size_t)(q - p) - bs > i && q[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return (size_t)(q - p) + 1;
	}
	return 0;
}

/* The scanner's walk of text it accepted before (cg_json_scan calls visit at
 * the same places: each value's first byte, with its member name's quote),
 * without checking anything again, and stopping once every wanted node is
 * reached: the rescan was most of locating a record's issues. 0, or -1 on
 * anything it did not expect (then the caller scans as before). */
static int
skim(const char *p, size_t end, size_t i, struct offsets *o)
{
	char stack[CG_JSON_MAX_MAX_DEPTH];
	size_t depth = 0, key_off = CG_JSON_NO_KEY;
	int member = 0;

	for (;;) {
		char c;

		i = ws(p, end, i);
		if (member) {
			/* a member name, then ':' */
			if (i >= end || p[i] != '"')
				return -1;
			key_off = i;
			i = skip_string(p, end, i);
			if (!i)
				return -1;
			i = ws(p, end, i);
			if (i >= end || p[i] != ':')
				return -1;
			i = ws(p, end, i + 1);
			member = 0;
		}
		if (i >= end)
			return -1;
		visit(o, i, key_off);
		key_off = CG_JSON_NO_KEY;
		if (o->next == o->n)
			return 0;
		c = p[i];
		if (c == '{' || c == '[') {
			if (depth >= sizeof(stack))
				return -1;
			stack[depth++] = c;
			i = ws(p, end, i + 1);
			if (i < end && p[i] == c + 2) {
				depth--;
				i++;
			} else {
				member = c == '{';
				continue;
			}
		} else if (c == '"') {
			i = skip_string(p, end, i);
			if (!i)
				return -1;
		} else {
			/* a number, true, false or null */
			while (i < end && p[i] != ',' && p[i] != '}' && p[i] != ']' &&
			       p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
				i++;
		}
		/* a value ended: close containers until one expects more */
		for (;;) {
			if (depth == 0)
				return 0;
			i = ws(p, end, i);
			if (i >= end)
				return -1;
			if (p[i] == ',') {
				i++;
				member = stack[depth - 1] == '{';
				break;
			}
			if (p[i] != stack[depth - 1] + 2)
				return -1;
			depth--;
			i++;
		}
	}
}

enum cg_err
cg_locate_issues(struct cg_diag *d, const cJSON *root, const char *p, size_t start, size_t end,
                 const struct cg_json_limits *lim, const struct cg_textpos *at)
{
	struct want *w;
	size_t *offs;
	struct walk wk;
	struct offsets o;
	struct cg_json_fault fault;
	struct cg_textpos tp;
	size_t i, pos = start;

	if (d->n == 0)
		return CG_OK;
	w = calloc(d->n, sizeof(*w));
	offs = calloc(d->n * 2, sizeof(*offs));
	if (!w || !offs) {
		free(w);
		free(offs);
		return CG_ENOMEM;
	}
	for (i = 0; i < d->n; i++) {
		w[i].node = d->v[i].node;
		w[i].issue = i;
		w[i].order = (size_t)-1;
	}
	qsort(w, d->n, sizeof(*w), by_node);
	wk.w = w;
	wk.n = d->n;
	wk.counter = 0;
	wk.found = 0;
	if (root)
		number_nodes(&wk, root);
	qsort(w, d->n, sizeof(*w), by_order);

	o.w = w;
	o.n = d->n;
	o.next = 0;
	o.counter = 0;
	o.value_off = offs;
	o.key_off = offs + d->n;
	for (i = 0; i < d->n; i++) {
		o.value_off[i] = start;
		o.key_off[i] = CG_JSON_NO_KEY;
	}
	if (skim(p, end, pos, &o)) {
		/* The text was scanned before, so this cannot fail; if it
		 * somehow did, the issues not reached keep the record's start. */
		o.next = 0;
		o.counter = 0;
		for (i = 0; i < d->n; i++) {
			o.value_off[i] = start;
			o.key_off[i] = CG_JSON_NO_KEY;
		}
		(void)cg_json_scan(p, end, &pos, lim, visit, &o, &fault);
	}
	for (i = 0; i < d->n; i++) {
		struct cg_issue *is = &d->v[w[i].issue];

		is->offset = is->at_key && o.key_off[i] != CG_JSON_NO_KEY ? o.key_off[i]
		                                                          : o.value_off[i];
	}
	free(w);
	free(offs);

	cg_diag_sort(d);
	tp = *at;
	for (i = 0; i < d->n; i++) {
		cg_textpos_advance(&tp, p, d->v[i].offset);
		d->v[i].line = tp.line;
		d->v[i].column = tp.column;
		d->v[i].located = 1;
	}
	return CG_OK;
}
