/* test_tls.c: who a client certificate names (tls.c), on certificates built
 * in memory: the matching needs no signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* A certificate whose subject has the given CNs, in order, and whose DNS
 * subject alternative names are the comma-separated san (or none). */
static X509 *
cert_with(const char *const *cns, size_t ncns, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	size_t i;

	assert_non_null(x);
	assert_non_null(name);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                                            (const unsigned char *)"cellgate test", -1, -1,
	                                            0),
	                 1);
	for (i = 0; i < ncns; i++)
		assert_int_equal(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
		                                            (const unsigned char *)cns[i], -1, -1,
		                                            0),
		                 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	X509_NAME_free(name);
	if (san) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);

		assert_non_null(e);
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	return x;
}

static void
one_cn_matches_exactly(void **state)
{
	static const char *const cn[] = {"registry"};
	X509 *x = cert_with(cn, 1, NULL);

	(void)state;
	assert_int_equal(cg_tls_has_subject_cn(x, "registry"), 1);
	assert_int_equal(cg_tls_has_subject_cn(x, "Registry"), 0);
	assert_int_equal(cg_tls_has_subject_cn(x, "registr"), 0);
	assert_int_equal(cg_tls_has_subject_cn(x, "registry2"), 0);
	X509_free(x);
}

/* Several CNs never match, whichever comes first, even all the same. */
static void
several_cns_never_match(void **state)
{
	static const char *const first[] = {"registry", "evil"};
	static const char *const last[] = {"evil", "registry"};
	static const char *const twice[] = {"registry", "registry"};
	const char *const *all[] = {first, last, twice};
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		X509 *x = cert_with(all[i], 2, NULL);

		assert_int_equal(cg_tls_has_subject_cn(x, "registry"), -1);
		assert_int_equal(cg_tls_has_subject_cn(x, "evil"), -1);
		X509_free(x);
	}
}

static void
no_cn_is_no_match(void **state)
{
	X509 *x = cert_with(NULL, 0, "DNS:registry");

	(void)state;
	assert_int_equal(cg_tls_has_subject_cn(x, "registry"), 0);
	X509_free(x);
}

/* SAN DNS names: any of several may match (a certificate may carry several
 * names of one system); exact, ASCII case-insensitive, no wildcard
 * expansion either way. */
static void
san_dns_is_exact(void **state)
{
	X509 *x = cert_with(NULL, 0,
	                    "DNS:ehr.clients.cellgate.test, DNS:*.clients.cellgate.test, "
	                    "email:ehr@clients.cellgate.test");
	X509 *plain = cert_with(NULL, 0, "DNS:ehr.clients.cellgate.test");

	(void)state;
	assert_int_equal(cg_tls_has_san_dns(x, "ehr.clients.cellgate.test"), 1);
	assert_int_equal(cg_tls_has_san_dns(x, "EHR.clients.cellgate.test"), 1);
	/* a wildcard in the certificate names only itself */
	assert_int_equal(cg_tls_has_san_dns(x, "registry.clients.cellgate.test"), 0);
	assert_int_equal(cg_tls_has_san_dns(x, "ehr@clients.cellgate.test"), 0);
	/* and a configured wildcard is no pattern */
	assert_int_equal(cg_tls_has_san_dns(plain, "*.clients.cellgate.test"), 0);
	assert_int_equal(cg_tls_has_san_dns(plain, "ehr.clients.cellgate.tes"), 0);
	assert_int_equal(cg_tls_has_san_dns(plain, "ehr.clients.cellgate.test."), 0);
	X509_free(x);
	X509_free(plain);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(one_cn_matches_exactly),
	        cmocka_unit_test(several_cns_never_match),
	        cmocka_unit_test(no_cn_is_no_match),
	        cmocka_unit_test(san_dns_is_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
