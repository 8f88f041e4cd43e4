/*
 * uuid.c: version 5 UUIDs; see uuid.h.
 *
 * SHA-1 comes from OpenSSL's one-hash interface (SHA1_Init/Update/Final on
 * a SHA_CTX), which OpenSSL 3 marks deprecated in favour of EVP: EVP looks
 * the algorithm up and allocates a context per hash, which costs more than
 * hashing a 60-byte name, and a mapped record needs a UUID per resource.
 * The SHA_CTX interface is still part of OpenSSL 3 (and uses the CPU's SHA
 * extensions where it has them); its state can be copied, which is what
 * hashing many names with one prefix needs. tests/unit/test_uuid.c checks
 * the UUIDs against EVP's SHA-1 and against a known UUID.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1 /* SHA1_Init & co.: see above */
#include <string.h>

#include <openssl/sha.h>

#include "uuid.h"

/* cellgate's namespace, chosen at random once; never change it, or every
 * fullUrl the gateway ever produced changes with it. */
static const unsigned char namespace_id[16] = {0x3e, 0x4c, 0x1a, 0x9d, 0x52, 0x0b, 0x47, 0xd1,
                                               0x8f, 0x6a, 0x2e, 0x71, 0xc9, 0x35, 0xb0, 0x84};

_Static_assert(sizeof(SHA_CTX) <= sizeof(((struct cg_uuid_prefix *)0)->state),
               "cg_uuid_prefix too small for a SHA_CTX");

static void
format(unsigned char md[20], char out[CG_UUID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

enum cg_err
cg_uuid_v5(const char *name, size_t len, char out[CG_UUID_STRLEN + 1])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	SHA_CTX s;

	/* These cannot fail (they return 1). */
	SHA1_Init(&s);
	SHA1_Update(&s, namespace_id, sizeof(namespace_id));
	SHA1_Update(&s, name, len);
	SHA1_Final(md, &s);
	format(md, out);
	return CG_OK;
}

void
cg_uuid_v5_prefix(struct cg_uuid_prefix *p, const char *prefix, size_t len)
{
	SHA_CTX s;

	/* SHA1_Init and SHA1_Update cannot fail (they return 1). */
	SHA1_Init(&s);
	SHA1_Update(&s, namespace_id, sizeof(namespace_id));
	SHA1_Update(&s, prefix, len);
	memcpy(p->state, &s, sizeof(s));
}

void
cg_uuid_v5_suffix(const struct cg_uuid_prefix *p, const char *suffix, size_t len,
                  char out[CG_UUID_STRLEN + 1])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	SHA_CTX s;

	memcpy(&s, p->state, sizeof(s));
	SHA1_Update(&s, suffix, len);
	SHA1_Final(md, &s);
	format(md, out);
}
