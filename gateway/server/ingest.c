/* ingest.c: a request body to items or an OperationOutcome; see ingest.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "check.h"
#include "clock.h"
#include "consent_fhir.h"
#include "ingest.h"
#include "json_write.h"
#include "order_key.h"
#include "split_bundle.h"
#include "outcome.h"
#include "validate.h"

struct run {
	const struct cg_ingest_in *in;
	struct cg_ingest_out *out;
	struct cg_outcome oc;
	struct cg_map_opts mopts;
	struct cg_arena *arena;
	const char *body; /* the request body: items are cut from it */
	int unreadable;   /* a JSON syntax fault: 400 rather than 422 */
	int too_many;
	int name_too_long; /* add_item refused an item whose names do not fit */
};

static int
is_syntax(enum cg_code c)
{
	return c <= CG_C_EMPTY_INPUT;
}

/* The issues of one item go into the outcome, prefixed with its place. */
static void
note_issues(struct run *run, const struct cg_record_report *r, const struct cg_diag *d)
{
	char where[64];
	size_t i;

	snprintf(where, sizeof(where), "item %lu, ", r->index);
	cg_outcome_diag(&run->oc, d, where);
	for (i = 0; i < d->n; i++) {
		run->out->code_count[d->v[i].code]++;
		if (cg_code_severity(d->v[i].code) != CG_SEV_ERROR)
			continue;
		/* The code that decides the status names the outcome in logs. */
		if (!run->out->first_code || (is_syntax(d->v[i].code) && !run->unreadable))
			run->out->first_code = cg_code_name(d->v[i].code);
		if (is_syntax(d->v[i].code))
			run->unreadable = 1;
	}
	run->out->errors += d->errors;
	run->out->warnings += d->warnings;
}

/* One issue of ours about an item, at the item's line and column. */
static void
item_issue(struct run *run, const struct cg_record_report *r, enum cg_code code, const char *msg)
{
	struct cg_diag d;

	cg_diag_init(&d, 1);
	if (!cg_diag_add(&d, code, "", NULL, 0, "%s", msg)) {
		d.v[0].line = r->pos.line;
		d.v[0].column = r->pos.column;
		note_issues(run, r, &d);
	}
	cg_diag_free(&d);
}

/* Makes the text from data[off] to its end an item, and ends its line.
 * CG_ELIMIT when the type or the record id does not fit its buffer: a name
 * is kept whole or the item refused, never cut (a cut type would be a file
 * name and an upstream URL). */
static enum cg_err
add_item(struct run *run, const char *type, const char *record_id, size_t off)
{
	struct cg_ingest_out *o = run->out;
	struct cg_item *it;

	if (strlen(type) >= sizeof(it->type) ||
	    (record_id && strlen(record_id) >= sizeof(it->record_id))) {
		run->name_too_long = 1;
		return CG_ELIMIT;
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		struct cg_item *v = realloc(o->item, cap * sizeof(*v));

		if (!v)
			return CG_ENOMEM;
		o->item = v;
		o->cap = cap;
	}
	it = &o->item[o->n];
	memset(it, 0, sizeof(*it));
	it->off = off;
	it->len = o->data.len - off;
	memcpy(it->type, type, strlen(type) + 1);
	if (record_id)
		memcpy(it->record_id, record_id, strlen(record_id) + 1);
	if (cg_buf_addc(&o->data, '\n'))
		return CG_ENOMEM;
	o->n++;
	return CG_OK;
}

/* An item that goes out as it came in: its own bytes without the whitespace
 * between tokens. The text passed the strict scanner, so this is compact
 * JSON of the same value, at a fraction of the cost of writing the tree. */
