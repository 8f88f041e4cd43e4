/* tls.c: server TLS contexts and client identities; see tls.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "metrics.h"
#include "tls.h"

/* Mozilla intermediate (v5.7) for TLS 1.2; TLS 1.3 keeps OpenSSL's suites. */
const char cg_tls_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/* The peer's address, for the log. */
static void
peer_address(const SSL *ssl, char *out, size_t n)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	char host[INET6_ADDRSTRLEN] = "?";
	int fd = SSL_get_fd(ssl);

	snprintf(out, n, "a client already gone");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return;
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, n, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, n, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

/* The certificate the check refused, noted by verify_cb for log_failure:
 * both run on the handshake's thread, within one SSL_do_handshake. */
static _Thread_local char refused_cert[600];

/* A client certificate is never a CA's (basicConstraints CA:TRUE, or
 * keyCertSign without basic constraints, or an old v1 self-signed one):
 * a CA certificate is not a system's identity, and whoever holds its key
 * can issue any name. OpenSSL's ssl_client purpose check does not refuse
 * one at depth 0 (it looks at key usage and EKU, which a CA may carry). */
static const char ca_as_client[] = "a CA certificate (basicConstraints CA:TRUE) is not a client's";

static int
is_ca(X509 *cert)
{
	return X509_check_ca(cert) != 0;
}

static int
verify_cb(int ok, X509_STORE_CTX *store)
{
	X509 *cert = X509_STORE_CTX_get_current_cert(store);
	int depth = X509_STORE_CTX_get_error_depth(store);
	const char *note = "";
	char subject[256] = "", issuer[256] = "";

	if (ok && depth == 0 && cert && is_ca(cert)) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
		note = ca_as_client;
		ok = 0;
	}
	if (!ok && cert && !refused_cert[0]) {
		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
		X509_NAME_oneline(X509_get_issuer_name(cert), issuer, sizeof(issuer));
		snprintf(refused_cert, sizeof(refused_cert),
		         "%s%s, subject %s, issuer %s, depth %d", *note ? ", " : "", note, subject,
		         issuer, depth);
	}
	return ok;
}

/* Why a handshake failed, in a warning an operator setting up a client can
 * act on: the alert, the certificate check's verdict, and which certificate
 * (its subject and issuer name systems, never patients). At most ten lines a
 * second, so that a flood of bad handshakes cannot flood the log; the
 * counter in /metrics counts them all. */
static void
log_failure(const SSL *ssl, const char *what)
{
	static atomic_llong second;
	static atomic_uint lines;
	static atomic_ulong dropped;
	long long now = (long long)time(NULL);
	long verdict = SSL_get_verify_result(ssl);
	unsigned long before;
	char addr[INET6_ADDRSTRLEN + 32], more[64] = "";

	cg_metrics_tls_handshake_failed();
	if (atomic_exchange(&second, now) != now)
		atomic_store(&lines, 0);
	if (atomic_fetch_add(&lines, 1) >= 10) {
		atomic_fetch_add(&dropped, 1);
		refused_cert[0] = 0;
		return;
	}
	peer_address(ssl, addr, sizeof(addr));
	if ((before = atomic_exchange(&dropped, 0)) != 0)
		snprintf(more, sizeof(more), " (and %lu more not logged)", before);
	cg_log(CG_LOG_WARN, "TLS handshake with %s failed: %s%s%s%s%s", addr, what,
	       verdict != X509_V_OK ? "; the client certificate: " : "",
	       verdict != X509_V_OK ? X509_verify_cert_error_string(verdict) : "", refused_cert,
	       more);
	refused_cert[0] = 0;
}

static void (*handshake_done)(SSL *ssl);

void
cg_tls_on_handshake_done(void (*fn)(SSL *ssl))
{
	handshake_done = fn;
}

static const char *
alert_name(int alert)
{
	/* TLS 1.3's "certificate required" is unknown to OpenSSL 3.0's table */
	return (alert & 0xff) == 116 ? "certificate required" : SSL_alert_desc_string_long(alert);
}

