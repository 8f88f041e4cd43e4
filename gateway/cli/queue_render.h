/*
 * queue_render.h: the outbox's messages and counts as `cellgate queue`
 * prints them, as text for a terminal and as JSON members.
 *
 * Text escapes control characters (what a store holds came from clients
 * and upstreams, and must not drive the terminal); JSON replaces bytes that
 * are not UTF-8 (an upstream's answer can be anything) with U+FFFD, so the
 * document always parses. A body is written only when the message carries
 * one: the caller decides (it is patient data), by reading it or not.
 */
#ifndef CG_QUEUE_RENDER_H
#define CG_QUEUE_RENDER_H

#include <stdint.h>

#include "buf.h"
#include "json_write.h"
#include "store.h"

/* "queued", "in-flight", "delivered", "dead": also --state's values. */
const char *cg_queue_render_state(enum cg_msg_state state);

/* A Unix time in milliseconds as ISO 8601 UTC to the second
 * (2026-01-31T12:00:00Z), or "-" for 0 (never). */
void cg_queue_render_time(char out[32], int64_t ms);

/* The header of the list, then one line per message: id, state,
 * destination, type, record id, attempts, accepted, status, reason. */
enum cg_err cg_queue_render_header(struct cg_buf *b) CG_MUST_CHECK;
enum cg_err cg_queue_render_line(struct cg_buf *b, const struct cg_msg *m) CG_MUST_CHECK;
/* Every field, a line each; the body when m has it, else its size. */
enum cg_err cg_queue_render_show(struct cg_buf *b, const struct cg_msg *m) CG_MUST_CHECK;

/* The same as one JSON object (an array element): the list's fields, or
 * with all, every field (and the body when m has it). Errors stay in w. */
void cg_queue_render_json(struct cg_jw *w, const struct cg_msg *m, int all);

/* One destination's counts (dest NULL: the totals) as a text line under
 * the header below (width: of the destination column), or as a JSON
 * object. now_ms gives the oldest waiting message's age. */
enum cg_err cg_queue_render_stats_header(struct cg_buf *b, int width) CG_MUST_CHECK;
enum cg_err cg_queue_render_stats_line(struct cg_buf *b, int width, const char *dest,
                                       const struct cg_store_stats *st,
                                       int64_t now_ms) CG_MUST_CHECK;
void cg_queue_render_stats_json(struct cg_jw *w, const char *dest, const struct cg_store_stats *st,
                                int64_t now_ms);

#endif
