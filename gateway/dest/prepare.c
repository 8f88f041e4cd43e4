/* prepare.c: a Bundle made fit for its FHIR server; see prepare.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "conditional.h"
#include "dest.h"
#include "json_member.h"
#include "json_write.h"
#include "log.h"
#include "prepare.h"
#include "uuid.h"

enum kind { S_SUBJECT, S_RESOURCE, S_CONDREF };

struct search {
	enum kind kind;
	char *path;      /* "Type?identifier=..." on the destination */
	cJSON *entry;    /* S_RESOURCE: its entry */
	char *sys, *val; /* S_SUBJECT: the identifier */
	char *ref;       /* S_CONDREF: the conditional reference */
	char type[64];   /* the type searched */
	char id[128];    /* what was found: its id, or "" */
	cJSON *found;    /* S_RESOURCE with update_changed: the server's copy */
};

struct cg_prepare {
	struct cg_delivery *d;
	cJSON *tree;
	struct search *s;
	size_t n, at;
	struct cg_delivery *sub; /* the search in flight */
	void (*then)(struct cg_delivery *d, int r);
};

bool
cg_prepare_needed(const struct cg_dest_cfg *d)
{
	return d->type == CG_DEST_FHIR &&
	       (d->rules.create != CG_CREATE_CONDITIONAL || d->rules.resolve_subject ||
	        d->rules.nsecurity || d->rules.ntag);
}

static const char *
text(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cg_json_member(o, name));
}

static void
free_searches(struct cg_prepare *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->s[i].path);
		free(p->s[i].sys);
		free(p->s[i].val);
		free(p->s[i].ref);
		cJSON_Delete(p->s[i].found);
	}
	free(p->s);
	p->s = NULL;
	p->n = 0;
}

void
cg_prepare_free(struct cg_delivery *d)
{
	struct cg_prepare *p = d->prep;

	if (!p)
		return;
	if (p->sub) {
		cg_delivery_release(p->sub);
		free(p->sub);
	}
	free_searches(p);
	cJSON_Delete(p->tree);
	free(p);
	d->prep = NULL;
}

static struct search *
add_search(struct cg_prepare *p, enum kind kind, const char *type)
{
	struct search *v = realloc(p->s, (p->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	p->s = v;
	memset(&v[p->n], 0, sizeof(v[p->n]));
	v[p->n].kind = kind;
	snprintf(v[p->n].type, sizeof(v[p->n].type), "%s", type);
	return &v[p->n++];
}

static char *
query_path(const char *type, const char *sys, const char *val)
{
	struct cg_buf b;
	char *out = NULL;

	cg_buf_init(&b, 16384);
	if (!cg_buf_addstr(&b, type) && !cg_buf_addc(&b, '?') &&
	    cg_identifier_query(sys, val, &b) == CG_OK)
		out = strdup(b.p);
	cg_buf_free(&b);
	return out;
}

/* Whether a subject identifier is searched already. */
static bool
have_subject(const struct cg_prepare *p, const char *sys, const char *val)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->s[i].kind == S_SUBJECT && !strcmp(p->s[i].sys, sys) &&
		    !strcmp(p->s[i].val, val))
			return true;
	return false;
}

static bool
have_ref(const struct cg_prepare *p, const char *ref)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->s[i].kind == S_CONDREF && !strcmp(p->s[i].ref, ref))
			return true;
	return false;
}

/* Conditional references anywhere in v ("Type?..."), for S_CONDREF. */
static int
find_condrefs(struct cg_prepare *p, const cJSON *v)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, v)
	{
		if (cJSON_IsString(c) && c->string && !strcmp(c->string, "reference") &&
		    strchr(c->valuestring, '?') && strncmp(c->valuestring, "urn:", 4) != 0 &&
		    !have_ref(p, c->valuestring)) {
			struct search *s;
			size_t tl = strcspn(c->valuestring, "?");

			if (tl >= 64 || !(s = add_search(p, S_CONDREF, "")))
				return -1;
			memcpy(s->type, c->valuestring, tl);
			s->type[tl] = 0;
			s->ref = strdup(c->valuestring);
			s->path = strdup(c->valuestring);
			if (!s->ref || !s->path)
				return -1;
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			if (find_condrefs(p, c))
				return -1;
		}
	}
	return 0;
}