/* What became of a connection's first handshake, in its SSL's ex_data: NULL
 * while it runs, then done or failed. Only that handshake's failure counts:
 * afterwards OpenSSL can report more for the same connection (a TLS 1.3
 * client closing while the server sends its session tickets is "in init"
 * again and ends in a decode error), which are not failed handshakes. The
 * index is made once, before the first context. */
static int outcome_idx = -1;
static char done_mark, failed_mark;

static void
make_outcome_idx(void)
{
	outcome_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static const void *
outcome(const SSL *ssl)
{
	return outcome_idx >= 0 ? SSL_get_ex_data(ssl, outcome_idx) : NULL;
}

static void
set_outcome(const SSL *ssl, char *mark)
{
	/* The callback gets a const SSL; ex_data is not part of what it may
	 * not change. */
	if (outcome_idx >= 0)
		SSL_set_ex_data((SSL *)(uintptr_t)ssl, outcome_idx, mark);
}

/* Failed handshakes, counted and logged with what an operator setting up a
 * client needs: a fatal alert we sent (bad, expired, revoked or missing
 * certificate, old protocol, no shared cipher), one the client sent (it does
 * not trust the listener's certificate), or bytes that are not TLS at all
 * (plain HTTP to the TLS port). A connection closed before it sent a byte
 * (a load balancer's TCP check, a port probe) never tried TLS: not counted. */
static void
info_cb(const SSL *ssl, int where, int ret)
{
	BIO *in = SSL_get_rbio(ssl);
	unsigned long e;
	char what[200];

	if (outcome(ssl))
		return;
	if (where & SSL_CB_HANDSHAKE_DONE) {
		set_outcome(ssl, &done_mark);
		if (handshake_done) /* the SSL is the connection's, not const to it */
			handshake_done((SSL *)(uintptr_t)ssl);
		return;
	}
	if (!in || BIO_number_read(in) == 0)
		return;
	if ((where & SSL_CB_ALERT) && strcmp(SSL_alert_type_string(ret), "F") == 0) {
		if (where & SSL_CB_WRITE)
			snprintf(what, sizeof(what), "refused (alert: %s)", alert_name(ret));
		else
			snprintf(what, sizeof(what),
			         "the client gave up (alert: %s; does it trust this listener's "
			         "certificate?)",
			         alert_name(ret));
		set_outcome(ssl, &failed_mark);
		log_failure(ssl, what);
	} else if ((where & SSL_CB_EXIT) && ret <= 0 && (e = ERR_peek_last_error()) != 0 &&
	           ERR_GET_LIB(e) == ERR_LIB_SSL) {
		int r = ERR_GET_REASON(e);

		if (r == SSL_R_HTTP_REQUEST || r == SSL_R_HTTPS_PROXY_REQUEST)
			snprintf(what, sizeof(what),
			         "plain HTTP sent to a TLS port (use https://)");
		else if (r == SSL_R_WRONG_VERSION_NUMBER)
			snprintf(what, sizeof(what), "the bytes sent are not TLS");
		else
			return; /* waiting for more bytes, or told by an alert */
		set_outcome(ssl, &failed_mark);
		log_failure(ssl, what);
	}
}

static void
why(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_peek_last_error();
	char ossl[256] = "";

	if (e)
		ERR_error_string_n(e, ossl, sizeof(ossl));
	snprintf(err, errlen, "%s %s: %s", what, file ? file : "", e ? ossl : "failed");
	ERR_clear_error();
}

static int
load_crl(SSL_CTX *ctx, const char *file, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	FILE *f = fopen(file, "r");
	X509_CRL *crl;
	int n = 0;

	if (!f) {
		snprintf(err, errlen, "crl %s: cannot open", file);
		return -1;
	}
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		X509_STORE_add_crl(store, crl);
		X509_CRL_free(crl);
		n++;
	}
	fclose(f);
	ERR_clear_error(); /* the end of the file */
	if (n == 0) {
		snprintf(err, errlen, "crl %s: no CRL in the file", file);
		return -1;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return 0;
}

static long long
unix_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (long long)timegm(&tm);
}

