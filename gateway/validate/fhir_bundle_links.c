/*
 * fhir_bundle_links.c: documents and messages: what the Composition or the
 * MessageHeader refers to must be entries, and every entry must be reached
 * from it (the HL7 validator's orphan rule); see fhir_bundle_rules.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fhir_bundle_internal.h"
#include "fhir_bundle_rules.h"

/* One reference of the Composition or MessageHeader (ref: a Reference
 * object, at the current path; b->cur its entry) that documents.html says
 * the document must carry, or messaging.html the message. */
static void
document_ref(struct cg_fhir_bundle *b, struct cg_check *c, const cJSON *ref, const char *what)
{
	const cJSON *r = cg_json_member(ref, "reference");
	const char *s = cJSON_GetStringValue(r);
	const struct ent *t;

	if (!s || s[0] == '#' || cg_fb_resolve(b, s, &t) > 0)
		return;
	cg_check_issue(c, CG_C_FHIR_REFERENCE, r, "reference", 0,
	               "%s of a %s's %s must be an entry of the %s Bundle", what, b->type,
	               b->cur->type, b->type);
}

/* The references of obj's member name (one Reference, or an array of
 * them; within each, the member sub when given). */
static void
document_refs(struct cg_fhir_bundle *b, struct cg_check *c, const cJSON *obj, const char *name,
              const char *sub, const char *what)
{
	const cJSON *m = cg_json_member(obj, name), *it;
	size_t mark, i = 0;

	if (!m)
		return;
	mark = cg_check_push_key(c, name);
	if (!cJSON_IsArray(m)) {
		if (sub) {
			size_t sm = cg_check_push_key(c, sub);

			document_ref(b, c, cg_json_member(m, sub), what);
			cg_check_pop(c, sm);
		} else {
			document_ref(b, c, m, what);
		}
		cg_check_pop(c, mark);
		return;
	}
	cJSON_ArrayForEach(it, m)
	{
		size_t im = cg_check_push_index(c, i++);

		if (sub)
			document_refs(b, c, it, sub, NULL, what);
		else
			document_ref(b, c, it, what);
		cg_check_pop(c, im);
	}
	cg_check_pop(c, mark);
}

static void
document_sections(struct cg_fhir_bundle *b, struct cg_check *c, const cJSON *obj, int depth)
{
	const cJSON *sec;
	size_t mark, i = 0;

	if (depth > 32 || !cg_json_member(obj, "section"))
		return;
	mark = cg_check_push_key(c, "section");
	cJSON_ArrayForEach(sec, cg_json_member(obj, "section"))
	{
		size_t im = cg_check_push_index(c, i++);

		document_refs(b, c, sec, "author", NULL, "section.author");
		document_refs(b, c, sec, "focus", NULL, "section.focus");
		document_refs(b, c, sec, "entry", NULL, "section.entry");
		document_sections(b, c, sec, depth + 1);
		cg_check_pop(c, im);
	}
	cg_check_pop(c, mark);
}

/* The first entry when its resource is of type `type` (a document's
 * Composition, a message's MessageHeader: bdl-11 and bdl-12 say when it is
 * not), made the current entry with the walk at /entry/0/resource; *mark
 * and *saved undo it (leave_first). NULL: not of that type. */
static const struct ent *
enter_first(struct cg_fhir_bundle *b, struct cg_check *c, const char *type, size_t *mark,
            const struct ent **saved)
{
	const struct ent *x = b->n ? &b->v[0] : NULL;

	if (!x || !x->type || strcmp(x->type, type) != 0)
		return NULL;
	*saved = b->cur;
	b->cur = x;
	*mark = cg_check_push_key(c, "entry");
	cg_check_push_index(c, 0);
	cg_check_push_key(c, "resource");
	return x;
}

static void
leave_first(struct cg_fhir_bundle *b, struct cg_check *c, size_t mark, const struct ent *saved)
{
	cg_check_pop(c, mark);
	b->cur = saved;
}

/* The Composition of a document and what it refers to, as the HL7
 * validator checks it. */
void
cg_fb_document_rule(struct cg_fhir_bundle *b, struct cg_check *c)
{
	const struct ent *saved, *x;
	size_t mark;

	if (!(x = enter_first(b, c, "Composition", &mark, &saved)))
		return;
	document_refs(b, c, x->resource, "subject", NULL, "subject");
	document_refs(b, c, x->resource, "author", NULL, "author");
	document_refs(b, c, x->resource, "encounter", NULL, "encounter");
	document_refs(b, c, x->resource, "custodian", NULL, "custodian");
	document_refs(b, c, x->resource, "attester", "party", "attester.party");
	document_refs(b, c, x->resource, "event", "detail", "event.detail");
	document_sections(b, c, x->resource, 0);
	leave_first(b, c, mark, saved);
}

/* The MessageHeader of a message: its focus must be entries, as
 * BundleValidator.validateMessage has it (an error). */
