/* uuid.c: version 5 UUIDs with OpenSSL's SHA-1; see uuid.h. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "uuid.h"

/* cellgate's namespace, chosen at random once; never change it, or every
 * fullUrl the gateway ever produced changes with it. */
static const unsigned char namespace_id[16] = {0x3e, 0x4c, 0x1a, 0x9d, 0x52, 0x0b, 0x47, 0xd1,
                                               0x8f, 0x6a, 0x2e, 0x71, 0xc9, 0x35, 0xb0, 0x84};

enum cg_err
cg_uuid_v5(const char *name, size_t len, char out[CG_UUID_STRLEN + 1])
{
	/* Fetching SHA-1 and making a context cost more than hashing a name:
	 * both are made once per thread and kept. */
	static _Thread_local EVP_MD_CTX *ctx;
	static _Thread_local EVP_MD *sha1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok;

	if (!sha1 && !(sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)))
		return CG_EINVAL;
	if (!ctx && !(ctx = EVP_MD_CTX_new()))
		return CG_ENOMEM;
	ok = EVP_DigestInit_ex2(ctx, sha1, NULL) &&
	     EVP_DigestUpdate(ctx, namespace_id, sizeof(namespace_id)) &&
	     EVP_DigestUpdate(ctx, name, len) && EVP_DigestFinal_ex(ctx, md, &mdlen);
	if (!ok || mdlen < 16)
		return CG_EINVAL;
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, CG_UUID_STRLEN + 1,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0],
	         md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
	         md[12], md[13], md[14], md[15]);
	return CG_OK;
}
