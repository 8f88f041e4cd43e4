/* locate.c: line and column for issues; see locate.h. */
#include <stddef.h>
#include <stdint.h>
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

/* The tree and the text it was parsed from, walked together: the text
 * was accepted by the scanner before, and the tree has one node per value
 * in the text's order, so each node's value starts where the walk is (the
 * offsets cg_json_scan would give: each value's first byte, its member
 * name's quote). Nothing is checked again; strings are skipped with
 * memchr; the walk stops once every wanted node is reached. Rescanning the
 * record with the strict scanner and numbering the tree apart was most of
 * locating a record's issues. */
struct lock {
	const char *p;
	size_t end, i;
	const struct want *w; /* sorted by node */
	size_t n, found;
	size_t *value_off, *key_off; /* per entry of w */
	uint64_t bloom;              /* a bit per wanted node's address */
	int bad;                     /* the text and the tree disagree */
};

static unsigned
bloom_bit(const void *node)
{
	return (unsigned)(((uintptr_t)node >> 4) & 63);
}

static void
mark(struct lock *l, const cJSON *node, size_t key_off)
{
	size_t lo = 0, hi = l->n;

	if (!(l->bloom >> bloom_bit(node) & 1))
		return;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((const char *)l->w[mid].node < (const char *)node)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < l->n && l->w[lo].node == node; lo++) {
		l->value_off[lo] = l->i;
		l->key_off[lo] = key_off;
		l->found++;
	}
}

static void
lock_value(struct lock *l, const cJSON *node, size_t key_off)
{
	const char *p = l->p;
	size_t end = l->end;
	const cJSON *c;
	char open;
	int first = 1;

	l->i = ws(p, end, l->i);
	if (l->i >= end) {
		l->bad = 1;
		return;
	}
	mark(l, node, key_off);
	if (l->found == l->n)
		return;
	open = p[l->i];
	if (open == '"') {
		l->i = skip_string(p, end, l->i);
		l->bad = !l->i;
		return;
	}
	if (open != '{' && open != '[') {
		/* a number, true, false or null */
		while (l->i < end && p[l->i] != ',' && p[l->i] != '}' && p[l->i] != ']' &&
		       p[l->i] != ' ' && p[l->i] != '\n' && p[l->i] != '\r' && p[l->i] != '\t')
			l->i++;
		return;
	}
	if ((node->type & 0xFF) != (open == '{' ? cJSON_Object : cJSON_Array)) {
		l->bad = 1;
		return;
	}
	l->i++;
	for (c = node->child; c; c = c->next, first = 0) {
		size_t k = CG_JSON_NO_KEY;

		l->i = ws(p, end, l->i);
		if (!first) {
			if (l->i >= end || p[l->i] != ',') {
				l->bad = 1;
				return;
			}
			l->i = ws(p, end, l->i + 1);
		}
		if (open == '{') {
			if (l->i >= end || p[l->i] != '"') {
				l->bad = 1;
				return;
			}
			k = l->i;
			l->i = ws(p, end, skip_string(p, end, l->i));
			if (l->i >= end || p[l->i] != ':') {
				l->bad = 1;
				return;
			}
			l->i++;
		}
		lock_value(l, c, k);
		if (l->bad || l->found == l->n)
			return;
	}
	l->i = ws(p, end, l->i);
	if (l->i >= end || p[l->i] != open + 2) {
		l->bad = 1;
		return;
	}
	l->i++;
}

enum cg_err
cg_locate_issues(struct cg_diag *d, const cJSON *root, const char *p, size_t start, size_t end,
                 const struct cg_json_limits *lim, const struct cg_textpos *at)
{
	struct want *w;
	size_t *offs;
	struct walk wk;
	struct offsets o;
	struct lock lk;
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
	memset(&lk, 0, sizeof(lk));
	lk.p = p;
	lk.end = end;
	lk.i = pos;
	lk.w = w;
	lk.n = d->n;
	lk.value_off = o.value_off;
	lk.key_off = o.key_off;
	for (i = 0; i < d->n; i++)
		lk.bloom |= (uint64_t)1 << bloom_bit(w[i].node);
	if (root)
		lock_value(&lk, root, CG_JSON_NO_KEY);
	if (!root || lk.bad) {
		/* The text was scanned before and the tree built from it, so this
		 * cannot be; if it somehow were, number the tree and scan again,
		 * and the issues not reached keep the record's start. */
		for (i = 0; i < d->n; i++) {
			w[i].order = (size_t)-1;
			o.value_off[i] = start;
			o.key_off[i] = CG_JSON_NO_KEY;
		}
		wk.w = w;
		wk.n = d->n;
		wk.counter = 0;
		wk.found = 0;
		if (root)
			number_nodes(&wk, root);
		qsort(w, d->n, sizeof(*w), by_order);
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
