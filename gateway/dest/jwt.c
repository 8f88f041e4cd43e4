/* jwt.c: SMART Backend Services assertions and the JWKS; see jwt.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "json_write.h"
#include "jwt.h"

struct cg_jwt_key {
	EVP_PKEY *pkey;
	int es384;
	char kid[256];
};

enum cg_err
cg_base64url(const unsigned char *p, size_t len, struct cg_buf *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;
	char q[4];

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		q[0] = a[v >> 18], q[1] = a[(v >> 12) & 63], q[2] = a[(v >> 6) & 63],
		q[3] = a[v & 63];
		if (cg_buf_add(out, q, 4))
			return CG_ENOMEM;
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		q[0] = a[v >> 18], q[1] = a[(v >> 12) & 63];
		return cg_buf_add(out, q, 2);
	}
	if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		q[0] = a[v >> 18], q[1] = a[(v >> 12) & 63], q[2] = a[(v >> 6) & 63];
		return cg_buf_add(out, q, 3);
	}
	return CG_OK;
}

enum cg_err
cg_jwt_key_load(const char *path, const char *alg, const char *kid, struct cg_jwt_key **out,
                char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	struct cg_jwt_key *k;
	EVP_PKEY *pkey;
	char group[64] = "";

	*out = NULL;
	if (!f) {
		snprintf(why, whylen, "cannot read the private key %s", path);
		return CG_EIO;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey) {
		snprintf(why, whylen, "%s is not a PEM private key (an encrypted one is not read)",
		         path);
		return CG_EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return CG_ENOMEM;
	}
	k->pkey = pkey;
	snprintf(k->kid, sizeof(k->kid), "%s", kid ? kid : "");
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		if (EVP_PKEY_get_bits(pkey) < 2048) {
			snprintf(why, whylen, "%s: an RSA key for RS384 has 2048 bits or more",
			         path);
			goto bad;
		}
		k->es384 = 0;
	} else if (EVP_PKEY_is_a(pkey, "EC") &&
	           EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
	                                          sizeof(group), NULL) &&
	           (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))) {
		k->es384 = 1;
	} else {
		snprintf(why, whylen,
		         "%s: SMART Backend Services takes an RSA key (RS384) or an EC "
		         "P-384 key (ES384)",
		         path);
		goto bad;
	}
	if (alg && strcmp(alg, k->es384 ? "ES384" : "RS384") != 0) {
		snprintf(why, whylen, "%s: alg %s does not fit its %s key", path, alg,
		         k->es384 ? "EC P-384" : "RSA");
		goto bad;
	}
	*out = k;
	return CG_OK;
bad:
	cg_jwt_key_free(k);
	return CG_EINVAL;
}

void
cg_jwt_key_free(struct cg_jwt_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *
cg_jwt_key_alg(const struct cg_jwt_key *k)
{
	return k->es384 ? "ES384" : "RS384";
}

/* The signature of data as JWS has it: RSA's as is, ECDSA's as R || S. */
static enum cg_err
sign(const struct cg_jwt_key *k, const char *data, size_t len, struct cg_buf *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t siglen = 0;
	enum cg_err result = CG_EIO;

	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, len) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, len) != 1)
		goto out;
	if (k->es384) {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		const BIGNUM *r, *s;
		unsigned char rs[96];

		if (!es)
			goto out;
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, rs, 48) != 48 || BN_bn2binpad(s, rs + 48, 48) != 48) {
			ECDSA_SIG_free(es);
			goto out;
		}
		ECDSA_SIG_free(es);
		result = cg_base64url(rs, sizeof(rs), out);
	} else {
		result = cg_base64url(sig, siglen, out);
	}
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return result;
}