/* What to search for: every entry's subject identifier (resolve), every
 * created resource's business identifier (search-then-create), every
 * conditional reference (when the server is not trusted with them). */
static int
plan(struct cg_prepare *p)
{
	const struct cg_fhir_rules *r = &p->d->dest->rules;
	cJSON *e;

	cJSON_ArrayForEach(e, cg_json_member(p->tree, "entry"))
	{
		cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "resource");
		cJSON *req = cJSON_GetObjectItemCaseSensitive(e, "request");
		const char *type = text(res, "resourceType"), *method = text(req, "method");
		const cJSON *id = cJSON_GetArrayItem(cg_json_member(res, "identifier"), 0);

		if (r->create != CG_CREATE_CONDITIONAL) /* the server refuses or ignores them */
			cJSON_DeleteItemFromObjectCaseSensitive(req, "ifNoneExist");
		if (r->resolve_subject) {
			const cJSON *sid =
			        cg_json_member(cg_json_member(res, "subject"), "identifier");
			const char *sys = text(sid, "system"), *val = text(sid, "value");

			if (sys && val && (!r->subject_system || !strcmp(sys, r->subject_system)) &&
			    !have_subject(p, sys, val)) {
				struct search *s = add_search(p, S_SUBJECT, "Patient");

				if (!s || !(s->sys = strdup(sys)) || !(s->val = strdup(val)) ||
				    !(s->path = query_path("Patient", sys, val)))
					return -1;
			}
		}
		if (r->create == CG_CREATE_SEARCH && type && method && !strcmp(method, "POST") &&
		    text(id, "value") && strlen(type) < 64) {
			struct search *s = add_search(p, S_RESOURCE, type);

			if (!s ||
			    !(s->path = query_path(type, text(id, "system"), text(id, "value"))))
				return -1;
			s->entry = e;
		}
	}
	if (r->create != CG_CREATE_CONDITIONAL && find_condrefs(p, p->tree))
		return -1;
	return 0;
}

/* The destination's codings in res.meta[key], each once. */
static void
add_codings(cJSON *res, const char *key, const struct cg_coding *c, size_t n)
{
	cJSON *meta, *list, *one;
	size_t i;

	if (!n || !cJSON_IsObject(res))
		return;
	meta = cJSON_GetObjectItemCaseSensitive(res, "meta");
	if (!meta)
		meta = cJSON_AddObjectToObject(res, "meta");
	list = cJSON_GetObjectItemCaseSensitive(meta, key);
	if (!list)
		list = cJSON_AddArrayToObject(meta, key);
	for (i = 0; list && i < n; i++) {
		bool there = false;

		cJSON_ArrayForEach(one, list)
		{
			const char *sys = text(one, "system"), *code = text(one, "code");

			there |= sys && code && !strcmp(sys, c[i].system) &&
			         !strcmp(code, c[i].code);
		}
		if (there)
			continue;
		one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "system", c[i].system);
		cJSON_AddStringToObject(one, "code", c[i].code);
		if (c[i].display)
			cJSON_AddStringToObject(one, "display", c[i].display);
		cJSON_AddItemToArray(list, one);
	}
}

/* The destination's tags on every resource of the Bundle (the gateway's
 * mapped ones have them already; a client's and what prepare adds do not). */
static void
tag_all(struct cg_prepare *p)
{
	const struct cg_fhir_rules *r = &p->d->dest->rules;
	cJSON *e;

	cJSON_ArrayForEach(e, cg_json_member(p->tree, "entry"))
	{
		cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "resource");

		add_codings(res, "security", r->security, r->nsecurity);
		add_codings(res, "tag", r->tag, r->ntag);
	}
}

/* Every reference equal to from, anywhere in v, made to. */
static void
repoint(cJSON *v, const char *from, const char *to)
{
	cJSON *c;

	cJSON_ArrayForEach(c, v)
	{
		if (cJSON_IsString(c) && c->string && !strcmp(c->string, "reference") &&
		    !strcmp(c->valuestring, from))
			cJSON_SetValuestring(c, to);
		else if (cJSON_IsObject(c) || cJSON_IsArray(c))
			repoint(c, from, to);
	}
}