static enum cg_err
push_raw(struct run *run, const char *type, const char *record_id, const char *p, size_t len)
{
	struct cg_buf *data = &run->out->data;
	size_t i, from, off = data->len;
	int in_string = 0;

	/* Copy runs of kept bytes, skipping whitespace outside strings. */
	for (i = from = 0; i < len; i++) {
		char c = p[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (i > from && cg_buf_add(data, p + from, i - from))
				return CG_ENOMEM;
			from = i + 1;
		}
	}
	if (len > from && cg_buf_add(data, p + from, len - from))
		return CG_ENOMEM;
	return add_item(run, type, record_id, off);
}

/* A tree as compact JSON text, written straight into the items' buffer,
 * then an item. */
static enum cg_err
push_tree(struct run *run, const char *type, const char *record_id, const cJSON *v)
{
	size_t off = run->out->data.len;
	enum cg_err result = cg_jw_write_tree(&run->out->data, v);

	return result ? result : add_item(run, type, record_id, off);
}

/* Whether an entry of a Bundle puts a resource in an ndjson destination's
 * files (dest_ndjson.c stores each entry's resource): one without a
 * resource stores nothing, and in a transaction or batch only a POST or PUT
 * carries the resource to keep (a PATCH's is the patch; DELETE, GET and HEAD
 * have none). */
static int
entry_stores(const cJSON *e, int requests)
{
	const char *m =
	        cJSON_GetStringValue(cg_json_member(cg_json_member(e, "request"), "method"));

	if (!cJSON_GetStringValue(cg_json_member(cg_json_member(e, "resource"), "resourceType")))
		return 0;
	return !requests || (m && (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0));
}

/* A Bundle for an ndjson destination must store something, and all of what
 * it says: otherwise the client would hear "stored" for what was dropped.
 * Refused whole (a batch is all or nothing) with one not-storable issue. */
static void
check_storable(struct run *run, const struct cg_record_report *r, int requests)
{
	const cJSON *e;
	size_t i = 0, bad = 0, first = 0;
	char msg[256];

	cJSON_ArrayForEach(e, cg_json_member(r->root, "entry"))
	{
		if (!entry_stores(e, requests) && !bad++)
			first = i;
		i++;
	}
	if (i == 0)
		snprintf(msg, sizeof(msg),
		         "a Bundle without entries: this destination would store nothing");
	else if (bad)
		snprintf(msg, sizeof(msg),
		         "entry %zu (and %zu more) stores nothing in this destination (no "
		         "resource, or a %s): a file destination keeps resources, not requests",
		         first, bad - 1, requests ? "DELETE, GET, HEAD or PATCH" : "request");
	else
		return;
	item_issue(run, r, CG_C_NOT_STORABLE, msg);
}

/* A record's Bundle as an item, written straight into the items' buffer
 * (no copy of 11 KB): a transaction whose creates are conditional already. */
static enum cg_err
push_bundle_of(struct run *run, const cJSON *rec, const char *record_id)
{
	size_t off = run->out->data.len;
	enum cg_err result = cg_map_record_to_fhir(rec, run->in->m, &run->mopts, &run->out->data);

	if (!result)
		result = add_item(run, "Bundle", record_id, off);
	if (!result)
		run->out->item[run->out->n - 1].requests = CG_ITEM_REQUESTS_OURS;
	else if (run->out->data.p)
		cg_buf_truncate(&run->out->data, off);
	return result;
}

/* A pseudonym use with copies of its three names (malloc'd: they outlive
 * the item and the arena, which is cJSON's only), appended to *v. */
static enum cg_err
add_use(struct cg_pseudonym_use **v, size_t *n, const char *registry, const char *system,
        const char *value, const char *pseudonym)
{
	struct cg_pseudonym_use *grown = realloc(*v, (*n + 1) * sizeof(**v)), *u;

	if (!grown)
		return CG_ENOMEM;
	*v = grown;
	u = &grown[*n];
	memset(u, 0, sizeof(*u));
	u->registry = strdup(registry);
	u->system = strdup(system);
	u->value = strdup(value);
	snprintf(u->pseudonym, sizeof(u->pseudonym), "%s", pseudonym);
	(*n)++;
	if (!u->registry || !u->system || !u->value)
		return CG_ENOMEM;
	return CG_OK;
}

