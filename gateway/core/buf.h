/*
 * buf.h: a growable byte buffer with a hard cap, after curl's dynbuf.
 *
 * Every buffer has a maximum size set at init. An append that would pass it,
 * or whose allocation fails, frees the buffer and returns an error, so that a
 * caller that forgets to check cannot go on with half a result. The contents
 * are always NUL-terminated once anything was added.
 */
#ifndef CG_BUF_H
#define CG_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "err.h"

struct cg_buf {
	char *p;    /* NUL-terminated contents, or NULL while empty */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len */
};

void cg_buf_init(struct cg_buf *b, size_t max);
void cg_buf_free(struct cg_buf *b);
/* Empties the buffer but keeps its memory for reuse. */
void cg_buf_reset(struct cg_buf *b);
/* Cuts the contents back to len bytes (len <= b->len). */
void cg_buf_truncate(struct cg_buf *b, size_t len);

enum cg_err cg_buf_add_slow(struct cg_buf *b, const void *data, size_t len);
/* Makes room for n more bytes at once (a writer that knows roughly how much
 * it will write saves the doublings). Within the cap; CG_ENOMEM or
 * CG_ELIMIT leave the buffer as it was. */
enum cg_err cg_buf_reserve(struct cg_buf *b, size_t n);
enum cg_err cg_buf_addstr(struct cg_buf *b, const char *s);

/* Inline while there is room: writers call these for every token. */
static inline enum cg_err
cg_buf_add(struct cg_buf *b, const void *data, size_t len)
{
	if (b->p && len < b->cap - b->len) {
		if (len)
			memcpy(b->p + b->len, data, len);
		b->len += len;
		b->p[b->len] = '\0';
		return CG_OK;
	}
	return cg_buf_add_slow(b, data, len);
}

static inline enum cg_err
cg_buf_addc(struct cg_buf *b, char c)
{
	if (b->p && 1 < b->cap - b->len) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
		return CG_OK;
	}
	return cg_buf_add_slow(b, &c, 1);
}
enum cg_err cg_buf_printf(struct cg_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
enum cg_err cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/* Appends s as the inside of a JSON string: quotes, backslashes and control
 * characters escaped. s must be valid UTF-8 (everything cellgate keeps is). */
enum cg_err cg_buf_add_json_string(struct cg_buf *b, const char *s);

/* Appends s for a terminal: control characters and DEL become \n, \t or \xHH
 * so that input cannot move the cursor or change colours. */
enum cg_err cg_buf_add_printable(struct cg_buf *b, const char *s);

/* Hands the contents to the caller (to free) and leaves the buffer empty. */
char *cg_buf_take(struct cg_buf *b);

#endif
