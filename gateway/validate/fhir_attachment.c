/* fhir_attachment.c: Attachment.size and .hash against .data; see
 * fhir_attachment.h. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "fhir_attachment.h"

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 s (white space skipped, as the primitive check allows it)
 * into out (NULL: only count). Returns the number of bytes, or -1 when s is
 * not base64. */
static long
b64_decode(const char *s, unsigned char *out)
{
	unsigned long acc = 0;
	long n = 0;
	int bits = 0, pad = 0;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			continue;
		if (*s == '=') {
			pad++;
			continue;
		}
		v = b64_value((unsigned char)*s);
		if (v < 0 || pad)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out)
				out[n] = (unsigned char)(acc >> bits);
			n++;
		}
	}
	return pad > 2 ? -1 : n;
}

void
cg_fhir_attachment_check(struct cg_check *c, const cJSON *att, const char *path)
{
	const cJSON *data = cg_json_member(att, "data"), *size = cg_json_member(att, "size");
	const cJSON *hash = cg_json_member(att, "hash");
	unsigned char md[EVP_MAX_MD_SIZE], want[64], *bytes = NULL;
	unsigned int mdlen = 0;
	long n;

	if (!cJSON_IsString(data) || (!size && !hash))
		return;
	n = b64_decode(data->valuestring, NULL);
	if (n < 0)
		return;
	if (cJSON_IsNumber(size) && size->valuedouble != (double)n)
		cg_check_issue(c, CG_C_FHIR_ATTACHMENT, size, "size", 0,
		               "size says %.0f bytes, but data holds %ld (%s)", size->valuedouble,
		               n, path);
	if (!cJSON_IsString(hash))
		return;
	if (strlen(hash->valuestring) > 4 * sizeof(want) / 3 ||
	    b64_decode(hash->valuestring, NULL) != 20) {
		cg_check_issue(c, CG_C_FHIR_ATTACHMENT, hash, "hash", 0,
		               "hash is not a SHA-1 (20 bytes, base64-encoded) (%s)", path);
		return;
	}
	b64_decode(hash->valuestring, want);
	bytes = malloc(n ? (size_t)n : 1);
	if (!bytes) {
		c->err = CG_ENOMEM;
		return;
	}
	b64_decode(data->valuestring, bytes);
	if (!EVP_Digest(bytes, (size_t)n, md, &mdlen, EVP_sha1(), NULL)) {
		c->err = CG_ENOMEM;
	} else if (mdlen != 20 || memcmp(md, want, 20) != 0) {
		cg_check_issue(c, CG_C_FHIR_ATTACHMENT, hash, "hash", 0,
		               "hash is not the SHA-1 of data (%s)", path);
	}
	free(bytes);
}
