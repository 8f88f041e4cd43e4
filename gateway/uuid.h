/*
 * uuid.h: name-based UUIDs (RFC 4122 version 5, SHA-1), so that mapping the
 * same record twice gives the same fullUrls, byte for byte.
 */
#ifndef CG_UUID_H
#define CG_UUID_H

#include <stddef.h>

#include "err.h"

#define CG_UUID_STRLEN 36

/* Writes the lower-case UUID of name in cellgate's namespace into out
 * (CG_UUID_STRLEN + 1 bytes). */
enum cg_err cg_uuid_v5(const char *name, size_t len, char out[CG_UUID_STRLEN + 1]);

/* The same in two steps, for many names with one prefix: the prefix is
 * hashed once, each name only for what follows it. */
struct cg_uuid_prefix {
	unsigned char state[128]; /* the SHA-1 state after namespace + prefix */
};

void cg_uuid_v5_prefix(struct cg_uuid_prefix *p, const char *prefix, size_t len);
void cg_uuid_v5_suffix(const struct cg_uuid_prefix *p, const char *suffix, size_t len,
                       char out[CG_UUID_STRLEN + 1]);

/* SHA-1 of data (for UUIDs only: SHA-1 is no longer a security hash). */
void cg_sha1(const void *data, size_t len, unsigned char out[20]);
/* For tests: 1 forces the portable block function even where the CPU has
 * the SHA extensions, 0 lets it choose again. */
void cg_sha1_force_portable(int on);

#endif
