/* test_uuid.c: the SHA-1 and the version 5 UUIDs of map --to fhir. */
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

/* Our SHA-1 equals OpenSSL's on lengths around every block boundary, with
 * the block function the CPU allows (SHA extensions here) and with the
 * portable one. */
static void
sha1_matches_openssl(void **state)
{
	unsigned char data[300], ours[20], theirs[EVP_MAX_MD_SIZE];
	unsigned int n;
	size_t len, i;
	int portable;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (portable = 0; portable <= 1; portable++) {
		cg_sha1_force_portable(portable);
		for (len = 0; len <= sizeof(data); len++) {
			cg_sha1(data, len, ours);
			assert_int_equal(EVP_Digest(data, len, theirs, &n, EVP_sha1(), NULL), 1);
			assert_memory_equal(ours, theirs, 20);
		}
	}
	cg_sha1_force_portable(0);
}

static void
known_vectors(void **state)
{
	static const unsigned char abc[20] = {0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81,
	                                      0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
	                                      0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};
	unsigned char md[20];
	char u[CG_UUID_STRLEN + 1];

	(void)state;
	cg_sha1("abc", 3, md); /* FIPS 180 example */
	assert_memory_equal(md, abc, 20);
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
	        cmocka_unit_test(sha1_matches_openssl),
	        cmocka_unit_test(known_vectors),
	        cmocka_unit_test(prefix_and_suffix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
