/* queue_render.c: outbox messages as text and JSON; see queue_render.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "queue_render.h"

const char *
cg_queue_render_state(enum cg_msg_state state)
{
	static const char *const names[] = {"queued", "in-flight", "delivered", "dead",
	                                    "withdrawn"};

	return (unsigned)state < CG_MSG_STATES ? names[state] : "unknown";
}

void
cg_queue_render_time(char out[32], int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "-");
}

/* Text from the store for a terminal: control characters escaped, a NUL
 * inside (an upstream's answer may hold one) shown as \x00. */
static enum cg_err
printable(struct cg_buf *b, const char *s, size_t len)
{
	enum cg_err err = CG_OK;
	size_t n;

	if (!s)
		return cg_buf_addc(b, '-');
	while (!err && len) {
		n = strnlen(s, len);
		err = cg_buf_add_printable(b, s); /* stops at the NUL */
		if (!err && n < len)
			err = cg_buf_add(b, "\\x00", 4);
		n += n < len;
		s += n;
		len -= n;
	}
	return err;
}

static enum cg_err
printable_str(struct cg_buf *b, const char *s)
{
	return printable(b, s, s ? strlen(s) : 0);
}

/* The length of the UTF-8 sequence at u (at most n bytes), or 0 when it is
 * not one: overlong forms, surrogates and code points past U+10FFFF are
 * not. */
