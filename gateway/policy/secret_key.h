/*
 * secret_key.h: a destination's secret key, read from a file, and what is
 * derived from it (HMAC-SHA256).
 *
 * The key is the file's bytes without one final newline: a text key made by
 * `openssl rand -hex 32` is used as its 64 characters, so that anyone with
 * the file can reproduce a value with the openssl command line
 * (docs/privacy.md). At least 32 bytes, at most 1024; the file must not be
 * readable by group or others (as ssh insists for its keys). The bytes are
 * never logged, and are wiped when freed.
 */
#ifndef CG_SECRET_KEY_H
#define CG_SECRET_KEY_H

#include <stddef.h>

#include "err.h"

#define CG_SECRET_KEY_MIN 32
#define CG_SECRET_KEY_MAX 1024
#define CG_HMAC_LEN       32

struct cg_secret_key {
	unsigned char bytes[CG_SECRET_KEY_MAX];
	size_t len;
};

/* Reads path. CG_EIO or CG_EINVAL with why (which never holds key bytes). */
enum cg_err cg_secret_key_load(const char *path, struct cg_secret_key **out, char *why,
                               size_t whylen);
void cg_secret_key_free(struct cg_secret_key *k);

/* HMAC-SHA256 under k of the parts joined by '|', where every part but the
 * last has its '%' and '|' written %25 and %7C, so that no two lists of
 * parts give the same message. CG_ELIMIT when the parts are too long (the
 * message is built in 4 KB). */
enum cg_err cg_secret_key_derive(const struct cg_secret_key *k, const char *const *parts, size_t n,
                                 unsigned char out[CG_HMAC_LEN]);

/* The first len bytes of h as lowercase hex (out has 2 * len + 1 bytes). */
void cg_hex(const unsigned char *h, size_t len, char *out);

#endif