static int
is_known(const struct cg_ingest_in *in, const char *registry, const char *system, const char *value,
         char out[CG_PSEUDONYM_MAX + 1])
{
	size_t i;

	for (i = 0; i < in->nknown; i++) {
		const struct cg_pseudonym_use *u = &in->known[i];

		if (u->pseudonym[0] && strcmp(u->value, value) == 0 &&
		    strcmp(u->system, system) == 0 && strcmp(u->registry, registry) == 0) {
			memcpy(out, u->pseudonym, CG_PSEUDONYM_MAX + 1);
			return 1;
		}
	}
	return 0;
}

/* The pseudonym source the policy sees for identity random: the
 * gateway's, with every pseudonym noted for the writer (pseudonyms.h). */
static enum cg_err
note_pseudonym(void *ctx, const char *registry, const char *system, const char *value,
               char out[CG_PSEUDONYM_MAX + 1])
{
	struct run *run = ctx;
	const struct cg_ingest_in *in = run->in;
	struct cg_ingest_out *o = run->out;
	const struct cg_pseudonym_source *src = cg_pseudonyms_source(in->pseudonyms);
	enum cg_err result;

	if (!src)
		return CG_EINVAL;
	if (in->defer_pseudonyms) {
		result = cg_pseudonyms_cached(in->pseudonyms, registry, system, value, out);
		if (result == CG_ENOENT && is_known(in, registry, system, value, out))
			result = CG_OK;
		if (result == CG_ENOENT) {
			/* A stand-in: these items are made again once it is fetched. */
			snprintf(out, CG_PSEUDONYM_MAX + 1, "%s", "pending");
			return add_use(&o->missing, &o->nmissing, registry, system, value, "");
		}
	} else {
		result = src->get(src->ctx, registry, system, value, out);
	}
	if (result)
		return result;
	return add_use(&o->pseudonyms, &o->npseudonyms, registry, system, value, out);
}

/* An item for a destination with a privacy policy: the record it is (FHIR
 * input mapped back first: what does not map does not pass), the policy
 * applied, then what the destination takes. Runs in the arena. */
static enum cg_err
deliver_with_policy(struct run *run, const struct cg_record_report *r, int is_fhir)
{
	const struct cg_ingest_in *in = run->in;
	const cJSON *rec = r->root;
	cJSON *mapped = NULL, *out = NULL;
	enum cg_err result = CG_OK;
	char why[256];

	if (is_fhir) {
		struct cg_diag d;
		size_t i;

		cg_diag_init(&d, 100);
		result = cg_map_fhir_to_record(r->root, in->m, &run->mopts, &mapped, &d);
		if (!result && !mapped) {
			for (i = 0; i < d.n; i++) {
				d.v[i].line = r->pos.line;
				d.v[i].column = r->pos.column;
			}
			note_issues(run, r, &d);
			item_issue(run, r, CG_C_POLICY_FAILED,
			           "this destination receives FHIR only as the stem-cell record it "
			           "maps to, with its privacy policy applied, and this input does "
			           "not map to one");
		}
		cg_diag_free(&d);
		if (result || !mapped)
			return result;
		rec = mapped;
	}
	if (in->policy->identity == CG_IDENTITY_RANDOM) {
		struct cg_policy p = *in->policy;
		struct cg_pseudonym_source noted = {note_pseudonym, run};

		p.random = &noted;
		result = cg_policy_apply(&p, rec, &out, why, sizeof(why));
	} else {
		result = cg_policy_apply(in->policy, rec, &out, why, sizeof(why));
	}
	if (result == CG_EINVAL || result == CG_EIO) {
		item_issue(run, r, CG_C_POLICY_FAILED, why);
		result = CG_OK;
	} else if (!result && in->want == CG_PAYLOAD_RECORD) {
		result = push_tree(run, "record", r->record_id, out);
	} else if (!result) {
		result = push_bundle_of(run, out, r->record_id);
	}
	cJSON_Delete(out);
	cJSON_Delete(mapped);
	return result;
}