/* The same content, but for what the server adds (id, meta, text). */
static bool
same_content(const cJSON *mine, const cJSON *theirs)
{
	cJSON *a = cJSON_Duplicate(mine, 1), *b = cJSON_Duplicate(theirs, 1);
	bool same;

	cJSON_DeleteItemFromObjectCaseSensitive(a, "id");
	cJSON_DeleteItemFromObjectCaseSensitive(a, "meta");
	cJSON_DeleteItemFromObjectCaseSensitive(b, "id");
	cJSON_DeleteItemFromObjectCaseSensitive(b, "meta");
	cJSON_DeleteItemFromObjectCaseSensitive(b, "text");
	same = a && b && cJSON_Compare(a, b, 1);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return same;
}

/* The subject identifier's reference: Patient/<id>, or a new Patient in
 * this transaction. -1 when it is not there and may not be made. */
static int
apply_subject(struct cg_prepare *p, const struct search *s, char *why, size_t whylen)
{
	cJSON *entries = cJSON_GetObjectItemCaseSensitive(p->tree, "entry"), *e;
	char ref[256];

	if (s->id[0]) {
		snprintf(ref, sizeof(ref), "Patient/%s", s->id);
	} else if (p->d->dest->rules.create_patient) {
		char name[1100], uuid[CG_UUID_STRLEN + 1];
		cJSON *pe = cJSON_CreateObject(), *pat, *ids, *one, *req;

		snprintf(name, sizeof(name), "Patient|%s|%s", s->sys, s->val);
		if (cg_uuid_v5(name, strlen(name), uuid) || !pe)
			return -1;
		snprintf(ref, sizeof(ref), "urn:uuid:%s", uuid);
		cJSON_AddStringToObject(pe, "fullUrl", ref);
		pat = cJSON_AddObjectToObject(pe, "resource");
		cJSON_AddStringToObject(pat, "resourceType", "Patient");
		ids = cJSON_AddArrayToObject(pat, "identifier");
		one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "system", s->sys);
		cJSON_AddStringToObject(one, "value", s->val);
		cJSON_AddItemToArray(ids, one);
		req = cJSON_AddObjectToObject(pe, "request");
		cJSON_AddStringToObject(req, "method", "POST");
		cJSON_AddStringToObject(req, "url", "Patient");
		/* first: what refers to it comes after */
		cJSON_InsertItemInArray(entries, 0, pe);
	} else {
		snprintf(why, whylen,
		         "the destination has no Patient with the subject's identifier (system "
		         "%.100s) "
		         "and create_patient is off",
		         s->sys);
		return -1;
	}
	cJSON_ArrayForEach(e, entries)
	{
		cJSON *sub = cJSON_GetObjectItemCaseSensitive(
		        cJSON_GetObjectItemCaseSensitive(e, "resource"), "subject");
		const cJSON *sid = cg_json_member(sub, "identifier");
		const char *sys = text(sid, "system"), *val = text(sid, "value");

		if (sys && val && !strcmp(sys, s->sys) && !strcmp(val, s->val)) {
			cJSON_DeleteItemFromObjectCaseSensitive(sub, "reference");
			cJSON_AddStringToObject(sub, "reference", ref);
		}
	}
	return 0;
}

/* What the searches found, applied. -1 with why when the Bundle cannot be
 * sent as the destination wants. */
