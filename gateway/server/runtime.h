/*
 * runtime.h: everything one configuration load makes (the settings, the
 * mappings, a TLS context per listener, our conformance resources), shared
 * by the workers and swapped whole by a reload.
 *
 * Requests hold a reference, so a reload never pulls a configuration from
 * under one; the last release frees it. No sockets here: the server decides
 * when to load and install.
 */
#ifndef CG_RUNTIME_H
#define CG_RUNTIME_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "buf.h"

struct cg_static_doc { /* a conformance resource of ours, served as it is */
	char type[32], id[96];
	char *text;
	size_t len;
};

struct cg_runtime {
	int refs;          /* under the module's lock */
	unsigned long gen; /* unique per load (an address could be reused) */
	struct cg_config *cfg;
	struct cg_settings *s;
	struct cg_mappings *m;
	/* compiled once per load and shared read-only by the workers (each
	 * evaluates in its own thread's arena); NULL: fhir_invariants: false */
	struct cg_fhir_invariants *inv;
	SSL_CTX **tls; /* one per listener */
	struct {
		long long cert, crl; /* the server certificate's expiry, the first CRL due, or 0 */
	} * expiry;                  /* per listener */
	char (*listener_names)[64];  /* per listener: "address:port" */
	long long *dest_cert_expiry; /* per destination: its client certificate's, or 0 */
	char **dest_jwks; /* per destination: the JWKS its jwks_path serves (smart-backend), or NULL */
	struct cg_static_doc *docs;
	size_t ndocs;
	const char *base; /* canonical base */
};

struct cg_listen;

/* Loads the configuration (NULL: the embedded defaults, paths from the
 * working directory) with its first listener moved to listen when not NULL
 * (`cellgate serve --listen`), the mappings (NULL: the default folder), the
 * listeners' certificates and the conformance resources; makes missing
 * ndjson folders. Every error is logged; NULL when anything is wrong. The
 * result holds one reference. */
struct cg_runtime *cg_runtime_load(const char *config_path, const char *mappings_dir,
                                   const struct cg_listen *listen);
/* Frees a load that was never installed nor shared. */
void cg_runtime_free(struct cg_runtime *rt);
/* Makes rt the current one, taking over its reference, and returns the
 * previous one (NULL at first), whose reference the caller now holds. */
struct cg_runtime *cg_runtime_install(struct cg_runtime *rt);
/* The current one, with a reference taken: release it when done. */
struct cg_runtime *cg_runtime_acquire(void);
void cg_runtime_release(struct cg_runtime *rt);
/* Appends the gauges of the listeners' certificates and CRLs to /metrics:
 * when each server certificate expires, and the earliest CRL next update.
 * Stops at the first append that fails (which has freed b) and returns it. */
CG_MUST_CHECK enum cg_err cg_runtime_metrics(const struct cg_runtime *rt, struct cg_buf *b);
/* The conformance resource of that type (type_len bytes) and id, or NULL. */
const struct cg_static_doc *cg_runtime_doc(const struct cg_runtime *rt, const char *type,
                                           size_t type_len, const char *id);

#endif