/* A client's transaction or batch Bundle for a FHIR destination that
 * records provenance: its bytes as they came with one more entry, the
 * Provenance about the others, spliced in (not the tree printed again:
 * that would change the client's numbers, 1.50 to 1.5). */
static enum cg_err
push_with_provenance(struct run *run, const char *type, const struct cg_record_report *r)
{
	struct cg_buf b;
	enum cg_err result;

	cg_buf_init(&b, CG_BUF_MAX_ITEMS);
	result = cg_provenance_splice(run->body + r->start, r->end - r->start, r->root,
	                              run->in->provenance, &b);
	if (!result)
		result = push_raw(run, type, NULL, b.p, b.len);
	cg_buf_free(&b);
	return result;
}

static int
is_requests_bundle(const cJSON *root)
{
	const char *rt = cJSON_GetStringValue(cg_json_member(root, "resourceType"));
	const char *bt = cJSON_GetStringValue(cg_json_member(root, "type"));

	return rt && strcmp(rt, "Bundle") == 0 && bt &&
	       (strcmp(bt, "transaction") == 0 || strcmp(bt, "batch") == 0);
}

static enum cg_err
deliver_item(struct run *run, const struct cg_record_report *r, int is_fhir)
{
	const struct cg_ingest_in *in = run->in;
	const char *rt = cJSON_GetStringValue(cg_json_member(r->root, "resourceType"));
	enum cg_err result = CG_OK;

	if (in->validate_only || run->out->errors)
		return CG_OK; /* all or nothing: no point in mapping the rest */
	if (cg_policy_active(in->policy)) {
		cg_arena_activate(run->arena);
		result = deliver_with_policy(run, r, is_fhir);
		cg_arena_activate(NULL);
		cg_arena_reset(run->arena);
		return result;
	}
	if (!is_fhir && in->want == CG_PAYLOAD_RECORD)
		return push_raw(run, "record", r->record_id, run->body + r->start,
		                r->end - r->start);
	if (is_fhir && in->want == CG_PAYLOAD_FHIR) {
		if (in->provenance && !in->to_files && is_requests_bundle(r->root))
			result = push_with_provenance(run, rt, r);
		else
			result = push_raw(run, rt, NULL, run->body + r->start, r->end - r->start);
		if (!result && strcmp(rt, "Bundle") == 0) {
			const char *bt = cJSON_GetStringValue(cg_json_member(r->root, "type"));
			int requests =
			        bt && (strcmp(bt, "transaction") == 0 || strcmp(bt, "batch") == 0);

			run->out->item[run->out->n - 1].requests = requests;
			if (in->to_files)
				check_storable(run, r, requests);
		}
		return result;
	}
	cg_arena_activate(run->arena);
	if (!is_fhir) {
		result = push_bundle_of(run, r->root, r->record_id);
	} else {
		struct cg_diag d;
		cJSON *rec = NULL;

		cg_diag_init(&d, 100);
		result = cg_map_fhir_to_record(r->root, in->m, &run->mopts, &rec, &d);
		if (!result && !rec) {
			size_t i;

			for (i = 0; i < d.n; i++) {
				d.v[i].line = r->pos.line;
				d.v[i].column = r->pos.column;
			}
			note_issues(run, r, &d);
		} else if (!result) {
			result = push_tree(run, "record",
			                   cJSON_GetStringValue(cg_json_member(rec, "recordId")),
			                   rec);
		}
		cJSON_Delete(rec); /* a no-op in the arena when cJSON's hooks point there */
		cg_diag_free(&d);
	}
	cg_arena_activate(NULL);
	cg_arena_reset(run->arena);
	return result;
}

/* A destination's Bundle caps (max_entries, max_observations): the item
 * just made, when it is a Bundle of requests over them, becomes its parts
 * (split_bundle.h), items of their own in order. One that cannot be cut is
 * refused (bundle-too-large). */