static int
apply(struct cg_prepare *p, char *why, size_t whylen, int *retry)
{
	cJSON *entries = cJSON_GetObjectItemCaseSensitive(p->tree, "entry");
	size_t i;

	*retry = 0;
	for (i = 0; i < p->n; i++) {
		struct search *s = &p->s[i];
		char ref[256];

		if (s->kind == S_SUBJECT) {
			if (apply_subject(p, s, why, whylen))
				return -1;
		} else if (s->kind == S_CONDREF) {
			if (!s->id[0]) {
				/* the part that creates it goes first, in order: not
				 * there yet is for a later try */
				snprintf(why, whylen, "the destination has no %s for %.150s yet",
				         s->type, s->ref);
				*retry = 1;
				return -1;
			}
			snprintf(ref, sizeof(ref), "%s/%s", s->type, s->id);
			repoint(p->tree, s->ref, ref);
		} else if (s->id[0]) {
			const char *full = text(s->entry, "fullUrl");
			cJSON *res = cJSON_GetObjectItemCaseSensitive(s->entry, "resource");

			snprintf(ref, sizeof(ref), "%s/%s", s->type, s->id);
			if (p->d->dest->rules.update_changed && s->found &&
			    !same_content(res, s->found)) {
				cJSON *req = cJSON_GetObjectItemCaseSensitive(s->entry, "request");

				cJSON_DeleteItemFromObjectCaseSensitive(res, "id");
				cJSON_AddStringToObject(res, "id", s->id);
				cJSON_DeleteItemFromObjectCaseSensitive(req, "method");
				cJSON_DeleteItemFromObjectCaseSensitive(req, "url");
				cJSON_DeleteItemFromObjectCaseSensitive(req, "ifNoneExist");
				cJSON_AddStringToObject(req, "method", "PUT");
				cJSON_AddStringToObject(req, "url", ref);
			} else {
				/* there already: not created again; what referred to it
				 * by its fullUrl refers to the server's */
				int k = 0;
				cJSON *e;

				cJSON_ArrayForEach(e, entries)
				{
					if (e == s->entry)
						break;
					k++;
				}
				if (full)
					repoint(p->tree, full, ref);
				cJSON_DeleteItemFromArray(entries, k);
				s->entry = NULL;
			}
		}
	}
	return 0;
}

static void search_next(struct cg_prepare *p);

static void
finish(struct cg_prepare *p, int r)
{
	void (*then)(struct cg_delivery *, int) = p->then;
	struct cg_delivery *d = p->d;

	then(d, r);
}

/* A FHIR id ([A-Za-z0-9\-\.]{1,64}): what goes into Type/id and URLs. */
static bool
fhir_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n >= 1 && n <= 64 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.") == n;
}

/* The match a search found in doc (*first, NULL when none): 0, or -1 when
 * doc is no searchset Bundle, 1 when the matches are several where one is
 * needed (a subject, a conditional reference; *matches says how many) or
 * the match's id is no FHIR id. Entries of another type or mode (an
 * OperationOutcome, an _include) are no matches. */
static int
search_answer(const cJSON *doc, const struct search *s, const cJSON **first, long *matches)
{
	const cJSON *e, *total = cg_json_member(doc, "total");
	const char *rt = text(doc, "resourceType"), *type = text(doc, "type");

	*first = NULL;
	*matches = 0;
	if (!rt || strcmp(rt, "Bundle") != 0 || !type || strcmp(type, "searchset") != 0)
		return -1;
	cJSON_ArrayForEach(e, cg_json_member(doc, "entry"))
	{
		const cJSON *res = cg_json_member(e, "resource");
		const char *mode = text(cg_json_member(e, "search"), "mode");
		const char *t = text(res, "resourceType");

		if ((mode && strcmp(mode, "match") != 0) || !t || strcmp(t, s->type) != 0)
			continue;
		if (!*first)
			*first = res;
		(*matches)++;
	}
	if (cJSON_IsNumber(total) && total->valuedouble > (double)*matches &&
	    total->valuedouble < 1e9)
		*matches = (long)total->valuedouble; /* more on other pages */
	if (*matches > 1 && s->kind != S_RESOURCE)
		return 1;
	if (*first && !fhir_id(text(*first, "id")))
		return 1;
	return 0;
}

