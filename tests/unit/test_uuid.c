/* test_uuid.c: the version 5 UUIDs of map --to fhir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "uuid.h"

/* Computed independently with Python: uuid.uuid5(UUID(bytes=<namespace>), name). */
#define UUID_R1 "e3935472-cf01-5a0a-b464-46364de40c2b"

/* cellgate's namespace (uuid.c), for the UUIDs computed here through EVP. */
static const unsigned char ns[16] = {0x3e, 0x4c, 0x1a, 0x9d, 0x52, 0x0b, 0x47, 0xd1,
                                     0x8f, 0x6a, 0x2e, 0x71, 0xc9, 0x35, 0xb0, 0x84};

/* The UUID of name by the book: SHA-1 (EVP) of namespace + name, version
 * and variant bits set, formatted 8-4-4-4-12. */
static void
uuid_by_evp(const unsigned char *name, size_t len, char out[CG_UUID_STRLEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i, o = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha1(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, ns, sizeof(ns)), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, name, len), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &n), 1);
	EVP_MD_CTX_free(ctx);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		o += (size_t)sprintf(out + o, "%02x", md[i]);
	}
	out[o] = 0;
}

/* On names of every length around SHA-1's block boundaries, one-shot and
 * split at every point into prefix and suffix, the UUIDs equal EVP's. */
static void
uuids_match_evp(void **state)
{
	unsigned char data[300];
	char ours[CG_UUID_STRLEN + 1], split[CG_UUID_STRLEN + 1], theirs[CG_UUID_STRLEN + 1];
	struct cg_uuid_prefix p;
	size_t len, i, cut;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (len = 0; len <= sizeof(data); len++) {
		uuid_by_evp(data, len, theirs);
		assert_int_equal(cg_uuid_v5((const char *)data, len, ours), CG_OK);
		assert_string_equal(ours, theirs);
		for (cut = 0; cut <= len; cut += len / 7 + 1) {
			cg_uuid_v5_prefix(&p, (const char *)data, cut);
			cg_uuid_v5_suffix(&p, (const char *)data + cut, len - cut, split);
			assert_string_equal(split, theirs);
		}
	}
}

static void
known_vectors(void **state)
{
	char u[CG_UUID_STRLEN + 1];

	(void)state;
	/* A fullUrl that golden files and receivers rely on: it must never change. */
	assert_int_equal(cg_uuid_v5("Procedure|urn:oid:1.2.3|R-1", 27, u), CG_OK);
	assert_int_equal(strlen(u), 36);
	assert_int_equal(u[14], '5');               /* version 5 */
	assert_true(strchr("89ab", u[19]) != NULL); /* RFC 4122 variant */
	assert_string_equal(u, UUID_R1);
}

/* Hashing a prefix once and each suffix after gives the one-shot UUID. */
static void
prefix_and_suffix(void **state)
{
	static const char *const names[] = {
	        "", "a", "Observation|urn:oid:1.2.3|R-1/",
	        "Observation|https://registry.example.org/very/long/"
	        "system/uri/that/spans/more/than/one/block|REC-0000001/"};
	static const char *const suffixes[] = {"", "x", "lvef-bl", "an-outcome-id-of-some-length"};
	size_t i, j;

	(void)state;
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++) {
			struct cg_uuid_prefix p;
			char joined[512], a[CG_UUID_STRLEN + 1], b[CG_UUID_STRLEN + 1];

			snprintf(joined, sizeof(joined), "%s%s", names[i], suffixes[j]);
			assert_int_equal(cg_uuid_v5(joined, strlen(joined), a), CG_OK);
			cg_uuid_v5_prefix(&p, names[i], strlen(names[i]));
			cg_uuid_v5_suffix(&p, suffixes[j], strlen(suffixes[j]), b);
			assert_string_equal(a, b);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(uuids_match_evp),
	        cmocka_unit_test(known_vectors),
	        cmocka_unit_test(prefix_and_suffix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