#define MAX_PARTS 64
static enum cg_err
split_at_caps(struct run *run, const struct cg_record_report *r)
{
	const struct cg_fhir_rules *rules = run->in->rules;
	struct cg_ingest_out *o = run->out;
	struct cg_item it;
	struct cg_buf parts;
	size_t ends[MAX_PARTS], n = 0, i, from = 0;
	char why[256];
	enum cg_err err;

	if (!rules || (!rules->max_entries && !rules->max_observations) || o->n == 0 ||
	    !o->item[o->n - 1].requests || run->in->want != CG_PAYLOAD_FHIR)
		return CG_OK;
	it = o->item[o->n - 1];
	cg_buf_init(&parts, CG_BUF_MAX_ITEMS);
	err = cg_split_bundle(o->data.p + it.off, it.len, rules->max_entries,
	                      rules->max_observations, run->mopts.provenance, &parts, ends,
	                      MAX_PARTS, &n, why, sizeof(why));
	if (err == CG_EINVAL) {
		cg_buf_free(&parts);
		cg_buf_truncate(&o->data, it.off);
		o->n--;
		item_issue(run, r, CG_C_BUNDLE_TOO_LARGE, why);
		return CG_OK;
	}
	if (err || n <= 1) {
		cg_buf_free(&parts);
		return err;
	}
	/* the parts in place of the whole */
	cg_buf_truncate(&o->data, it.off);
	o->n--;
	for (i = 0; i < n && !err; i++) {
		size_t off = o->data.len;

		err = cg_buf_add(&o->data, parts.p + from, ends[i] - from);
		from = ends[i];
		if (!err)
			err = add_item(run, "Bundle", it.record_id[0] ? it.record_id : NULL, off);
		if (!err)
			o->item[o->n - 1].requests = it.requests;
	}
	cg_buf_free(&parts);
	return err;
}

/* An item whose type or record id does not fit is refused with an issue:
 * unreachable with valid input (record ids have at most 64 characters, the
 * loader checks the type names), but never stored or forwarded cut. */
static enum cg_err
deliver(struct run *run, const struct cg_record_report *r, int is_fhir)
{
	size_t off = run->out->data.len, n = run->out->n;
	enum cg_err result;

	run->name_too_long = 0;
	result = deliver_item(run, r, is_fhir);
	if (!result && run->out->n == n + 1)
		result = split_at_caps(run, r);
	/* The patient it is about, from what the client sent: the outbox
	 * delivers one patient's items in order (a Bundle's parts too). */
	for (; !result && n < run->out->n; n++)
		if (cg_order_key(r->root, run->out->item[n].key) != CG_OK)
			run->out->item[n].key[0] = 0;
	if (result != CG_ELIMIT || !run->name_too_long)
		return result;
	cg_buf_truncate(&run->out->data, off);
	item_issue(run, r, CG_C_JSON_STRING_TOO_LONG,
	           "the resource type or record id is longer than the gateway can keep");
	return CG_OK;
}

/* A record that says its patient's consent does not cover this registry
 * (a consent that refuses, not one that is missing: from a record's consent
 * member or, for FHIR, what cg_consent_from_fhir read) withdraws what is
 * still queued for that patient: its key is noted for enqueue.c. */
static void
note_withdrawal(struct run *run, const struct cg_record_report *r, const cJSON *consent)
{
	struct cg_ingest_out *o = run->out;
	char(*v)[CG_UUID_STRLEN + 1];

	if (!cJSON_IsObject(consent))
		return;
	v = realloc(o->withdraw, (o->nwithdraw + 1) * sizeof(*v));
	if (!v)
		return; /* out of memory: the refusal stands, the withdrawal is lost */
	o->withdraw = v;
	/* a record's patient, or a FHIR item's (its Patient, subject or patient) */
	if (cg_order_key(r->root, o->withdraw[o->nwithdraw]) == CG_OK)
		o->nwithdraw++;
}

