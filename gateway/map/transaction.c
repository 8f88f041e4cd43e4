/* transaction.c: a batch as one transaction Bundle; see transaction.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "conditional.h"
#include "json_member.h"
#include "json_scan.h"
#include "transaction.h"

/* Limits for walking our own checked text: only its shape matters here. */
static void
limits(struct cg_json_limits *lim, size_t len)
{
	cg_json_limits_default(lim);
	lim->max_depth = CG_JSON_MAX_MAX_DEPTH;
	lim->max_string = len;
	lim->max_record = len;
}

/* Whether the JSON string at p[key] (well-formed: the text was checked)
 * says name, escapes decoded: "\u0065ntry" is "entry" to the validator, and
 * must be here too, or a Bundle's entries would be left out of the
 * transaction. name is ASCII without quotes or backslashes. */
static int
name_is(const char *p, size_t key, const char *name)
{
	size_t i = key + 1;
	unsigned c;

	for (;; name++) {
		if (p[i] == '"')
			return *name == 0;
		if (p[i] != '\\') {
			c = (unsigned char)p[i++];
		} else if (p[i + 1] == 'u') {
			unsigned k;

			for (c = 0, k = 2; k < 6; k++) {
				char h = p[i + k];

				c = c * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
			}
			i += 6;
		} else {
			/* \" \\ \/ stand for themselves, the others for controls */
			c = strchr("\"\\/", p[i + 1]) ? (unsigned char)p[i + 1] : 0;
			i += 2;
		}
		if (*name == 0 || c != (unsigned char)*name)
			return 0;
	}
}

int
cg_map_member_span(const char *p, size_t len, const char *name, char open, size_t *from, size_t *to)
{
	struct cg_json_limits lim;
	struct cg_json_fault fault;
	size_t pos = cg_json_skip_ws(p, len, 0), key, value;

	limits(&lim, len);
	if (pos >= len || p[pos] != '{')
		return -1;
	pos = cg_json_skip_ws(p, len, pos + 1);
	while (pos < len && p[pos] != '}') {
		key = pos;
		if (p[pos] != '"' || cg_json_scan(p, len, &pos, &lim, &fault))
			return -1;
		pos = cg_json_skip_ws(p, len, pos);
		if (pos >= len || p[pos] != ':')
			return -1;
		value = cg_json_skip_ws(p, len, pos + 1);
		pos = value;
		if (cg_json_scan(p, len, &pos, &lim, &fault))
			return -1;
		/* The items are the client's text as it came (ingest checks,
		 * it does not rewrite): the name may be written with escapes. */
		if (pos - value >= 2 && p[value] == open && name_is(p, key, name)) {
			*from = value;
			*to = pos;
			return 0;
		}
		pos = cg_json_skip_ws(p, len, pos);
		if (pos < len && p[pos] == ',')
			pos = cg_json_skip_ws(p, len, pos + 1);
	}
	return 1; /* no such member */
}

/* The span of the top-level member "entry" of the object in p[0..len), if it
 * is an array. 0 when found, 1 when there is none (a Bundle without). */
static int
entry_array(const char *p, size_t len, size_t *from, size_t *to)
{
	return cg_map_member_span(p, len, "entry", '[', from, to);
}

/* Appends one entry of a client's transaction or batch Bundle: as it is,
 * unless it creates (POST) a resource with an identifier and has no
 * ifNoneExist of its own: then the resource's first identifier becomes its
 * condition, spliced into its request object, so that the outbox's
 * delivering it twice stores it once. */
