/*
 * wrk_client_cert.c: gives wrk a TLS client certificate, for
 * tests/bench/proxy.sh. wrk has no option for one, and both gateways under
 * test require mutual TLS; preloaded (LD_PRELOAD), this wraps OpenSSL's
 * SSL_new and loads $WRK_CLIENT_CERT and $WRK_CLIENT_KEY into wrk's context
 * once, before its first connection. Nothing else of wrk changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *loaded;

SSL *
SSL_new(SSL_CTX *ctx)
{
	static SSL *(*real)(SSL_CTX *);
	const char *cert = getenv("WRK_CLIENT_CERT"), *key = getenv("WRK_CLIENT_KEY");

	pthread_mutex_lock(&lock);
	if (!real)
		real = (SSL * (*)(SSL_CTX *)) dlsym(RTLD_NEXT, "SSL_new");
	if (ctx != loaded && cert && key) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			fprintf(stderr, "wrk_client_cert: cannot load %s / %s\n", cert, key);
			abort();
		}
		loaded = ctx;
	}
	pthread_mutex_unlock(&lock);
	return real(ctx);
}