/* The consent gate (issue 12): a destination that takes a record only with
 * the patient's research consent for its registry. A record says it in
 * consent.research and consent.registries; FHIR in a Consent resource or
 * the record's consent extension, read into the same shape
 * (consent_fhir.h), so that one rule decides both. An item that does not
 * pass is refused with the rule it fails (and, a batch being all or
 * nothing, the batch). 1 when it passes. */
static int
consent_given(struct run *run, const struct cg_record_report *r, int is_fhir)
{
	const char *reg = run->in->consent_for;
	cJSON *from_fhir = NULL;
	const cJSON *c, *e;
	char msg[512];

	if (!reg || run->in->validate_only)
		return 1;
	if (is_fhir) {
		from_fhir = cg_consent_from_fhir(r->root, run->in->m, run->in->canonical_base,
		                                 cg_clock_wall_ms());
		c = from_fhir;
	} else {
		c = cg_json_member(r->root, "consent");
	}
	if (is_fhir && !c) {
		snprintf(
		        msg, sizeof(msg),
		        "this destination (registry %s) takes FHIR input only with the patient's "
		        "research consent, and this input carries none: it is read from a Consent "
		        "resource (active, scope research, provision permit naming %s as an "
		        "actor's identifier) in the Bundle, or from the consent of the Procedure's "
		        "stemcell-record extension",
		        reg, reg);
	} else if (!cJSON_IsTrue(cg_json_member(c, "research"))) {
		note_withdrawal(run, r, c);
		snprintf(msg, sizeof(msg),
		         is_fhir ? "this destination (registry %s) takes FHIR input only with the "
		                   "patient's research consent: the Consent resource or the "
		                   "stemcell-record consent extension does not permit research"
		                 : "this destination (registry %s) takes a record only with the "
		                   "patient's research consent: /consent/research is not true",
		         reg);
	} else {
		cJSON_ArrayForEach(e, cg_json_member(c, "registries"))
		{
			if (cJSON_IsString(e) && strcmp(e->valuestring, reg) == 0) {
				cJSON_Delete(from_fhir);
				return 1;
			}
		}
		note_withdrawal(run, r, c);
		snprintf(
		        msg, sizeof(msg),
		        is_fhir ? "this destination (registry %s) takes FHIR input only with the "
		                  "patient's research consent for it: the Consent resource or the "
		                  "stemcell-record consent extension does not permit research for "
		                  "registry %s"
		                : "this destination (registry %s) takes a record only with the "
		                  "patient's research consent for it: /consent/registries does not "
		                  "name %s",
		        reg, reg);
	}
	cJSON_Delete(from_fhir);
	item_issue(run, r, CG_C_CONSENT_REQUIRED, msg);
	return 0;
}

static enum cg_err
on_item(void *ctx, const struct cg_record_report *r)
{
	struct run *run = ctx;
	const struct cg_ingest_in *in = run->in;
	const char *rt;
	int is_fhir;

	if (in->max_items && r->index >= in->max_items) {
		run->too_many = 1;
		return CG_ELIMIT;
	}
	if (!cg_diag_is_valid(r->diag) || r->diag->n)
		note_issues(run, r, r->diag);
	if (!r->root || !cg_diag_is_valid(r->diag))
		return CG_OK;
	rt = cJSON_GetStringValue(cg_json_member(r->root, "resourceType"));
	is_fhir = rt != NULL;
	if (!in->accept_any && is_fhir != (in->accept == CG_PAYLOAD_FHIR)) {
		item_issue(run, r, CG_C_MAP_UNMAPPABLE,
		           is_fhir ? "this route takes stem-cell treatment records, not FHIR"
		                   : "this route takes FHIR resources, not records");
		return CG_OK;
	}
	if (is_fhir && in->resource_type && strcmp(rt, in->resource_type) != 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "this endpoint takes %s resources only",
		         in->resource_type);
		item_issue(run, r, CG_C_FHIR_RESOURCE_TYPE, msg);
		return CG_OK;
	}
	if (!consent_given(run, r, is_fhir))
		return CG_OK;
	return deliver(run, r, is_fhir);
}