static enum cg_err
add_entry(struct cg_buf *out, const char *p, size_t len)
{
	size_t from, to, rfrom, rto, mark;
	cJSON *req;
	const char *method;
	int skip;
	enum cg_err err;

	/* Only the request object is parsed (the scanner finds it and the
	 * resource without building anything): parsing every entry whole cost
	 * the forwarder a tree of each 11 KB Bundle it sent. */
	if (cg_map_member_span(p, len, "request", '{', &from, &to) != 0 ||
	    cg_map_member_span(p, len, "resource", '{', &rfrom, &rto) != 0)
		return cg_buf_add(out, p, len);
	req = cJSON_ParseWithLength(p + from, to - from);
	method = cJSON_GetStringValue(cg_json_member(req, "method"));
	skip = !method || strcmp(method, "POST") != 0 || cg_json_member(req, "ifNoneExist");
	cJSON_Delete(req);
	if (skip)
		return cg_buf_add(out, p, len);
	/* p[from..to) is the request object: its text up to the closing brace,
	 * the condition, the brace and the rest of the entry. */
	err = cg_buf_add(out, p, to - 1);
	mark = out->len;
	if (!err)
		err = cg_buf_addstr(out, cg_json_skip_ws(p, to - 1, from + 1) == to - 1
		                                 ? "\"ifNoneExist\":\""
		                                 : ",\"ifNoneExist\":\"");
	if (!err) {
		err = cg_conditional_query(p + rfrom, rto - rfrom, out);
		if (err == CG_ENOENT) {
			cg_buf_truncate(out, mark);
			err = CG_OK;
		} else if (!err) {
			err = cg_buf_addc(out, '"');
		}
	}
	if (!err)
		err = cg_buf_add(out, p + to - 1, len - (to - 1));
	return err;
}

/* Appends the elements of the array text p[from..to), each preceded by a
 * comma unless *first. */
static enum cg_err
add_elements(struct cg_buf *out, const char *p, size_t from, size_t to, int *first, int conditions)
{
	struct cg_json_limits lim;
	struct cg_json_fault fault;
	size_t pos = cg_json_skip_ws(p, to, from + 1), start;
	enum cg_err err = CG_OK;

	limits(&lim, to - from);
	while (!err && pos < to && p[pos] != ']') {
		start = pos;
		if (cg_json_scan(p, to, &pos, &lim, &fault))
			return CG_EINVAL;
		if (!*first)
			err = cg_buf_addc(out, ',');
		if (!err)
			err = conditions ? add_entry(out, p + start, pos - start)
			                 : cg_buf_add(out, p + start, pos - start);
		*first = 0;
		pos = cg_json_skip_ws(p, to, pos);
		if (pos < to && p[pos] == ',')
			pos = cg_json_skip_ws(p, to, pos + 1);
	}
	return err;
}

enum cg_err
cg_map_transaction(const struct cg_batch *b, struct cg_buf *out)
{
	static const char head[] =
	        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[";
	enum cg_err err = cg_buf_add(out, head, sizeof(head) - 1);
	int first = 1;
	size_t i;

	for (i = 0; i < b->n && !err; i++) {
		const struct cg_item *it = &b->item[i];
		const char *p = b->data + it->off;
		size_t from, to, mark;

		if (it->requests) {
			int found = entry_array(p, it->len, &from, &to);

			if (found < 0)
				return CG_EINVAL;
			if (found == 0)
				err = add_elements(out, p, from, to, &first,
				                   it->requests != CG_ITEM_REQUESTS_OURS);
			continue;
		}
		/* A create entry: {"resource":...,"request":{"method":"POST","url":T}}. */
		if (!first)
			err = cg_buf_addc(out, ',');
		first = 0;
		if (!err)
			err = cg_buf_addstr(out, "{\"resource\":");
		if (!err)
			err = cg_buf_add(out, p, it->len);
		if (!err)
			err = cg_buf_addstr(out, ",\"request\":{\"method\":\"POST\",\"url\":\"");
		if (!err) /* a resource type name: letters only, nothing to escape */
			err = cg_buf_addstr(out, it->type);
		mark = out->len;
		if (!err)
			err = cg_buf_addstr(out, "\",\"ifNoneExist\":\"");
		/* Sent twice, stored once (percent-encoded: nothing to escape);
		 * without an identifier the entry is a plain create. */
		if (!err) {
			err = cg_conditional_query(p, it->len, out);
			if (err == CG_ENOENT) {
				cg_buf_truncate(out, mark);
				err = CG_OK;
			}
		}
		if (!err)
			err = cg_buf_addstr(out, "\"}}");
	}
	if (!err)
		err = cg_buf_addstr(out, "]}");
	return err;
}

enum cg_err
cg_map_conditional_bundle(const char *p, size_t len, struct cg_buf *out)
{
	size_t from, to;
	int first = 1;
	enum cg_err err;

	if (entry_array(p, len, &from, &to) != 0)
		return cg_buf_add(out, p, len);
	err = cg_buf_add(out, p, from + 1); /* up to and with the '[' */
	if (!err)
		err = add_elements(out, p, from, to, &first, 1);
	if (!err)
		err = cg_buf_add(out, p + to - 1, len - (to - 1)); /* the ']' and the rest */
	return err;
}