enum cg_err
cg_jwt_assertion(const struct cg_jwt_key *k, const char *client_id, const char *aud,
                 long long now_s, struct cg_buf *out)
{
	struct cg_buf part;
	struct cg_jw w;
	unsigned char jti[16];
	char jtihex[33];
	size_t i, start = out->len;
	enum cg_err result;

	if (RAND_bytes(jti, sizeof(jti)) != 1)
		return CG_EIO;
	for (i = 0; i < sizeof(jti); i++)
		snprintf(jtihex + 2 * i, 3, "%02x", jti[i]);
	cg_buf_init(&part, 16384);
	cg_jw_init(&w, &part);
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "alg", cg_jwt_key_alg(k));
	cg_jw_string(&w, "typ", "JWT");
	cg_jw_string(&w, "kid", k->kid);
	cg_jw_end(&w);
	result = w.err ? w.err : cg_base64url((const unsigned char *)part.p, part.len, out);
	if (!result)
		result = cg_buf_addc(out, '.');
	cg_buf_reset(&part);
	cg_jw_init(&w, &part);
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "iss", client_id);
	cg_jw_string(&w, "sub", client_id);
	cg_jw_string(&w, "aud", aud);
	cg_jw_int(&w, "iat", now_s);
	cg_jw_int(&w, "exp", now_s + 300);
	cg_jw_string(&w, "jti", jtihex);
	cg_jw_end(&w);
	if (!result)
		result = w.err ? w.err : cg_base64url((const unsigned char *)part.p, part.len, out);
	cg_buf_free(&part);
	/* the signing input is what was written so far: header.claims */
	if (!result) {
		size_t signed_len = out->len - start;

		result = cg_buf_addc(out, '.');
		if (!result)
			result = sign(k, out->p + start, signed_len, out);
	}
	if (result)
		cg_buf_truncate(out, start);
	return result;
}

/* A big number as base64url of its big-endian bytes (width: pad to it, or
 * 0: its own length). */
static enum cg_err
bn_b64(const BIGNUM *bn, int width, struct cg_buf *out)
{
	int n = width ? width : BN_num_bytes(bn);
	unsigned char *b = malloc((size_t)n + 1);
	enum cg_err result = CG_ENOMEM;

	if (b && BN_bn2binpad(bn, b, n) == n)
		result = cg_base64url(b, (size_t)n, out);
	free(b);
	return result;
}

static enum cg_err
member_bn(struct cg_jw *w, struct cg_buf *tmp, const char *name, EVP_PKEY *pkey, const char *param,
          int width)
{
	BIGNUM *bn = NULL;
	enum cg_err result;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		return CG_EIO;
	cg_buf_reset(tmp);
	result = bn_b64(bn, width, tmp);
	BN_free(bn);
	if (!result && !cg_buf_addc(tmp, 0))
		cg_jw_string(w, name, tmp->p);
	return result;
}

enum cg_err
cg_jwt_jwks(const struct cg_jwt_key *k, struct cg_buf *out)
{
	struct cg_buf tmp;
	struct cg_jw w;
	enum cg_err result;

	cg_buf_init(&tmp, 4096);
	cg_jw_init(&w, out);
	cg_jw_object(&w, NULL);
	cg_jw_array(&w, "keys");
	cg_jw_object(&w, NULL);
	if (k->es384) {
		cg_jw_string(&w, "kty", "EC");
		cg_jw_string(&w, "crv", "P-384");
		result = member_bn(&w, &tmp, "x", k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 48);
		if (!result)
			result = member_bn(&w, &tmp, "y", k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 48);
	} else {
		cg_jw_string(&w, "kty", "RSA");
		result = member_bn(&w, &tmp, "n", k->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
		if (!result)
			result = member_bn(&w, &tmp, "e", k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
	}
	cg_jw_string(&w, "kid", k->kid);
	cg_jw_string(&w, "alg", cg_jwt_key_alg(k));
	cg_jw_string(&w, "use", "sig");
	cg_jw_end(&w);
	cg_jw_end(&w);
	cg_jw_end(&w);
	cg_buf_free(&tmp);
	return result ? result : w.err;
}
