/* test_jwt.c: SMART Backend Services assertions (RS384, ES384) verified with
 * OpenSSL's own verify against the public key, the claims read back, and
 * the JWKS's members; base64url against RFC 4648's vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jwt.h"
#include "support.h"

static void
b64url_vectors(void **state)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++) {
		struct cg_buf b;

		cg_buf_init(&b, 100);
		assert_int_equal(cg_base64url((const unsigned char *)in[i], strlen(in[i]), &b), 0);
		assert_string_equal(b.p ? b.p : "", out[i]);
		cg_buf_free(&b);
	}
	{
		const unsigned char x[] = {0xfb, 0xff, 0xfe};
		struct cg_buf b;

		cg_buf_init(&b, 100);
		assert_int_equal(cg_base64url(x, 3, &b), 0);
		assert_string_equal(b.p, "-__-"); /* '+' and '/' are '-' and '_' */
		cg_buf_free(&b);
	}
}

static int
unb64(const char *s, size_t n, unsigned char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned v = 0;
	int bits = 0, len = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p = strchr(a, s[i]);

		assert_non_null(p);
		v = v << 6 | (unsigned)(p - a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (unsigned char)(v >> bits);
		}
	}
	return len;
}

static EVP_PKEY *
make_key(const char *path, int ec)
{
	EVP_PKEY *k = ec ? EVP_EC_gen("P-384") : EVP_RSA_gen(2048);
	FILE *f = fopen(path, "w");

	assert_non_null(k);
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	return k;
}

static void
check_one(int ec)
{
	char path[256];
	EVP_PKEY *pub;
	struct cg_jwt_key *k = NULL;
	struct cg_buf b, jwks;
	char why[256], *dot1, *dot2;
	unsigned char raw[4096], sig[1024];
	int n, siglen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	cJSON *claims, *doc, *key;

	snprintf(path, sizeof(path), "%s/key-%d.pem", test_tmp_dir(), ec);
	pub = make_key(path, ec);
	assert_int_equal(cg_jwt_key_load(path, NULL, "kid-1", &k, why, sizeof(why)), 0);
	assert_string_equal(cg_jwt_key_alg(k), ec ? "ES384" : "RS384");
	cg_buf_init(&b, 65536);
	assert_int_equal(
	        cg_jwt_assertion(k, "client-9", "https://reg.example/token", 1700000000, &b), 0);
	dot1 = strchr(b.p, '.');
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	n = unb64(b.p, (size_t)(dot1 - b.p), raw);
	raw[n] = 0;
	assert_non_null(strstr((char *)raw, ec ? "\"alg\":\"ES384\"" : "\"alg\":\"RS384\""));
	assert_non_null(strstr((char *)raw, "\"kid\":\"kid-1\""));
	n = unb64(dot1 + 1, (size_t)(dot2 - dot1 - 1), raw);
	raw[n] = 0;
	claims = cJSON_Parse((char *)raw);
	assert_string_equal(cJSON_GetObjectItem(claims, "iss")->valuestring, "client-9");
	assert_string_equal(cJSON_GetObjectItem(claims, "sub")->valuestring, "client-9");
	assert_string_equal(cJSON_GetObjectItem(claims, "aud")->valuestring,
	                    "https://reg.example/token");
	assert_int_equal((long long)cJSON_GetObjectItem(claims, "exp")->valuedouble, 1700000300);
	assert_int_equal(strlen(cJSON_GetObjectItem(claims, "jti")->valuestring), 32);
	cJSON_Delete(claims);
	siglen = unb64(dot2 + 1, strlen(dot2 + 1), sig);
	if (ec) { /* R || S back to DER for OpenSSL's verify */
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *der = NULL;

		assert_int_equal(siglen, 96);
		ECDSA_SIG_set0(es, BN_bin2bn(sig, 48, NULL), BN_bin2bn(sig + 48, 48, NULL));
		siglen = i2d_ECDSA_SIG(es, &der);
		memcpy(sig, der, (size_t)siglen);
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
	}
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, (size_t)siglen, (unsigned char *)b.p,
	                                  (size_t)(dot2 - b.p)),
	                 1);
	/* one byte changed in the claims: the signature no longer holds */
	b.p[dot1 - b.p + 3] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, pub), 1);
	assert_int_not_equal(EVP_DigestVerify(ctx, sig, (size_t)siglen, (unsigned char *)b.p,
	                                      (size_t)(dot2 - b.p)),
	                     1);
	cg_buf_init(&jwks, 65536);
	assert_int_equal(cg_jwt_jwks(k, &jwks), 0);
	doc = cJSON_Parse(jwks.p);
	key = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "keys"), 0);
	assert_string_equal(cJSON_GetObjectItem(key, "kty")->valuestring, ec ? "EC" : "RSA");
	assert_string_equal(cJSON_GetObjectItem(key, "kid")->valuestring, "kid-1");
	if (ec) {
		assert_int_equal(strlen(cJSON_GetObjectItem(key, "x")->valuestring), 64);
		assert_string_equal(cJSON_GetObjectItem(key, "crv")->valuestring, "P-384");
	} else {
		assert_string_equal(cJSON_GetObjectItem(key, "e")->valuestring, "AQAB");
	}
	assert_null(cJSON_GetObjectItem(key, "d")); /* never the private part */
	cJSON_Delete(doc);
	cg_buf_free(&jwks);
	cg_buf_free(&b);
	cg_jwt_key_free(k);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	/* a key that does not fit the alg asked for */
	assert_int_not_equal(
	        cg_jwt_key_load(path, ec ? "RS384" : "ES384", "k", &k, why, sizeof(why)), 0);
}

static void
rs384(void **state)
{
	(void)state;
	check_one(0);
}

static void
es384(void **state)
{
	(void)state;
	check_one(1);
}

static void
wrong_keys(void **state)
{
	char path[256], why[256];
	struct cg_jwt_key *k = NULL;
	EVP_PKEY *p256 = EVP_EC_gen("P-256");
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/p256.pem", test_tmp_dir());
	f = fopen(path, "w");
	PEM_write_PrivateKey(f, p256, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	assert_int_not_equal(cg_jwt_key_load(path, NULL, "k", &k, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "P-384"));
	EVP_PKEY_free(p256);
	assert_int_not_equal(cg_jwt_key_load("/nonexistent", NULL, "k", &k, why, sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(b64url_vectors),
	        cmocka_unit_test(rs384),
	        cmocka_unit_test(es384),
	        cmocka_unit_test(wrong_keys),
	};
	int r;

	if (test_tmp_setup("x"))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	test_tmp_teardown();
	return r;
}