void
cg_fb_message_rule(struct cg_fhir_bundle *b, struct cg_check *c)
{
	const struct ent *saved, *x;
	size_t mark;

	if (!(x = enter_first(b, c, "MessageHeader", &mark, &saved)))
		return;
	document_refs(b, c, x->resource, "focus", NULL, "focus");
	leave_first(b, c, mark, saved);
}

/* ---- the orphan rule ---------------------------------------------------- */

/* The links an entry holds outside its resource (BundleValidator walks the
 * whole entry): request.url, response.location, link.url. */
static void
entry_links(struct cg_fhir_bundle *b)
{
	const struct ent *saved = b->cur;
	const cJSON *l;
	size_t i;

	for (i = 0; i < b->n; i++) {
		const struct ent *x = &b->v[i];
		const char *u;

		if (!x->resource)
			continue;
		b->cur = x;
		u = cg_fb_str(cg_json_member(x->entry, "request"), "url");
		if (u)
			cg_fb_follow(b, u);
		u = cg_fb_str(cg_json_member(x->entry, "response"), "location");
		if (u)
			cg_fb_follow(b, u);
		cJSON_ArrayForEach(l, cg_json_member(x->entry, "link"))
		{
			u = cg_fb_str(l, "url");
			if (u)
				cg_fb_follow(b, u);
		}
	}
	b->cur = saved;
}

/* A min-heap of entry indexes. */
struct heap {
	size_t *v, n;
};

static void
heap_push(struct heap *h, size_t x)
{
	size_t i = h->n++;

	while (i > 0 && h->v[(i - 1) / 2] > x) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = x;
}

static size_t
heap_pop(struct heap *h)
{
	size_t top = h->v[0], x = h->v[--h->n], i = 0;

	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= h->n)
			break;
		if (k + 1 < h->n && h->v[k + 1] < h->v[k])
			k++;
		if (h->v[k] >= x)
			break;
		h->v[i] = h->v[k];
		i = k;
	}
	if (h->n)
		h->v[i] = x;
	return top;
}

enum { UNSEEN, AHEAD, BACK }; /* reached forward, or first by a link backwards */

struct reach {
	const size_t *fs, *rs; /* where an entry's links start in fwd, in rev */
	size_t *fwd, *rev;     /* links by source, by target */
	unsigned char *state;
	size_t *stack;
	struct heap now, later; /* entries that link to a reached one */
	long pos;               /* where the HL7 validator's pass over the entries is */
};

/* Marks x reached and, unless no_follow, all it links to (visitLinked);
 * every entry newly reached makes those linking to it candidates, for this
 * pass when the pass has yet to reach them, else for the next. */
static void
reach(struct reach *r, size_t x, unsigned char how, int no_follow)
{
	size_t top = 0;

	if (r->state[x] != UNSEEN)
		return;
	r->state[x] = how;
	r->stack[top++] = x;
	while (top) {
		size_t u = r->stack[--top], k;

		for (k = r->rs[u]; k < r->rs[u + 1]; k++)
			if (r->state[r->rev[k]] == UNSEEN)
				heap_push((long)r->rev[k] > r->pos ? &r->now : &r->later,
				          r->rev[k]);
		if (no_follow)
			continue;
		for (k = r->fs[u]; k < r->fs[u + 1]; k++)
			if (r->state[r->fwd[k]] == UNSEEN) {
				r->state[r->fwd[k]] = AHEAD;
				r->stack[top++] = r->fwd[k];
			}
	}
}

/* Bundle.link stylesheet Type/id: that entry counts as reached
 * (visitBundleLinks), without following its links. */
static void
stylesheets(struct cg_fhir_bundle *b, struct reach *r)
{
	const cJSON *l;

	cJSON_ArrayForEach(l, cg_json_member(b->bundle, "link"))
	{
		const char *rel = cg_fb_str(l, "relation"), *url = cg_fb_str(l, "url"), *slash;
		size_t i, nt;

		if (!rel || !url || strcmp(rel, "stylesheet") != 0)
			continue;
		slash = strchr(url, '/');
		if (!slash)
			continue;
		nt = (size_t)(slash - url);
		for (i = 0; i < b->n; i++) {
			const struct ent *x = &b->v[i];

			if (x->type && x->id && strlen(x->type) == nt &&
			    !memcmp(x->type, url, nt) && !strcmp(slash + 1, x->id)) {
				reach(r, i, AHEAD, 1);
				break;
			}
		}
	}
}

