/* fhir_bundle_rules.c: a Bundle's entries and the references between them;
 * see fhir_bundle_rules.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fhir_bundle_rules.h"

struct ent {
	const cJSON *entry, *resource;
	const char *full;             /* fullUrl, or NULL */
	const char *type, *id, *vers; /* of the resource, or NULL */
	size_t base;                  /* a RESTful fullUrl: the length of its base */
	int restful;                  /* fullUrl is base + type/id of its own resource */
};

struct cg_fhir_bundle {
	const cJSON *bundle;
	const struct cg_fhir_structure *s;
	const char *type;
	struct ent *v;
	size_t n;
	struct ent **by_url; /* entries with a fullUrl, by fullUrl */
	size_t nurl;
	struct ent **by_res; /* entries with a resource, by the resource's address */
	size_t nres;
	const struct ent *cur; /* the entry the walk is in */
	/* a document or message: the links between entries that the walk
	 * meets (from, to: indexes in v), for the orphan rule */
	int linked, oom;
	size_t (*link)[2];
	size_t nlink, link_cap;
};

static const char *
str(const cJSON *obj, const char *name)
{
	return cJSON_GetStringValue(cg_json_member(obj, name));
}

static int
is_http(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static int
is_urn(const char *s)
{
	return !strncmp(s, "urn:uuid:", 9) || !strncmp(s, "urn:oid:", 8);
}

/* scheme ":" ...: an absolute URI, which resolves by fullUrl alone. */
static int
is_absolute(const char *s)
{
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':';
}

static int
by_url_cmp(const void *a, const void *b)
{
	const struct ent *x = *(const struct ent *const *)a, *y = *(const struct ent *const *)b;
	int r = strcmp(x->full, y->full);

	/* equal fullUrls keep entry order, so the first is found first */
	return r ? r : (x < y ? -1 : x > y);
}

static int
by_res_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)(*(const struct ent *const *)a)->resource;
	uintptr_t y = (uintptr_t)(*(const struct ent *const *)b)->resource;

	return x < y ? -1 : x > y;
}

/* Whether full ends with "/" type "/" id: then the part before is the base
 * that relative references of the entry resolve against. */
static int
ends_with_type_id(const char *full, const char *type, const char *id, size_t *base)
{
	size_t nf = strlen(full), nt = strlen(type), ni = strlen(id);

	if (nf < nt + ni + 2)
		return 0;
	*base = nf - nt - ni - 1;
	return full[*base - 1] == '/' && !memcmp(full + *base, type, nt) &&
	       full[*base + nt] == '/' && !strcmp(full + *base + nt + 1, id);
}

struct cg_fhir_bundle *
cg_fhir_bundle_new(const cJSON *bundle, const struct cg_fhir_structure *s)
{
	struct cg_fhir_bundle *b = calloc(1, sizeof(*b));
	const cJSON *e, *entries = cg_json_member(bundle, "entry");
	size_t n = 0;

	if (!b)
		return NULL;
	b->bundle = bundle;
	b->s = s;
	b->type = str(bundle, "type");
	b->linked = b->type && (!strcmp(b->type, "document") || !strcmp(b->type, "message"));
	cJSON_ArrayForEach(e, entries) n++;
	b->v = calloc(n ? n : 1, sizeof(*b->v));
	b->by_url = calloc(n ? n : 1, sizeof(*b->by_url));
	b->by_res = calloc(n ? n : 1, sizeof(*b->by_res));
	if (!b->v || !b->by_url || !b->by_res) {
		cg_fhir_bundle_free(b);
		return NULL;
	}
	cJSON_ArrayForEach(e, entries)
	{
		struct ent *x = &b->v[b->n++];
		const cJSON *r = cg_json_member(e, "resource");

		x->entry = e;
		x->full = str(e, "fullUrl");
		if (cJSON_IsObject(r)) {
			x->resource = r;
			x->type = str(r, "resourceType");
			x->id = str(r, "id");
			x->vers = str(cg_json_member(r, "meta"), "versionId");
			b->by_res[b->nres++] = x;
		}
		if (x->full) {
			b->by_url[b->nurl++] = x;
			x->restful = is_http(x->full) && x->type && x->id &&
			             ends_with_type_id(x->full, x->type, x->id, &x->base);
		}
	}
	qsort(b->by_url, b->nurl, sizeof(*b->by_url), by_url_cmp);
	qsort(b->by_res, b->nres, sizeof(*b->by_res), by_res_cmp);
	return b;
}