static size_t
utf8_seq(const unsigned char *u, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		len = 2, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		len = 3, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		len = 4, cp = u[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string of bytes from the store: as they are when they are UTF-8
 * without a NUL, which is the rule; else a copy with U+FFFD for each byte
 * that is not. NULL is null. */
static void
jw_bytes(struct cg_jw *w, const char *key, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	struct cg_buf clean;
	size_t i, n;

	if (!s) {
		cg_jw_null(w, key);
		return;
	}
	for (i = 0; i < len && u[i] && (n = utf8_seq(u + i, len - i)) > 0; i += n)
		;
	if (i == len) {
		cg_jw_string(w, key, s);
		return;
	}
	cg_buf_init(&clean, CG_BUF_MAX_ITEMS);
	for (i = 0; i < len && !w->err; i += n) {
		n = u[i] ? utf8_seq(u + i, len - i) : 0;
		w->err = n ? cg_buf_add(&clean, u + i, n) : cg_buf_add(&clean, "\xef\xbf\xbd", 3);
		n = n ? n : 1;
	}
	if (!w->err)
		cg_jw_string(w, key, clean.p ? clean.p : "");
	cg_buf_free(&clean);
}

static void
jw_text(struct cg_jw *w, const char *key, const char *s)
{
	jw_bytes(w, key, s, s ? strlen(s) : 0);
}

static void
jw_time(struct cg_jw *w, const char *key, int64_t ms)
{
	char t[32];

	cg_queue_render_time(t, ms);
	if (ms > 0)
		cg_jw_string(w, key, t);
	else
		cg_jw_null(w, key);
}

enum cg_err
cg_queue_render_header(struct cg_buf *b)
{
	return cg_buf_addstr(b, "ID\tSTATE\tDESTINATION\tTYPE\tRECORD\tATTEMPTS\tACCEPTED\tSTATUS\t"
	                        "REASON\n");
}

/* Tab-separated: a record id or a reason may hold spaces, never a tab
 * (control characters are escaped). */
enum cg_err
cg_queue_render_line(struct cg_buf *b, const struct cg_msg *m)
{
	char accepted[32];
	enum cg_err err;

	cg_queue_render_time(accepted, m->accepted_ms);
	err = cg_buf_printf(b, "%lld\t%s\t", (long long)m->id, cg_queue_render_state(m->state));
	if (!err)
		err = printable_str(b, m->dest);
	if (!err)
		err = cg_buf_addc(b, '\t');
	if (!err)
		err = printable_str(b, m->type);
	if (!err)
		err = cg_buf_addc(b, '\t');
	if (!err)
		err = printable_str(b, m->record_id);
	if (!err)
		err = cg_buf_printf(b, "\t%d\t%s\t", m->attempts, accepted);
	if (!err)
		err = m->status ? cg_buf_printf(b, "%d\t", m->status) : cg_buf_addstr(b, "-\t");
	if (!err)
		err = printable_str(b, m->reason);
	if (!err)
		err = cg_buf_addc(b, '\n');
	return err;
}

/* "name: value\n" for text from the store. */
static enum cg_err
field(struct cg_buf *b, const char *name, const char *s, size_t len)
{
	enum cg_err err = cg_buf_printf(b, "%-14s ", name);

	if (!err)
		err = printable(b, s, len);
	if (!err)
		err = cg_buf_addc(b, '\n');
	return err;
}

static enum cg_err
field_str(struct cg_buf *b, const char *name, const char *s)
{
	return field(b, name, s, s ? strlen(s) : 0);
}

static enum cg_err
field_time(struct cg_buf *b, const char *name, int64_t ms)
{
	char t[32];

	cg_queue_render_time(t, ms);
	return cg_buf_printf(b, "%-14s %s\n", name, t);
}

enum cg_err
cg_queue_render_show(struct cg_buf *b, const struct cg_msg *m)
{
	enum cg_err err;

	err = cg_buf_printf(b, "%-14s %lld\n%-14s %s\n", "id:", (long long)m->id,
	                    "state:", cg_queue_render_state(m->state));
	if (!err)
		err = field_str(b, "destination:", m->dest);
	if (!err)
		err = field_str(b, "type:", m->type);
	if (!err)
		err = cg_buf_printf(b, "%-14s %s\n", "requests:", m->requests ? "yes" : "no");
	if (!err)
		err = field_str(b, "record:", m->record_id);
	if (!err)
		err = field_str(b, "key:", m->key);
	if (!err)
		err = field_str(b, "transaction:", m->txid);
	if (!err)
		err = field_str(b, "client:", m->client);
	if (!err)
		err = cg_buf_printf(b, "%-14s %d\n", "attempts:", m->attempts);
	if (!err)
		err = field_time(b, "accepted:", m->accepted_ms);
	if (!err)
		err = field_time(b, "next attempt:", m->state == CG_MSG_QUEUED ? m->next_ms : 0);
	if (!err)
		err = field_time(b, "done:", m->done_ms);
	if (!err)
		err = m->status ? cg_buf_printf(b, "%-14s %d\n", "status:", m->status)
		                : cg_buf_printf(b, "%-14s -\n", "status:");
	if (!err)
		err = field_str(b, "reason:", m->reason);
	if (!err)
		err = field_str(b, "response type:", m->response_type);
	if (!err)
		err = field(b, "response:", m->response, m->response_len);
	if (!err && m->body)
		err = field(b, "body:", m->body, m->len);
	else if (!err)
		err = cg_buf_printf(b,
		                    "%-14s %zu bytes, not shown (patient data: --body shows it)\n",
		                    "body:", m->len);
	return err;
}

void
cg_queue_render_json(struct cg_jw *w, const struct cg_msg *m, int all)
{
	cg_jw_object(w, NULL);
	cg_jw_int(w, "id", m->id);
	cg_jw_string(w, "state", cg_queue_render_state(m->state));
	jw_text(w, "destination", m->dest);
	jw_text(w, "type", m->type);
	jw_text(w, "recordId", m->record_id);
	cg_jw_int(w, "attempts", m->attempts);
	jw_time(w, "accepted", m->accepted_ms);
	if (m->status)
		cg_jw_int(w, "status", m->status);
	else
		cg_jw_null(w, "status");
	jw_text(w, "reason", m->reason);
	if (all) {
		cg_jw_bool(w, "requests", m->requests);
		jw_text(w, "key", m->key);
		jw_text(w, "transaction", m->txid);
		jw_text(w, "client", m->client);
		jw_time(w, "nextAttempt", m->state == CG_MSG_QUEUED ? m->next_ms : 0);
		jw_time(w, "done", m->done_ms);
		jw_text(w, "responseType", m->response_type);
		jw_bytes(w, "response", m->response, m->response_len);
		cg_jw_int(w, "bodyBytes", (long long)m->len);
		if (m->body)
			jw_bytes(w, "body", m->body, m->len);
	}
	cg_jw_end(w);
}

enum cg_err
cg_queue_render_stats_header(struct cg_buf *b, int width)
{
	return cg_buf_printf(b, "%-*s %9s %9s %9s %9s %9s %s\n", width, "DESTINATION", "QUEUED",
	                     "IN-FLIGHT", "DELIVERED", "DEAD", "WITHDRAWN", "OLDEST-WAITING");
}

/* Whole seconds since the oldest waiting message was accepted; -1: none. */
static long long
age_s(const struct cg_store_stats *st, int64_t now_ms)
{
	if (!st->oldest_waiting_ms)
		return -1;
	return now_ms > st->oldest_waiting_ms ? (now_ms - st->oldest_waiting_ms) / 1000 : 0;
}

enum cg_err
cg_queue_render_stats_line(struct cg_buf *b, int width, const char *dest,
                           const struct cg_store_stats *st, int64_t now_ms)
{
	long long age = age_s(st, now_ms);
	size_t start = b->len;
	enum cg_err err;
	int pad;

	err = dest ? printable_str(b, dest) : cg_buf_addstr(b, "(total)");
	pad = width - (int)(b->len - start);
	if (!err)
		err = cg_buf_printf(
		        b, "%*s %9lld %9lld %9lld %9lld %9lld ", pad > 0 ? pad : 0, "",
		        (long long)st->count[CG_MSG_QUEUED], (long long)st->count[CG_MSG_IN_FLIGHT],
		        (long long)st->count[CG_MSG_DELIVERED], (long long)st->count[CG_MSG_DEAD],
		        (long long)st->count[CG_MSG_WITHDRAWN]);
	if (!err)
		err = age < 0 ? cg_buf_addstr(b, "-\n") : cg_buf_printf(b, "%llds\n", age);
	return err;
}

void
cg_queue_render_stats_json(struct cg_jw *w, const char *dest, const struct cg_store_stats *st,
                           int64_t now_ms)
{
	long long age = age_s(st, now_ms);

	if (dest) {
		cg_jw_object(w, NULL);
		jw_text(w, "destination", dest);
	} else {
		cg_jw_object(w, "total");
	}
	cg_jw_int(w, "queued", st->count[CG_MSG_QUEUED]);
	cg_jw_int(w, "inFlight", st->count[CG_MSG_IN_FLIGHT]);
	cg_jw_int(w, "delivered", st->count[CG_MSG_DELIVERED]);
	cg_jw_int(w, "dead", st->count[CG_MSG_DEAD]);
	cg_jw_int(w, "withdrawn", st->count[CG_MSG_WITHDRAWN]);
	if (age < 0)
		cg_jw_null(w, "oldestWaitingSeconds");
	else
		cg_jw_int(w, "oldestWaitingSeconds", age);
	cg_jw_end(w);
}
