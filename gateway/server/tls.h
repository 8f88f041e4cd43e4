/*
 * tls.h: the gateway's TLS settings (OpenSSL) and client identities.
 *
 * Server contexts follow Mozilla's "intermediate" profile: TLS 1.2 and 1.3
 * only, ECDHE with AES-GCM or ChaCha20-Poly1305, no renegotiation, session
 * resumption by cache and tickets. Client certificates are checked against
 * the listener's CA and, when given, its CRL; who a verified client is comes
 * from its certificate's DNS subject alternative names or subject CN, matched
 * against the names the configuration gives (never guessed).
 */
#ifndef CG_TLS_H
#define CG_TLS_H

#include <stdbool.h>

#include <stddef.h>

#include <openssl/ssl.h>

struct cg_tls_server {
	const char *certificate, *key; /* PEM; ECDSA or RSA */
	const char *client_ca;         /* PEM bundle */
	const char *crl;               /* PEM, or NULL */
	int require_client;            /* no certificate: no handshake */
};

/* A new server context, or NULL with the reason (file and OpenSSL's words) in
 * err. */
SSL_CTX *cg_tls_server_ctx(const struct cg_tls_server *s, char *err, size_t errlen);

/* A client context for upstream calls is libcurl's business; this is only the
 * cipher list both sides use. */
extern const char cg_tls_ciphers[];

/* 1 when cert carries DNS name san_dns in its subject alternative names. */
bool cg_tls_has_san_dns(X509 *cert, const char *san_dns);
/* 1 when cert's subject has one CN and it is cn (exactly); 0 when not; -1
 * when the subject has several CNs, which never match. */
int cg_tls_has_subject_cn(X509 *cert, const char *cn);

/* Checks a connection's client certificate again, against ctx's CAs and
 * CRLs (a reloaded configuration's): a client revoked since its handshake
 * is refused on its open connections too. 1 when still valid; else 0 and
 * why says what failed. */
int cg_tls_recheck(SSL_CTX *ctx, const SSL *ssl, const char **why);

/* When ctx's server certificate expires, and the earliest next update of
 * the CRLs it checks clients against (0: no CRL), as Unix times: for the
 * load's warnings and /metrics, since an expired certificate or CRL stops
 * every client. */
void cg_tls_expiry(SSL_CTX *ctx, long long *cert_not_after, long long *crl_next_update);

/* When the first certificate of a PEM file expires (Unix time), or 0 when
 * it cannot be read: the gateway's own client certificate for a destination,
 * which libcurl loads per call. */
long long cg_tls_file_cert_expiry(const char *path);

/* fn is called on the handshake's thread when a connection's first
 * handshake has completed (its client certificate, if any, verified): the
 * server counts it as authenticated from then on. Set once, before serving. */
void cg_tls_on_handshake_done(void (*fn)(SSL *ssl));

#endif
