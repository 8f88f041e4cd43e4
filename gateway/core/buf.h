/*
 * buf.h: a growable byte buffer with a hard cap, after curl's dynbuf.
 *
 * Every buffer has a maximum size set at init, one of the CG_BUF_MAX_* below.
 * An append that would pass it, or whose allocation fails, frees the buffer
 * and returns an error, so that no half result is left to be used. The
 * contents are always NUL-terminated once anything was added.
 *
 * The convention is cellgate's (err.h): what can fail returns enum cg_err,
 * CG_OK being 0, and every caller checks it; the appends are CG_MUST_CHECK,
 * so the compiler says where one is not. A run of appends keeps the first
 * error and stops there (if (!err) err = ...; or a() || b()) and is checked
 * once at its end: an append after a failed one would start the buffer
 * over. A yes/no question answers bool, not enum cg_err.
 */
#ifndef CG_BUF_H
#define CG_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "err.h"

/*
 * The caps, named by what they bound; every cg_buf_init takes one of these.
 * A cap only bounds: nothing is allocated up front.
 */
/* A buffer that stays empty until a filled one is moved into it. */
#define CG_BUF_MAX_EMPTY ((size_t)1)
/* A diagnostic message, a name, or the list of names a message offers. */
#define CG_BUF_MAX_MESSAGE ((size_t)4096)
/* One line of the log (its message is cut to 1100 bytes before escaping). */
#define CG_BUF_MAX_LOG_LINE ((size_t)8192)
/* Scratch text while mapping one record (URLs, identifiers, a subject). */
#define CG_BUF_MAX_SCRATCH ((size_t)64 << 10)
/* An answer the gateway writes itself: an OperationOutcome of a few issues,
 * a refusal, /metrics, the CapabilityStatement. */
#define CG_BUF_MAX_ANSWER ((size_t)1 << 20)
/* Where an issue is: its JSON pointer, or "line, column: pointer". */
#define CG_BUF_MAX_POINTER ((size_t)1 << 20)
/* One string of the configuration with its ${NAME}s expanded. */
#define CG_BUF_MAX_SETTING ((size_t)1 << 20)
/* The part of a destination's answer kept to pass on; the rest is dropped. */
#define CG_BUF_MAX_RESPONSE ((size_t)1 << 20)
/* One line of the audit log. */
#define CG_BUF_MAX_AUDIT_LINE ((size_t)16 << 20)
/* Every issue of a body or file, as an OperationOutcome or as text. */
#define CG_BUF_MAX_OUTCOME ((size_t)64 << 20)
/* The items of a body, one of them mapped, or the text of a file. */
#define CG_BUF_MAX_ITEMS ((size_t)1 << 30)
/* A request body sent to a destination (a Bundle of all the items). */
#define CG_BUF_MAX_UPSTREAM ((size_t)1 << 31)

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

CG_MUST_CHECK enum cg_err cg_buf_add_slow(struct cg_buf *b, const void *data, size_t len);
/* Makes room for n more bytes at once (a writer that knows roughly how much
 * it will write saves the doublings). Within the cap; CG_ENOMEM or
 * CG_ELIMIT leave the buffer as it was. */
CG_MUST_CHECK enum cg_err cg_buf_reserve(struct cg_buf *b, size_t n);
CG_MUST_CHECK enum cg_err cg_buf_addstr(struct cg_buf *b, const char *s);

/* Inline while there is room: writers call these for every token. */
static inline CG_MUST_CHECK enum cg_err
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

static inline CG_MUST_CHECK enum cg_err
cg_buf_addc(struct cg_buf *b, char c)
{
	if (b->p && 1 < b->cap - b->len) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
		return CG_OK;
	}
	return cg_buf_add_slow(b, &c, 1);
}
/* The decimal digits of u at p, without a terminator; returns how many
 * (at most 20). */
size_t cg_put_digits(char *p, unsigned long long u);
/* Appends n in decimal. */
CG_MUST_CHECK enum cg_err cg_buf_add_ulong(struct cg_buf *b, unsigned long n);
/* A format of plain text and %s only is appended without vsnprintf (most
 * messages are), with the same result. */
CG_MUST_CHECK enum cg_err cg_buf_printf(struct cg_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
CG_MUST_CHECK enum cg_err cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/* Appends s as the inside of a JSON string: quotes, backslashes and control
 * characters escaped. s must be valid UTF-8 (everything cellgate keeps is). */
CG_MUST_CHECK enum cg_err cg_buf_add_json_string(struct cg_buf *b, const char *s);

/* Appends s for a terminal: control characters and DEL become \n, \t or \xHH
 * so that input cannot move the cursor or change colours. */
CG_MUST_CHECK enum cg_err cg_buf_add_printable(struct cg_buf *b, const char *s);

/* Hands the contents to the caller (to free) and leaves the buffer empty. */
char *cg_buf_take(struct cg_buf *b);

#endif