void
cg_fhir_bundle_free(struct cg_fhir_bundle *b)
{
	if (!b)
		return;
	free(b->v);
	free(b->by_url);
	free(b->by_res);
	free(b->link);
	free(b);
}

const cJSON *
cg_fhir_bundle_enter(struct cg_fhir_bundle *b, const cJSON *resource)
{
	const struct ent *saved = b->cur;
	size_t lo = 0, hi = b->nres;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((uintptr_t)b->by_res[mid]->resource < (uintptr_t)resource)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->nres && b->by_res[lo]->resource == resource)
		b->cur = b->by_res[lo];
	return saved ? saved->resource : NULL;
}

void
cg_fhir_bundle_leave(struct cg_fhir_bundle *b, const cJSON *saved)
{
	if (!saved) {
		b->cur = NULL;
		return;
	}
	cg_fhir_bundle_enter(b, saved);
}

/* fullUrl against key[0..n), which has no NUL: strcmp's order. */
static int
url_cmp(const char *full, const char *key, size_t n)
{
	int r = strncmp(full, key, n);

	return r ? r : full[n] != '\0';
}

/* The entries whose fullUrl is key[0..n): *first and how many (of version
 * vers[0..vn) when given). */
static size_t
find(const struct cg_fhir_bundle *b, const char *key, size_t n, const char *vers, size_t vn,
     const struct ent **first)
{
	size_t lo = 0, hi = b->nurl, count = 0;

	*first = NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (url_cmp(b->by_url[mid]->full, key, n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < b->nurl && url_cmp(b->by_url[lo]->full, key, n) == 0; lo++) {
		const struct ent *x = b->by_url[lo];

		if (vers && !(x->vers && strlen(x->vers) == vn && !memcmp(x->vers, vers, vn)))
			continue;
		if (!count++)
			*first = x;
	}
	return count;
}

/* Resolves ref as bundle.html says. Returns the number of entries it names
 * (0: none), or -1 when the Bundle cannot tell (a relative reference in an
 * entry without a RESTful fullUrl: it names a resource on some server). */
static long
resolve(const struct cg_fhir_bundle *b, const char *ref, const struct ent **target)
{
	const char *hist = strstr(ref, "/_history/"), *vers = NULL;
	size_t n = strlen(ref), vn = 0;
	char key[2048];

	if (hist) {
		vers = hist + 10;
		vn = strlen(vers);
		n = (size_t)(hist - ref);
	}
	if (is_absolute(ref))
		return (long)find(b, ref, n, vers, vn, target);
	if (!b->cur || !b->cur->restful || b->cur->base + n >= sizeof(key))
		return -1;
	memcpy(key, b->cur->full, b->cur->base);
	memcpy(key + b->cur->base, ref, n);
	return (long)find(b, key, b->cur->base + n, vers, vn, target);
}

/* The resource type a reference names in its text (Type/id, or an absolute
 * RESTful URL's second-to-last part), when it names one. */
static int
named_type(const char *ref, char *type, size_t size)
{
	const char *end = strstr(ref, "/_history/"), *slash, *p;
	size_t n;

	if (!end)
		end = ref + strlen(ref);
	slash = end;
	while (slash > ref && slash[-1] != '/')
		slash--;
	if (slash <= ref + 1)
		return 0;
	for (p = slash - 1; p > ref && p[-1] != '/'; p--)
		;
	n = (size_t)(slash - 1 - p);
	if (n == 0 || n >= size || !(*p >= 'A' && *p <= 'Z'))
		return 0;
	memcpy(type, p, n);
	type[n] = '\0';
	return 1;
}

/* A link of the entry the walk is in to the entry t (when it names one):
 * an edge of the graph the orphan rule searches. Links to the entry itself
 * do not count, as in the HL7 validator. */
static void
add_link(struct cg_fhir_bundle *b, const struct ent *t)
{
	if (!t || t == b->cur || !t->resource)
		return;
	if (b->nlink == b->link_cap) {
		size_t cap = b->link_cap ? b->link_cap * 2 : 16;
		size_t(*p)[2] = realloc(b->link, cap * sizeof(*p));

		if (!p) {
			b->oom = 1;
			return;
		}
		b->link = p;
		b->link_cap = cap;
	}
	b->link[b->nlink][0] = (size_t)(b->cur - b->v);
	b->link[b->nlink][1] = (size_t)(t - b->v);
	b->nlink++;
}

/* ref as a link of the current entry: the HL7 validator drops a #fragment
 * before it resolves (resolveInBundle). */
static void
follow(struct cg_fhir_bundle *b, const char *ref)
{
	const char *hash = strchr(ref, '#');
	const struct ent *t = NULL;
	char key[2048];

	if (!ref[0] || ref[0] == '#')
		return;
	if (hash) {
		if ((size_t)(hash - ref) >= sizeof(key))
			return;
		memcpy(key, ref, (size_t)(hash - ref));
		key[hash - ref] = '\0';
		ref = key;
	}
	if (resolve(b, ref, &t) == 1)
		add_link(b, t);
}

void
cg_fhir_bundle_uri(struct cg_fhir_bundle *b, const cJSON *val, const char *name, const char *path)
{
	/* BundleValidator.findReferences: uri and url values but these */
	static const char *const not_links[] = {"Extension.url", "MessageHeader.source.endpoint",
	                                        "MessageHeader.destination.endpoint",
	                                        "Endpoint.address"};
	size_t i;

	if (!b->linked || !b->cur || !cJSON_IsString(val) || !strcmp(name, "system"))
		return;
	for (i = 0; i < sizeof(not_links) / sizeof(not_links[0]); i++)
		if (!strcmp(path, not_links[i]))
			return;
	follow(b, val->valuestring);
}

void
cg_fhir_bundle_reference(struct cg_fhir_bundle *b, struct cg_check *c, const cJSON *ref,
                         const char *path)
{
	const char *s = cJSON_GetStringValue(ref);
	const struct ent *t = NULL;
	char type[80];
	long found;

	if (!s || s[0] == '#')
		return;
	found = resolve(b, s, &t);
	if (b->linked && b->cur) {
		if (strchr(s, '#'))
			follow(b, s);
		else if (found == 1)
			add_link(b, t);
	}
	if (found == 0 && is_urn(s)) {
		/* A URN means nothing outside the Bundle: a server processing a
		 * transaction cannot resolve it; elsewhere the HL7 validator
		 * warns (the reader may know the resource from elsewhere). */
		if (b->type && !strcmp(b->type, "transaction"))
			cg_check_issue(c, CG_C_FHIR_REFERENCE, ref, "reference", 0,
			               "no entry of this transaction has this fullUrl, so the "
			               "server cannot resolve it (%s)",
			               path);
		else
			cg_check_issue(c, CG_C_FHIR_REFERENCE_UNRESOLVED, ref, "reference", 0,
			               "no entry of this Bundle has this fullUrl (%s)", path);
		return;
	}
	if (found > 1) {
		cg_check_issue(c, CG_C_FHIR_REFERENCE, ref, "reference", 0,
		               "refers to %ld entries of this Bundle, which their fullUrl and "
		               "meta.versionId do not tell apart (%s)",
		               found, path);
		return;
	}
	if (found == 1 && t->type && named_type(s, type, sizeof(type)) &&
	    cg_fhir_type(b->s, type) && strcmp(type, t->type) != 0)
		cg_check_issue(c, CG_C_FHIR_REFERENCE, ref, "reference", 0,
		               "names a %s, but the entry it resolves to holds a %s (%s)", type,
		               t->type, path);
}

/* ---- the entries ------------------------------------------------------- */

/* A RESTful fullUrl (http[s]://base/Type/id, Type a resource type) must be
 * the address of its own resource (the HL7 validator's
 * BUNDLE_ENTRY_URL_MATCHES_TYPE_ID). A version-specific fullUrl is bdl-8's. */
static void
fullurl_rule(struct cg_fhir_bundle *b, struct cg_check *c, const struct ent *x)
{
	const cJSON *full = cg_json_member(x->entry, "fullUrl");
	const struct cg_fhir_type *t;
	char type[80];

	if (!x->full || !x->resource || x->restful || !is_http(x->full) ||
	    strstr(x->full, "/_history/") || !named_type(x->full, type, sizeof(type)))
		return;
	t = cg_fhir_type(b->s, type);
	if (!t || t->kind != CG_FHIR_RESOURCE)
		return; /* a URL that does not look like a FHIR server's */
	if (!x->id) {
		size_t mark = cg_check_push_key(c, "resource");

		cg_check_issue(c, CG_C_FHIR_BUNDLE, x->resource, "id", 0,
		               "the fullUrl is a RESTful URL (.../%s/id), so the resource needs "
		               "its id",
		               type);
		cg_check_pop(c, mark);
	} else {
		cg_check_issue(c, CG_C_FHIR_BUNDLE, full, "fullUrl", 0,
		               "a RESTful fullUrl must end with the resource's own type and id "
		               "(.../%s/id)",
		               x->type ? x->type : "Type");
	}
}

/* Identities repeated: in a transaction, two entries whose request changes
 * the same Type/id (http.html: overlapping identities fail the
 * transaction); in other Bundles but history and batches, two entries of
 * one Type/id and version that no RESTful fullUrl tells apart (a RESTful
 * fullUrl repeated is bdl-7's). */
static void
identity_rule(struct cg_fhir_bundle *b, struct cg_check *c)
{
	int tx = !strcmp(b->type, "transaction");
	struct cg_dup *d;
	char *keys;
	size_t i, size = 1, at = 0;

	if (!tx && (!strcmp(b->type, "history") || !strncmp(b->type, "batch", 5) ||
	            !strcmp(b->type, "transaction-response")))
		return;
	for (i = 0; i < b->n; i++)
		size += (b->v[i].type ? strlen(b->v[i].type) : 0) +
		        (b->v[i].id ? strlen(b->v[i].id) : 0) + 2;
	d = calloc(b->n ? b->n : 1, sizeof(*d));
	keys = malloc(size);
	if (!d || !keys) {
		c->err = CG_ENOMEM;
		goto out;
	}
	for (i = 0; i < b->n; i++) {
		const struct ent *x = &b->v[i];
		const cJSON *req = cg_json_member(x->entry, "request");
		const char *m = str(req, "method"), *url = str(req, "url");

		if (tx) {
			/* POST creates a new resource: the id it carries is ignored */
			if (m && strcmp(m, "POST") != 0 && url && !strchr(url, '?'))
				d[i].a = url;
			continue;
		}
		if (!x->type || !x->id || x->restful)
			continue;
		d[i].a = keys + at;
		at += (size_t)sprintf(keys + at, "%s/%s", x->type, x->id) + 1;
		d[i].b = x->vers;
	}
	if (cg_dups_mark(d, b->n)) {
		c->err = CG_ENOMEM;
		goto out;
	}
	for (i = 0; i < b->n; i++) {
		size_t mark;

		if (!d[i].dup)
			continue;
		mark = cg_check_push_index(c, i);
		if (tx)
			cg_check_issue(
			        c, CG_C_FHIR_BUNDLE, cg_json_member(b->v[i].entry, "request"),
			        "request", 0,
			        "another entry of this transaction changes the same resource "
			        "(request.url)");
		else
			cg_check_issue(
			        c, CG_C_FHIR_BUNDLE, b->v[i].resource, "resource", 0,
			        "another entry holds a %s with the same id (and version), and "
			        "no RESTful fullUrl tells them apart",
			        b->v[i].type);
		cg_check_pop(c, mark);
	}
out:
	free(d);
	free(keys);
}

/* ---- documents and messages ------------------------------------------- */

/* One reference of the Composition or MessageHeader (ref: a Reference
 * object, at the current path; b->cur its entry) that documents.html says
 * the document must carry, or messaging.html the message. */
static void
document_ref(struct cg_fhir_bundle *b, struct cg_check *c, const cJSON *ref, const char *what)
{
	const cJSON *r = cg_json_member(ref, "reference");
	const char *s = cJSON_GetStringValue(r);
	const struct ent *t;

	if (!s || s[0] == '#' || resolve(b, s, &t) > 0)
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
static void
document_rule(struct cg_fhir_bundle *b, struct cg_check *c)
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
static void
message_rule(struct cg_fhir_bundle *b, struct cg_check *c)
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
		u = str(cg_json_member(x->entry, "request"), "url");
		if (u)
			follow(b, u);
		u = str(cg_json_member(x->entry, "response"), "location");
		if (u)
			follow(b, u);
		cJSON_ArrayForEach(l, cg_json_member(x->entry, "link"))
		{
			u = str(l, "url");
			if (u)
				follow(b, u);
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
		const char *rel = str(l, "relation"), *url = str(l, "url"), *slash;
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
static void
interlinked_rule(struct cg_fhir_bundle *b, struct cg_check *c, int message)
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

void
cg_fhir_bundle_rules(struct cg_fhir_bundle *b, struct cg_check *c)
{
	size_t i, mark;

	if (!b->type)
		return;
	mark = cg_check_push_key(c, "entry");
	for (i = 0; i < b->n; i++) {
		size_t im = cg_check_push_index(c, i);

		fullurl_rule(b, c, &b->v[i]);
		cg_check_pop(c, im);
	}
	identity_rule(b, c);
	cg_check_pop(c, mark);
	if (!b->linked)
		return;
	if (!strcmp(b->type, "document"))
		document_rule(b, c);
	else
		message_rule(b, c);
	interlinked_rule(b, c, !strcmp(b->type, "message"));
}