/* Checks cert again, now, as OpenSSL checks a client in the handshake: the
 * store's CAs, CRLs and flags, a client certificate's purpose, then the
 * context's own parameters (its verify depth) over them; and never a CA
 * certificate as a client, as verify_cb. chain: the
 * untrusted certificates the client sent, or NULL. */
static int
verify_again(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) * chain, const char **why)
{
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	int ok = 0;

	if (!sc) {
		*why = "out of memory";
		return 0;
	}
	if (X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), cert, chain) == 1 &&
	    X509_STORE_CTX_set_default(sc, "ssl_client") == 1 &&
	    X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sc), SSL_CTX_get0_param(ctx)) == 1) {
		ok = X509_verify_cert(sc) == 1;
		if (!ok)
			*why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc));
		else if (is_ca(cert)) {
			ok = 0;
			*why = ca_as_client;
		}
	} else {
		*why = "out of memory";
	}
	X509_STORE_CTX_free(sc);
	ERR_clear_error();
	return ok;
}

/*
 * Session resumption skips the certificate check: a resumed session carries
 * the verdict of the full handshake that made it, however long ago. So that
 * a session cannot outlive its client certificate (nor a CRL or CA that
 * has expired since), as nginx and HAProxy keep theirs short:
 *
 * - a session lasts at most SESSION_SECONDS (nginx's and HAProxy's default
 *   lifetime; OpenSSL's own is two hours);
 * - and never past its client certificate's notAfter: each session's
 *   timeout is cut to it when its ticket is made (TLS 1.2 and 1.3, and on
 *   every TLS 1.3 resumption, whose new ticket would otherwise start a new
 *   lifetime) and when it enters the session cache. OpenSSL itself then
 *   refuses it as timed out, for tickets and cache alike, and the client
 *   falls back to a full handshake, where an expired certificate fails and
 *   is logged as any other. The ticket's lifetime hint says the same, so a
 *   well-behaved TLS 1.3 client does not even offer it;
 * - when a ticket is decrypted, its client certificate is verified again,
 *   now, against the listener's CAs and CRLs (the same check as after a
 *   reload, cg_tls_recheck); when that fails, the ticket is ignored and a
 *   full handshake decides. A ticket holds the client's certificate but not
 *   the chain it sent: a client whose intermediate CA is not in client_ca
 *   gets no resumption, only full handshakes (safe, slower).
 *
 * Refusing resumption, rather than the connection after it, leaves the
 * verdict to the full handshake: the one place where certificates are
 * judged and failures are logged. A reload makes new contexts, so tickets
 * and cached sessions of the old configuration resume nothing.
 */
#define SESSION_SECONDS 300

static void
cap_session(SSL_SESSION *sess)
{
	X509 *peer = sess ? SSL_SESSION_get0_peer(sess) : NULL;
	long long left;

	if (!peer)
		return; /* no client certificate: only the lifetime applies */
	/* from the session's start, which its timeout counts from; an
	 * unreadable date leaves nothing */
	left = unix_time(X509_get0_notAfter(peer)) - (long long)SSL_SESSION_get_time(sess);
	if (left < SSL_SESSION_get_timeout(sess))
		SSL_SESSION_set_timeout(sess, left > 0 ? (long)left : 0);
}

static int
on_ticket_made(SSL *ssl, void *arg)
{
	(void)arg;
	cap_session(SSL_get_session(ssl));
	return 1;
}

static SSL_TICKET_RETURN
on_ticket_opened(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname, size_t keyname_len,
                 SSL_TICKET_STATUS status, void *arg)
{
	const char *why;
	X509 *peer;

	(void)keyname;
	(void)keyname_len;
	(void)arg;
	if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
		return status == SSL_TICKET_EMPTY || status == SSL_TICKET_NO_DECRYPT
		               ? SSL_TICKET_RETURN_IGNORE_RENEW
		               : SSL_TICKET_RETURN_ABORT;
	peer = SSL_SESSION_get0_peer(sess);
	if (peer && !verify_again(SSL_get_SSL_CTX(ssl), peer, NULL, &why))
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}

