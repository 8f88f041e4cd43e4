/* pseudonym.c: keyed and random pseudonyms; see pseudonym.h. */
#include <openssl/rand.h>

#include "pseudonym.h"

enum cg_err
cg_pseudonym_keyed(const struct cg_secret_key *k, const char *registry, const char *system,
                   const char *value, char out[CG_PSEUDONYM_MAX + 1])
{
	const char *parts[3] = {registry, system, value};
	unsigned char h[CG_HMAC_LEN];
	enum cg_err result = cg_secret_key_derive(k, parts, 3, h);

	if (!result)
		cg_hex(h, sizeof(h), out);
	return result;
}

enum cg_err
cg_pseudonym_random(char out[CG_PSEUDONYM_MAX + 1])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return CG_EIO;
	cg_hex(b, sizeof(b), out);
	return CG_OK;
}
