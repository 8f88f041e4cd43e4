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
	_Alignas(16) unsigned char state[128]; /* OpenSSL's SHA_CTX after namespace + prefix */
};

void cg_uuid_v5_prefix(struct cg_uuid_prefix *p, const char *prefix, size_t len);
void cg_uuid_v5_suffix(const struct cg_uuid_prefix *p, const char *suffix, size_t len,
                       char out[CG_UUID_STRLEN + 1]);

#endif