/* Every entry of a document or message must be reached from the first
 * resource (the Composition, the MessageHeader) by following links forward
 * or backward: BundleValidator.checkAllInterlinked of the HL7 validator
 * (org.hl7.fhir.core, org.hl7.fhir.validation.instance.type), whose
 * severities and order this follows:
 *
 * - a link is a Reference.reference, or a uri or url value (but system,
 *   Extension.url and endpoints), anywhere in the entry, nested Bundles
 *   aside, that resolves to exactly one other entry with a resource;
 * - the entries reached forward (visitLinked) and those a stylesheet link
 *   names count as reached; then, pass after pass in entry order until a
 *   pass adds none, an entry that links to a reached one is reached too,
 *   with what it links to forward;
 * - in a document, an entry reached only backwards is a warning (R4 and
 *   R4B allow only forward links; BUNDLE_BUNDLE_ENTRY_REVERSE_R4), but for
 *   a Provenance; in a message the validator gives a hint, which we leave
 *   out;
 * - an entry never reached is an error in a document
 *   (BUNDLE_BUNDLE_ENTRY_ORPHAN_DOCUMENT, rule()) and a warning in a
 *   message (BUNDLE_BUNDLE_ENTRY_ORPHAN_MESSAGE, warning()).
 *
 * documents.html: the document holds the Composition, what it refers to
 * "directly or indirectly", a stylesheet Binary and Provenances;
 * messaging.html says the same of the MessageHeader. The pass emulation
 * (heaps of candidates) keeps it O(L log L) in the links, where a pass
 * over all entries would be quadratic. */
void
cg_fb_interlinked_rule(struct cg_fhir_bundle *b, struct cg_check *c, int message)
{
	struct reach r;
	size_t *mem, *fc, *rc, *fp, i, root, mark;

	for (root = 0; root < b->n && !b->v[root].resource; root++)
		;
	if (root == b->n || (message && root != 0))
		return; /* no resource; a message whose first entry has none */
	entry_links(b);
	if (b->oom) {
		c->err = CG_ENOMEM;
		return;
	}
	mem = calloc(5 * (b->n + 1) + 4 * b->nlink, sizeof(*mem));
	if (!mem) {
		c->err = CG_ENOMEM;
		return;
	}
	/* counting sort of the links by source and by target */
	fc = mem;
	rc = fc + b->n + 1;
	r.fwd = rc + b->n + 1;
	r.rev = r.fwd + b->nlink;
	r.now.v = r.rev + b->nlink;
	r.later.v = r.now.v + b->nlink;
	r.stack = r.later.v + b->nlink;
	r.state = (unsigned char *)(r.stack + b->n + 1);
	fp = (size_t *)r.state + b->n + 1;
	r.now.n = r.later.n = 0;
	for (i = 0; i < b->nlink; i++) {
		fc[b->link[i][0] + 1]++;
		rc[b->link[i][1] + 1]++;
	}
	for (i = 0; i < b->n; i++) {
		fc[i + 1] += fc[i];
		rc[i + 1] += rc[i];
	}
	/* fp: where the next link of each source goes, then of each target */
	memcpy(fp, fc, b->n * sizeof(*fp));
	for (i = 0; i < b->nlink; i++)
		r.fwd[fp[b->link[i][0]]++] = b->link[i][1];
	memcpy(fp, rc, b->n * sizeof(*fp));
	for (i = 0; i < b->nlink; i++)
		r.rev[fp[b->link[i][1]]++] = b->link[i][0];
	r.fs = fc;
	r.rs = rc;
	r.pos = -1;
	reach(&r, root, AHEAD, 0);
	stylesheets(b, &r);
	for (;;) {
		if (!r.now.n) {
			struct heap t = r.now;

			if (!r.later.n)
				break;
			r.now = r.later;
			r.later = t;
			r.pos = -1;
		}
		i = heap_pop(&r.now);
		if (r.state[i] != UNSEEN)
			continue;
		r.pos = (long)i;
		reach(&r, i, BACK, 0);
	}
	mark = cg_check_push_key(c, "entry");
	for (i = 0; i < b->n; i++) {
		const struct ent *x = &b->v[i];
		size_t im;

		if (!x->resource || r.state[i] == AHEAD ||
		    (r.state[i] == BACK &&
		     (message || (x->type && !strcmp(x->type, "Provenance")))))
			continue;
		im = cg_check_push_index(c, i);
		if (r.state[i] == BACK)
			cg_check_issue(c, CG_C_FHIR_BUNDLE_WARNING, x->entry, NULL, 0,
			               "this entry links to the document's other entries, but none "
			               "leads to it from the Composition: R4 wants every entry "
			               "reached forward");
		else if (message)
			cg_check_issue(c, CG_C_FHIR_BUNDLE_WARNING, x->entry, NULL, 0,
			               "no link (reference, uri) leads to this entry from the "
			               "MessageHeader, nor from it to an entry that does");
		else
			cg_check_issue(c, CG_C_FHIR_BUNDLE, x->entry, NULL, 0,
			               "no link (reference, uri) leads to this entry from the "
			               "Composition, nor from it to an entry that does: a document "
			               "holds only what its Composition refers to");
		cg_check_pop(c, im);
	}
	cg_check_pop(c, mark);
	free(mem);
}
