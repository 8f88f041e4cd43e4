/* provenance.c: the Provenance entry of a forwarded Bundle; see provenance.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "json_member.h"
#include "json_write.h"
#include "map_internal.h"
#include "provenance.h"
#include "transaction.h"
#include "uuid.h"

#define PARTICIPANT "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

void
cg_provenance_targets_init(struct cg_provenance_targets *t)
{
	cg_buf_init(&t->urls, CG_BUF_MAX_OUTCOME);
	t->n = 0;
}

enum cg_err
cg_provenance_target(struct cg_provenance_targets *t, const char *url)
{
	enum cg_err err = cg_buf_add(&t->urls, url, strlen(url) + 1);

	if (!err)
		t->n++;
	return err;
}

void
cg_provenance_targets_free(struct cg_provenance_targets *t)
{
	cg_buf_free(&t->urls);
	t->n = 0;
}

/* base + "/" + path, a trailing slash of base not doubled. */
static enum cg_err
based(struct cg_buf *b, const char *base, const char *path)
{
	size_t bl = strlen(base);
	enum cg_err err;

	if (bl && base[bl - 1] == '/')
		bl--;
	err = cg_buf_add(b, base, bl);
	if (!err)
		err = cg_buf_addc(b, '/');
	if (!err)
		err = cg_buf_addstr(b, path);
	return err;
}

/* The policy text as one uri path segment: what RFC 3986 allows in a
 * segment stays ("consent=required;" reads as it was), the rest (spaces,
 * '/', '%', '?', '#', bytes past ASCII) is percent-encoded, so that the uri
 * has no whitespace (FHIR's uri) and gives back the text exactly. */
static enum cg_err
policy_segment(struct cg_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	enum cg_err err = CG_OK;

	for (; *s && !err; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~!$&'()*+,;=:@", c)) {
			err = cg_buf_addc(b, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			err = cg_buf_add(b, e, 3);
		}
	}
	return err;
}

static void
participant(struct cg_jw *w, const char *code, const char *display)
{
	cg_jw_object(w, "type");
	cg_jw_array(w, "coding");
	cg_jw_object(w, NULL);
	cg_jw_string(w, "system", PARTICIPANT);
	cg_jw_string(w, "code", code);
	cg_jw_string(w, "display", display);
	cg_jw_end(w);
	cg_jw_end(w);
	cg_jw_end(w);
}

/* The two agents: the client that sent the resources (when known), by its
 * configured name as an identifier in the gateway's own system, since it
 * is no resource the destination knows; and the gateway that assembled
 * the Bundle. */
static void
agents(struct cg_jw *w, const struct cg_provenance_in *in, struct cg_buf *scratch)
{
	cg_jw_array(w, "agent");
	if (in->client) {
		cg_buf_reset(scratch);
		if (based(scratch, in->canonical_base ? in->canonical_base : "", "client"))
			w->err = CG_ENOMEM;
		cg_jw_object(w, NULL);
		participant(w, "author", "Author");
		cg_jw_object(w, "who");
		cg_jw_object(w, "identifier");
		if (in->canonical_base && scratch->p)
			cg_jw_string(w, "system", scratch->p);
		cg_jw_string(w, "value", in->client);
		cg_jw_end(w);
		cg_jw_string(w, "display", in->client);
		cg_jw_end(w);
		cg_jw_end(w);
	}
	cg_jw_object(w, NULL);
	participant(w, "assembler", "Assembler");
	cg_jw_object(w, "who");
	cg_jw_string(w, "display", in->gateway ? in->gateway : "cellgate");
	cg_jw_end(w);
	cg_jw_end(w);
	cg_jw_end(w);
}

/* recorded: a FHIR instant in UTC, to the millisecond. */
static void
recorded(struct cg_jw *w, long long ms)
{
	char t[64];
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || !gmtime_r(&sec, &tm)) {
		w->err = CG_EINVAL;
		return;
	}
	snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	cg_jw_string(w, "recorded", t);
}

