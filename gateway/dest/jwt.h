/*
 * jwt.h: the signed JWT a destination authenticates with under SMART
 * Backend Services (private_key_jwt, RFC 7523), and the JWKS that publishes
 * its public key. OpenSSL does the cryptography (EVP_DigestSign with
 * SHA-384: RSASSA-PKCS1-v1_5 for RS384, ECDSA P-384 for ES384, whose DER
 * signature JWS wants as R || S); nothing here is hand-rolled but base64url.
 */
#ifndef CG_JWT_H
#define CG_JWT_H

#include "buf.h"
#include "err.h"

struct cg_jwt_key;

/* Reads a PEM private key: RSA (2048 bits or more) for RS384, EC P-384 for
 * ES384. alg: "RS384", "ES384" or NULL (the key's kind decides); kid: the key
 * id the registry knows it by. CG_EINVAL/CG_EIO with why (never key bytes). */
enum cg_err cg_jwt_key_load(const char *path, const char *alg, const char *kid,
                            struct cg_jwt_key **out, char *why, size_t whylen);
void cg_jwt_key_free(struct cg_jwt_key *k);
const char *cg_jwt_key_alg(const struct cg_jwt_key *k);

/* A client assertion: header {alg, typ JWT, kid}; claims iss = sub =
 * client_id, aud = the token endpoint's URL, iat = now, exp = now + 300 s
 * (SMART's most), jti = 128 random bits (never reused). Appended to out. */
enum cg_err cg_jwt_assertion(const struct cg_jwt_key *k, const char *client_id, const char *aud,
                             long long now_s, struct cg_buf *out);

/* {"keys":[the public key as a JWK with kid, alg, use "sig"]}, appended. */
enum cg_err cg_jwt_jwks(const struct cg_jwt_key *k, struct cg_buf *out);

/* base64url without padding (RFC 7515 2), appended. */
enum cg_err cg_base64url(const unsigned char *p, size_t len, struct cg_buf *out);

#endif