static void
on_search(struct cg_delivery *sub, void *arg)
{
	struct cg_prepare *p = arg;
	struct cg_delivery *d = p->d;
	struct search *s = &p->s[p->at];
	cJSON *doc = NULL;
	const cJSON *first;
	const char *id;
	long matches;
	int bad;

	if (sub->result != CG_UP_OK) {
		/* the search's failure is the delivery's: retried, or dead when
		 * the credentials are refused */
		d->result = sub->result;
		d->status = sub->status;
		d->auth_failed = sub->auth_failed;
		d->retry_after_s = sub->retry_after_s;
		snprintf(d->error, sizeof(d->error), "searching %.40s at the destination: %.180s",
		         s->type, sub->error[0] ? sub->error : "refused");
		cg_delivery_release(sub);
		free(sub);
		p->sub = NULL;
		finish(p, -1);
		return;
	}
	doc = cJSON_ParseWithLength(sub->response.p ? sub->response.p : "", sub->response.len);
	bad = search_answer(doc, s, &first, &matches);
	if (bad) {
		/* no searchset (an OperationOutcome, a page cut, HTML): nothing
		 * is known, and taking it for "not there" would duplicate;
		 * several Patients (or conditional matches), or an id that is
		 * no FHIR id: not ours to choose */
		d->result = bad > 0 ? CG_UP_REJECTED : CG_UP_FAILED;
		d->status = 0;
		if (bad < 0)
			snprintf(d->error, sizeof(d->error),
			         "searching %.40s at the destination: the answer is no searchset "
			         "Bundle",
			         s->type);
		else if (matches > 1)
			snprintf(d->error, sizeof(d->error),
			         "searching %.40s at the destination: %ld %.40ss match %.60s",
			         s->type, matches, s->type, s->path);
		else
			snprintf(d->error, sizeof(d->error),
			         "searching %.40s at the destination: the match's id is no FHIR id",
			         s->type);
		cJSON_Delete(doc);
		cg_delivery_release(sub);
		free(sub);
		p->sub = NULL;
		finish(p, -1);
		return;
	}
	id = text(first, "id");
	if (id)
		snprintf(s->id, sizeof(s->id), "%s", id);
	if (id && s->kind == S_RESOURCE && d->dest->rules.update_changed)
		s->found = cJSON_Duplicate(first, 1);
	cJSON_Delete(doc);
	cg_delivery_release(sub);
	free(sub);
	p->sub = NULL;
	p->at++;
	search_next(p);
}

static void
search_next(struct cg_prepare *p)
{
	struct cg_delivery *d = p->d;
	char why[256];
	int retry;

	if (p->at < p->n) {
		struct cg_delivery *sub = calloc(1, sizeof(*sub));

		if (!sub) {
			snprintf(d->error, sizeof(d->error), "out of memory");
			d->result = CG_UP_FAILED;
			finish(p, -1);
			return;
		}
		sub->dest = d->dest;
		sub->request_id = d->request_id;
		sub->done = on_search;
		sub->arg = p;
		p->sub = sub;
		if (cg_dest_get(d->loop, sub, p->s[p->at].path) != CG_OK) {
			snprintf(d->error, sizeof(d->error), "searching at the destination: %.200s",
			         sub->error);
			d->result = CG_UP_UNREACHABLE;
			cg_delivery_release(sub);
			free(sub);
			p->sub = NULL;
			finish(p, -1);
		}
		return;
	}
	if (apply(p, why, sizeof(why), &retry)) {
		snprintf(d->error, sizeof(d->error), "%s", why);
		d->result = retry ? CG_UP_FAILED : CG_UP_REJECTED;
		d->status = 0;
		finish(p, -1);
		return;
	}
	if (!cJSON_GetArraySize(cg_json_member(p->tree, "entry"))) {
		finish(p, 0); /* all of it is at the server already */
		return;
	}
	tag_all(p);
	cg_buf_reset(&d->body);
	if (cg_jw_write_tree(&d->body, p->tree)) {
		snprintf(d->error, sizeof(d->error), "out of memory");
		d->result = CG_UP_FAILED;
		finish(p, -1);
		return;
	}
	finish(p, 1);
}

enum cg_err
cg_prepare_start(struct cg_delivery *d, void (*then)(struct cg_delivery *d, int r))
{
	struct cg_prepare *p = calloc(1, sizeof(*p));
	const char *rt;

	if (!p)
		return CG_ENOMEM;
	p->d = d;
	p->then = then;
	d->prep = p;
	p->tree = cJSON_ParseWithLength(d->call.body, d->call.len);
	rt = text(p->tree, "resourceType");
	if (!rt || strcmp(rt, "Bundle") != 0) {
		cg_prepare_free(d);
		return CG_EINVAL; /* a lone resource: dest.c sends it as it is */
	}
	if (plan(p)) {
		cg_prepare_free(d);
		return CG_ENOMEM;
	}
	search_next(p);
	return CG_OK;
}