void
cg_provenance_write(struct cg_jw *w, const struct cg_provenance_in *in,
                    const struct cg_provenance_targets *t, const struct cg_map_opts *labels,
                    int request)
{
	char uuid[CG_UUID_STRLEN + 1], url[64];
	struct cg_buf scratch;
	const char *p;
	size_t i;

	if (!t->n || !t->urls.p) {
		w->err = CG_EINVAL; /* target is 1..* */
		return;
	}
	/* Named by its targets: the same Bundle, the same fullUrl. */
	cg_buf_init(&scratch, CG_BUF_MAX_SCRATCH);
	if (cg_buf_addstr(&scratch, "Provenance|") ||
	    cg_buf_add(&scratch, t->urls.p, t->urls.len) ||
	    cg_uuid_v5(scratch.p, scratch.len, uuid)) {
		w->err = CG_ENOMEM;
		cg_buf_free(&scratch);
		return;
	}
	snprintf(url, sizeof(url), "urn:uuid:%s", uuid);
	cg_jw_object(w, NULL);
	cg_jw_string(w, "fullUrl", url);
	cg_jw_object(w, "resource");
	cg_jw_string(w, "resourceType", "Provenance");
	cg_map_meta(w, labels);
	cg_jw_array(w, "target");
	for (i = 0, p = t->urls.p; i < t->n; i++, p += strlen(p) + 1) {
		cg_jw_object(w, NULL);
		cg_jw_string(w, "reference", p);
		cg_jw_end(w);
	}
	cg_jw_end(w);
	recorded(w, in->now_ms);
	if (in->policy && in->canonical_base) {
		cg_buf_reset(&scratch);
		if (based(&scratch, in->canonical_base, "policy/") ||
		    policy_segment(&scratch, in->policy))
			w->err = CG_ENOMEM;
		cg_jw_array(w, "policy");
		cg_jw_string(w, NULL, scratch.p ? scratch.p : "");
		cg_jw_end(w);
	}
	agents(w, in, &scratch);
	cg_jw_end(w);
	if (request) {
		cg_jw_object(w, "request");
		cg_jw_string(w, "method", "POST");
		cg_jw_string(w, "url", "Provenance");
		cg_jw_end(w);
	}
	cg_jw_end(w);
	cg_buf_free(&scratch);
}

/* The Provenance entry of a client's Bundle as text, written into an array
 * ("[{...}]") by the one writer; nothing when no entry has a fullUrl. */
static enum cg_err
entry_text(const cJSON *bundle, const struct cg_provenance_in *in, struct cg_buf *text)
{
	const char *type = cJSON_GetStringValue(cg_json_member(bundle, "type"));
	int request = type && (strcmp(type, "transaction") == 0 || strcmp(type, "batch") == 0);
	const cJSON *entries = cg_json_member(bundle, "entry"), *e;
	struct cg_provenance_targets t;
	struct cg_jw w;
	enum cg_err err = CG_OK;

	if (!cJSON_IsArray(entries))
		return CG_OK;
	cg_provenance_targets_init(&t);
	cJSON_ArrayForEach(e, entries)
	{
		const char *url = cJSON_GetStringValue(cg_json_member(e, "fullUrl"));

		if (url && *url && !err)
			err = cg_provenance_target(&t, url);
	}
	if (!err && t.n) {
		cg_jw_init(&w, text);
		cg_jw_array(&w, NULL);
		cg_provenance_write(&w, in, &t, NULL, request);
		cg_jw_end(&w);
		err = w.err;
	}
	cg_provenance_targets_free(&t);
	return err;
}

enum cg_err
cg_provenance_splice(const char *p, size_t len, const cJSON *bundle,
                     const struct cg_provenance_in *in, struct cg_buf *out)
{
	struct cg_buf text;
	size_t from, to;
	enum cg_err err;

	cg_buf_init(&text, CG_BUF_MAX_OUTCOME);
	err = entry_text(bundle, in, &text);
	if (!err && text.len > 2 && cg_map_member_span(p, len, "entry", '[', &from, &to) == 0) {
		/* up to the entry array's ']', a comma, the entry, the rest */
		err = cg_buf_add(out, p, to - 1);
		if (!err)
			err = cg_buf_addc(out, ',');
		if (!err)
			err = cg_buf_add(out, text.p + 1, text.len - 2);
		if (!err)
			err = cg_buf_add(out, p + to - 1, len - (to - 1));
	} else if (!err) {
		err = cg_buf_add(out, p, len);
	}
	cg_buf_free(&text);
	return err;
}

enum cg_err
cg_provenance_add(cJSON *bundle, const struct cg_provenance_in *in)
{
	cJSON *entries = cJSON_GetObjectItemCaseSensitive(bundle, "entry"), *e, *made = NULL;
	struct cg_buf text;
	enum cg_err err;

	/* Written as text, then made a tree to join the client's: the entry
	 * is small, the Bundle is not copied. */
	cg_buf_init(&text, CG_BUF_MAX_OUTCOME);
	err = entry_text(bundle, in, &text);
	if (!err && text.len > 2) {
		made = cJSON_ParseWithLength(text.p, text.len);
		e = made ? cJSON_DetachItemFromArray(made, 0) : NULL;
		if (!e || !cJSON_AddItemToArray(entries, e)) {
			cJSON_Delete(e);
			err = CG_ENOMEM;
		}
	}
	cJSON_Delete(made);
	cg_buf_free(&text);
	return err;
}
