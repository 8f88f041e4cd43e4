/* locate.c: line and column for issues; see locate.h. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_type.h"
#include "locate.h"

struct want {
	const void *node;
	size_t issue; /* index into d->v */
};

struct walk {
	const struct want *w; /* sorted by node address, then by order of issues */
	size_t n, found;
	size_t *value_off, *key_off; /* per entry of w */
	uint64_t bloom;              /* a bit per wanted node's address */
};

static int
by_node(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	if (x->node != y->node)
		return (const char *)x->node < (const char *)y->node ? -1 : 1;
	return x->issue < y->issue ? -1 : x->issue > y->issue;
}

static unsigned
bloom_bit(const void *node)
{
	return (unsigned)(((uintptr_t)node >> 4) & 63);
}

/* The tree as cg_json_parse built it: each wanted node's offsets are beside
 * it (struct cg_json_placed), so only the tree is walked, in pre-order, to
 * find the wanted nodes among its own, and the walk stops once all are
 * found. Reading the text again to place them (walking tree and text
 * together) was most of the cost of a record with issues. Depth is bounded
 * by the scanner's limit, so recursion is safe. */
static void
read_places(struct walk *wk, const cJSON *node)
{
	const cJSON *c;

	if (wk->bloom >> bloom_bit(node) & 1) {
		const struct cg_json_placed *pl = (const struct cg_json_placed *)node;
		size_t lo = 0, hi = wk->n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if ((const char *)wk->w[mid].node < (const char *)node)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < wk->n && wk->w[lo].node == node; lo++) {
			wk->value_off[lo] = pl->value_off;
			wk->key_off[lo] = pl->key_off;
			wk->found++;
		}
	}
	if (cg_json_is_object(node) || cg_json_is_array(node))
		for (c = node->child; c && wk->found < wk->n; c = c->next)
			read_places(wk, c);
}

enum cg_err
cg_locate_issues(struct cg_diag *d, const cJSON *root, const char *p, size_t start,
                 const struct cg_textpos *at)
{
	struct want *w;
	size_t *offs;
	struct walk wk;
	struct cg_textpos tp;
	size_t i;

	if (d->n == 0)
		return CG_OK;
	w = calloc(d->n, sizeof(*w));
	offs = calloc(d->n * 2, sizeof(*offs));
	if (!w || !offs) {
		free(w);
		free(offs);
		return CG_ENOMEM;
	}
	memset(&wk, 0, sizeof(wk));
	for (i = 0; i < d->n; i++) {
		w[i].node = d->v[i].node;
		w[i].issue = i;
	}
	qsort(w, d->n, sizeof(*w), by_node);
	wk.w = w;
	wk.n = d->n;
	wk.value_off = offs;
	wk.key_off = offs + d->n;
	for (i = 0; i < d->n; i++) {
		wk.value_off[i] = start; /* for issues whose node is not in the tree */
		wk.key_off[i] = CG_JSON_NO_KEY;
		wk.bloom |= (uint64_t)1 << bloom_bit(w[i].node);
	}
	if (root)
		read_places(&wk, root);
	for (i = 0; i < d->n; i++) {
		struct cg_issue *is = &d->v[w[i].issue];

		is->offset = is->at_key && wk.key_off[i] != CG_JSON_NO_KEY ? wk.key_off[i]
		                                                           : wk.value_off[i];
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