static int
on_session_cached(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	cap_session(sess);
	return 0; /* OpenSSL keeps its own reference */
}

SSL_CTX *
cg_tls_server_ctx(const struct cg_tls_server *s, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "cellgate";
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	SSL_CTX *ctx;
	STACK_OF(X509_NAME) * names;

	pthread_once(&once, make_outcome_idx);
	ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		why(err, errlen, "TLS context", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_set_cipher_list(ctx, cg_tls_ciphers) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) {
		why(err, errlen, "TLS ciphers", NULL);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, s->certificate) != 1) {
		why(err, errlen, "certificate", s->certificate);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, s->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		why(err, errlen, "key", s->key);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, s->client_ca, NULL) != 1 ||
	    !(names = SSL_load_client_CA_file(s->client_ca))) {
		why(err, errlen, "client_ca", s->client_ca);
		goto fail;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	if (s->crl && load_crl(ctx, s->crl, err, errlen))
		goto fail;
	SSL_CTX_set_verify(
	        ctx, SSL_VERIFY_PEER | (s->require_client ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
	        verify_cb);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* Resumption: a server-side cache (the context id is required with
	 * client certificates) and stateless tickets, within the limits of
	 * cap_session. */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, 20000);
	SSL_CTX_set_timeout(ctx, SESSION_SECONDS);
	SSL_CTX_sess_set_new_cb(ctx, on_session_cached);
	if (SSL_CTX_set_session_ticket_cb(ctx, on_ticket_made, on_ticket_opened, NULL) != 1) {
		why(err, errlen, "TLS session tickets", NULL);
		goto fail;
	}
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
cg_tls_expiry(SSL_CTX *ctx, long long *cert_not_after, long long *crl_next_update)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
	int i;

	*cert_not_after = cert ? unix_time(X509_get0_notAfter(cert)) : 0;
	*crl_next_update = 0;
	for (i = 0; objs && i < sk_X509_OBJECT_num(objs); i++) {
		X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
		long long next = crl ? unix_time(X509_CRL_get0_nextUpdate(crl)) : 0;

		if (next && (!*crl_next_update || next < *crl_next_update))
			*crl_next_update = next;
	}
}

long long
cg_tls_file_cert_expiry(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	long long at = cert ? unix_time(X509_get0_notAfter(cert)) : 0;

	if (f)
		fclose(f);
	X509_free(cert);
	ERR_clear_error();
	return at;
}

int
cg_tls_recheck(SSL_CTX *ctx, const SSL *ssl, const char **why)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	*why = "no client certificate";
	return cert ? verify_again(ctx, cert, SSL_get_peer_cert_chain(ssl), why) : 0;
}

bool
cg_tls_has_san_dns(X509 *cert, const char *san_dns)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int i, found = 0;

	for (i = 0; names && i < sk_GENERAL_NAME_num(names) && !found; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const unsigned char *p;
		int len;

		if (g->type != GEN_DNS)
			continue;
		p = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		/* Exact and case-insensitive; an embedded NUL never matches. */
		found = len == (int)strlen(san_dns) && memchr(p, 0, (size_t)len) == NULL &&
		        strncasecmp((const char *)p, san_dns, (size_t)len) == 0;
	}
	GENERAL_NAMES_free(names);
	return found;
}

int
cg_tls_has_subject_cn(X509 *cert, const char *cn)
{
	X509_NAME *subject = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	ASN1_STRING *v;
	const unsigned char *p;
	int len;

	if (i < 0)
		return 0;
	/* A subject with several CNs names no one: which of them is "the" CN
	 * differs between programs (the first, the last, any), and a CA that
	 * copies a requested subject may add one the requester chose. */
	if (X509_NAME_get_index_by_NID(subject, NID_commonName, i) >= 0)
		return -1;
	v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
	p = ASN1_STRING_get0_data(v);
	len = ASN1_STRING_length(v);
	return len == (int)strlen(cn) && memchr(p, 0, (size_t)len) == NULL &&
	       memcmp(p, cn, (size_t)len) == 0;
}