void
cg_ingest_out_init(struct cg_ingest_out *out)
{
	memset(out, 0, sizeof(*out));
	cg_buf_init(&out->outcome, CG_BUF_MAX_OUTCOME);
	cg_buf_init(&out->data, CG_BUF_MAX_ITEMS);
}

void
cg_ingest_out_free(struct cg_ingest_out *out)
{
	cg_buf_free(&out->outcome);
	cg_buf_free(&out->data);
	free(out->item);
	free(out->withdraw);
	cg_pseudonym_uses_free(out->pseudonyms, out->npseudonyms);
	cg_pseudonym_uses_free(out->missing, out->nmissing);
	memset(out, 0, sizeof(*out));
}

enum cg_err
cg_ingest(const struct cg_ingest_in *in, const char *body, size_t len, struct cg_ingest_out *out)
{
	struct cg_validate_opts vo;
	struct cg_coding labels[CG_POLICY_LABELS_MAX + CG_TAGS_MAX];
	struct run run;
	enum cg_err result;
	size_t k;

	memset(&run, 0, sizeof(run));
	/* Every mapped resource's meta: the policy's labels, then the
	 * destination's own security labels and tags. */
	if (cg_policy_active(in->policy))
		run.mopts.nsecurity = cg_policy_labels(in->policy, labels);
	for (k = 0; in->rules && k < in->rules->nsecurity && k < CG_TAGS_MAX; k++)
		labels[run.mopts.nsecurity++] = in->rules->security[k];
	if (run.mopts.nsecurity)
		run.mopts.security = labels;
	if (in->rules && in->rules->ntag) {
		run.mopts.tag = in->rules->tag;
		run.mopts.ntag = in->rules->ntag;
	}
	run.in = in;
	run.out = out;
	run.body = body;
	run.mopts.canonical_base = in->canonical_base;
	if (in->want == CG_PAYLOAD_FHIR && !in->to_files)
		run.mopts.provenance = in->provenance;
	run.arena = cg_arena_thread(CG_ARENA_SLOT_MAP, 256 * 1024);
	if (!run.arena)
		return CG_ENOMEM;
	cg_validate_opts_default(&vo, in->m);
	vo.invariants = in->invariants;
	if (in->max_record)
		vo.limits.max_record = in->max_record;
	/* The items' text in one allocation: about the body's size, or four
	 * to five times it for records mapped to Bundles. A guess: if it fails
	 * the buffer is as it was and grows as it goes, so that is no error. */
	if (!in->validate_only) {
		size_t guess =
		        (in->want == CG_PAYLOAD_FHIR && in->accept == CG_PAYLOAD_RECORD ? len * 5
		                                                                        : len) +
		        256;

		if (cg_buf_reserve(&out->data, guess) != CG_OK) {
			/* not an error: see above */
		}
	}
	cg_outcome_begin(&run.oc, &out->outcome,
	                 in->canonical_base ? in->canonical_base : in->m->canonical_base);
	result = cg_validate_input(&vo, body, len, in->format, on_item, &run);
	if (run.too_many) {
		char msg[128];

		snprintf(msg, sizeof(msg), "more than %zu items in one request", in->max_items);
		cg_outcome_add(&run.oc, "error", "too-costly", NULL, msg);
		out->errors++;
		out->first_code = "too-many-items";
		result = CG_OK;
	}
	if (!result)
		result = cg_outcome_end(&run.oc, 0);
	cg_arena_reset(run.arena); /* kept for the thread's next body */
	if (result)
		return result;
	out->status = run.unreadable ? 400 : out->errors ? 422 : 200;
	if (out->status != 200) {
		/* All or nothing. */
		cg_buf_reset(&out->data);
		out->n = 0;
	}
	return CG_OK;
}
