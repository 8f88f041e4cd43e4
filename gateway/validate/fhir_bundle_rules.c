/* fhir_bundle_rules.c: a Bundle's entries and the references between them;
 * see fhir_bundle_rules.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fhir_bundle_internal.h"
#include "fhir_bundle_rules.h"

const char *
cg_fb_str(const cJSON *obj, const char *name)
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
	b->type = cg_fb_str(bundle, "type");
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
		x->full = cg_fb_str(e, "fullUrl");
		if (cJSON_IsObject(r)) {
			x->resource = r;
			x->type = cg_fb_str(r, "resourceType");
			x->id = cg_fb_str(r, "id");
			x->vers = cg_fb_str(cg_json_member(r, "meta"), "versionId");
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
long
cg_fb_resolve(const struct cg_fhir_bundle *b, const char *ref, const struct ent **target)
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
void
cg_fb_follow(struct cg_fhir_bundle *b, const char *ref)
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
	if (cg_fb_resolve(b, ref, &t) == 1)
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
	cg_fb_follow(b, val->valuestring);
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
	found = cg_fb_resolve(b, s, &t);
	if (b->linked && b->cur) {
		if (strchr(s, '#'))
			cg_fb_follow(b, s);
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
		const char *m = cg_fb_str(req, "method"), *url = cg_fb_str(req, "url");

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
		cg_fb_document_rule(b, c);
	else
		cg_fb_message_rule(b, c);
	cg_fb_interlinked_rule(b, c, !strcmp(b->type, "message"));
}
