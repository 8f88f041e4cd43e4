/* runtime.c: one configuration load, shared and swapped; see runtime.h. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "default_config.h"
#include "dest_ndjson.h"
#include "diag.h"
#include "fhir_invariants.h"
#include "fileio.h"
#include "log.h"
#include "mappings.h"
#include "jwt.h"
#include "runtime.h"
#include "settings.h"
#include "tls.h"

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong runtime_gen;
static struct cg_runtime *current; /* under rt_lock */

void
cg_runtime_free(struct cg_runtime *rt)
{
	size_t i;

	if (!rt)
		return;
	for (i = 0; rt->tls && rt->s && i < rt->s->nlisteners; i++)
		SSL_CTX_free(rt->tls[i]);
	free(rt->tls);
	free(rt->dest_cert_expiry);
	for (i = 0; rt->dest_jwks && i < rt->s->ndests; i++)
		free(rt->dest_jwks[i]);
	free(rt->dest_jwks);
	free(rt->expiry);
	free(rt->listener_names);
	for (i = 0; i < rt->ndocs; i++)
		free(rt->docs[i].text);
	free(rt->docs);
	cg_settings_free(rt->s);
	cg_fhir_invariants_free(rt->inv);
	cg_mappings_free(rt->m);
	cg_config_free(rt->cfg);
	free(rt);
}

struct cg_runtime *
cg_runtime_acquire(void)
{
	struct cg_runtime *rt;

	pthread_mutex_lock(&rt_lock);
	rt = current;
	rt->refs++;
	pthread_mutex_unlock(&rt_lock);
	return rt;
}

void
cg_runtime_release(struct cg_runtime *rt)
{
	int last;

	pthread_mutex_lock(&rt_lock);
	last = --rt->refs == 0;
	pthread_mutex_unlock(&rt_lock);
	if (last)
		cg_runtime_free(rt);
}

/* How far off t is: its day (UTC) in when, and whole days from now, negative
 * once past. */
static long long
days_until(long long t, char *when, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	long long now = (long long)time(NULL);

	if (gmtime_r(&tt, &tm))
		strftime(when, n, "%Y-%m-%d", &tm);
	else
		snprintf(when, n, "?");
	return t < now ? -1 : (t - now) / 86400;
}

/* An expired certificate or CRL stops every client it concerns: said at
 * start and at each reload, before it happens. what: "listener A:P" or
 * "destination NAME"; at: 0 when there is none. */
static void
warn_cert(const char *what, const char *whose, long long at)
{
	char when[32];
	long long days = at ? days_until(at, when, sizeof(when)) : 30;

	if (days < 0)
		cg_log(CG_LOG_ERROR, "%s: %s certificate expired on %s: its peers refuse it", what,
		       whose, when);
	else if (days < 30)
		cg_log(CG_LOG_WARN, "%s: %s certificate expires on %s, in %lld days", what, whose,
		       when, days);
}

static void
warn_crl(const char *what, long long at)
{
	char when[32];
	long long days = at ? days_until(at, when, sizeof(when)) : 7;

	if (days < 0)
		cg_log(CG_LOG_ERROR,
		       "%s: a CRL was due for renewal on %s: the client certificates it covers are "
		       "refused until it is renewed",
		       what, when);
	else if (days < 7)
		cg_log(CG_LOG_WARN,
		       "%s: a CRL must be renewed by %s (in %lld days), or the client certificates "
		       "it covers will be refused",
		       what, when, days);
}

/* One gauge line per listener or destination that has a value (not 0). */
static enum cg_err
gauge(struct cg_buf *b, const char *metric, const char *label, const char *value, long long at)
{
	if (!at)
		return CG_OK;
	return cg_buf_printf(b, "%s{%s=\"%s\"} %lld\n", metric, label, value, at);
}

/* A label value as Prometheus reads it: \\, \" and \n escaped. The keys and
 * paths come from invariants.json, not from requests; escaped all the same. */
static enum cg_err
label_value(struct cg_buf *b, const char *s)
{
	enum cg_err err = CG_OK;

	for (; *s && !err; s++)
		err = *s == '\\' || *s == '"' ? cg_buf_printf(b, "\\%c", *s)
		      : *s == '\n'            ? cg_buf_addstr(b, "\\n")
		                              : cg_buf_addc(b, *s);
	return err;
}

static enum cg_err
invariant_line(void *ctx, const char *key, const char *where, unsigned long n)
{
	struct cg_buf *b = ctx;
	enum cg_err err;

	if (!n)
		return CG_OK; /* did not compile: the gauge counts those */
	err = cg_buf_addstr(b, "cellgate_fhir_invariant_not_evaluated_total{key=\"");
	if (!err)
		err = label_value(b, key);
	if (!err)
		err = cg_buf_addstr(b, "\",on=\"");
	if (!err)
		err = label_value(b, where);
	if (!err)
		err = cg_buf_printf(b, "\"} %lu\n", n);
	return err;
}

/* The invariants the engine could not evaluate (fhir_invariants.h): one
 * series per invariant that failed at least once, bounded by the
 * definitions (246 in R4), never by the traffic; a reload starts from 0. */
static enum cg_err
invariant_metrics(const struct cg_runtime *rt, struct cg_buf *b)
{
	struct cg_fhir_failures sum;
	enum cg_err err;

	if (!rt->inv)
		return CG_OK; /* fhir_invariants: false */
	err = cg_buf_addstr(b, "# HELP cellgate_fhir_invariant_not_evaluated_total Evaluations of "
	                       "an R4 invariant that the FHIRPath engine could not complete, so "
	                       "it was not checked (counted, not reported as broken), since the "
	                       "configuration was loaded.\n"
	                       "# TYPE cellgate_fhir_invariant_not_evaluated_total counter\n");
	if (!err)
		err = cg_fhir_invariants_failures(rt->inv, invariant_line, b, &sum);
	if (!err)
		err = cg_buf_printf(b,
		                    "# HELP cellgate_fhir_invariants_not_compiled R4 invariants "
		                    "whose expression did not compile: never checked.\n"
		                    "# TYPE cellgate_fhir_invariants_not_compiled gauge\n"
		                    "cellgate_fhir_invariants_not_compiled %zu\n",
		                    sum.not_compiled);
	return err;
}

enum cg_err
cg_runtime_metrics(const struct cg_runtime *rt, struct cg_buf *b)
{
	static const char cert[] = "cellgate_tls_certificate_expiry_timestamp_seconds",
	                  dest[] = "cellgate_tls_destination_certificate_expiry_timestamp_seconds",
	                  crl[] = "cellgate_tls_crl_next_update_timestamp_seconds";
	size_t i;
	enum cg_err err;

	err = cg_buf_printf(b,
	                    "# HELP %s When each listener's server certificate expires.\n"
	                    "# TYPE %s gauge\n",
	                    cert, cert);
	for (i = 0; i < rt->s->nlisteners && !err; i++)
		err = gauge(b, cert, "listener", rt->listener_names[i], rt->expiry[i].cert);
	if (!err)
		err = cg_buf_printf(b,
		                    "# HELP %s When the gateway's client certificate for each "
		                    "destination expires.\n"
		                    "# TYPE %s gauge\n",
		                    dest, dest);
	for (i = 0; i < rt->s->ndests && !err; i++)
		err = gauge(b, dest, "destination", rt->s->dests[i].name, rt->dest_cert_expiry[i]);
	if (!err)
		err = cg_buf_printf(
		        b,
		        "# HELP %s The earliest next update of the CRLs a listener checks "
		        "clients against.\n"
		        "# TYPE %s gauge\n",
		        crl, crl);
	for (i = 0; i < rt->s->nlisteners && !err; i++)
		err = gauge(b, crl, "listener", rt->listener_names[i], rt->expiry[i].crl);
	if (!err)
		err = invariant_metrics(rt, b);
	return err;
}

/* Reads mappings/fhir-extensions/{Type}-{id}.json, once per load, for
 * GET {fhir route}/{Type}/{id}. */
static int
load_docs(struct cg_runtime *rt)
{
	char dir[4096];
	DIR *dh;
	struct dirent *de;

	snprintf(dir, sizeof(dir), "%s/fhir-extensions", rt->m->dir);
	dh = opendir(dir);
	if (!dh)
		return 0; /* nothing to serve: 404 */
	while ((de = readdir(dh)) != NULL) {
		const char *dash = strchr(de->d_name, '-'), *dot = strrchr(de->d_name, '.');
		struct cg_static_doc *doc, *v;
		char path[4400];

		if (!dash || !dot || strcmp(dot, ".json") != 0 || dash - de->d_name >= 32 ||
		    dot - dash - 1 >= 96)
			continue;
		v = realloc(rt->docs, (rt->ndocs + 1) * sizeof(*v));
		if (!v)
			break;
		rt->docs = v;
		doc = &v[rt->ndocs];
		memset(doc, 0, sizeof(*doc));
		snprintf(doc->type, sizeof(doc->type), "%.*s", (int)(dash - de->d_name),
		         de->d_name);
		snprintf(doc->id, sizeof(doc->id), "%.*s", (int)(dot - dash - 1), dash + 1);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (cg_file_read(path, 1u << 22, &doc->text, &doc->len) == CG_OK)
			rt->ndocs++;
	}
	closedir(dh);
	return 0;
}

/* SMART Backend Services destinations: their keys read now (a bad one is a
 * load error, not a failure at the first delivery) and the JWKS each
 * jwks_path serves on the admin listener. */
static int
load_jwks(struct cg_runtime *rt)
{
	size_t i;

	for (i = 0; i < rt->s->ndests; i++) {
		const struct cg_dest_cfg *dc = &rt->s->dests[i];
		const struct cg_auth_cfg *a = &dc->auth;
		struct cg_jwt_key *k = NULL;
		struct cg_buf b;
		char why[300];

		if (a->type != CG_AUTH_SMART)
			continue;
		if (cg_jwt_key_load(a->private_key,
		                    a->alg_given ? (a->es384 ? "ES384" : "RS384") : NULL, a->kid,
		                    &k, why, sizeof(why))) {
			cg_log(CG_LOG_ERROR, "destination %s: %s", dc->name, why);
			return -1;
		}
		cg_buf_init(&b, 64 * 1024);
		if (!a->jwks_path) {
			cg_jwt_key_free(k);
			continue;
		}
		if (cg_jwt_jwks(k, &b)) {
			cg_jwt_key_free(k);
			cg_buf_free(&b);
			return -1;
		}
		cg_jwt_key_free(k);
		rt->dest_jwks[i] = b.p; /* the buffer's text is the runtime's now */
	}
	return 0;
}

struct cg_runtime *
cg_runtime_load(const char *config_path, const char *mappings_dir, const struct cg_listen *listen)
{
	struct cg_runtime *rt = calloc(1, sizeof(*rt));
	struct cg_diag d;
	char *why = NULL, *dir = NULL;
	size_t i;

	if (!rt)
		return NULL;
	rt->refs = 1;
	rt->gen = atomic_fetch_add(&runtime_gen, 1) + 1;
	cg_diag_init(&d, 50);
	if (config_path) {
		cg_config_load(config_path, &rt->cfg, &d);
	} else {
		char cwd[4096];

		/* The embedded defaults: paths from the working directory. */
		if (getcwd(cwd, sizeof(cwd)))
			cg_config_parse(cg_default_config, sizeof(cg_default_config) - 1, cwd,
			                &rt->cfg, &d);
		config_path = "(embedded defaults)";
	}
	if (!rt->cfg) {
		for (i = 0; i < d.n; i++)
			cg_log(CG_LOG_ERROR, "%s:%lu:%lu: %s %s: %s", config_path, d.v[i].line,
			       d.v[i].column, cg_code_name(d.v[i].code), d.v[i].path,
			       d.v[i].message);
		if (d.n == 0)
			cg_log(CG_LOG_ERROR, "%s: cannot be read: %s", config_path,
			       strerror(errno));
		cg_diag_free(&d);
		cg_runtime_free(rt);
		return NULL;
	}
	cg_diag_free(&d);
	if (listen && cg_config_listen(rt->cfg, listen)) {
		cg_log(CG_LOG_ERROR, "%s: --listen: no listener to move", config_path);
		cg_runtime_free(rt);
		return NULL;
	}
	rt->s = cg_settings_from(rt->cfg);
	if (!mappings_dir)
		mappings_dir = dir = cg_mappings_default_dir();
	if (!rt->s || !mappings_dir || cg_mappings_load(mappings_dir, &rt->m, &why)) {
		cg_log(CG_LOG_ERROR, "mappings: %s", why ? why : "no mappings folder found");
		free(why);
		free(dir);
		cg_runtime_free(rt);
		return NULL;
	}
	free(dir);
	if (rt->s->fhir_invariants && cg_fhir_invariants_load(rt->m->dir, &rt->inv, &why)) {
		cg_log(CG_LOG_ERROR, "invariants: %s", why ? why : "out of memory");
		free(why);
		cg_runtime_free(rt);
		return NULL;
	}
	rt->base = rt->s->canonical_base ? rt->s->canonical_base : rt->m->canonical_base;
	rt->tls = calloc(rt->s->nlisteners + 1, sizeof(*rt->tls));
	rt->expiry = calloc(rt->s->nlisteners + 1, sizeof(*rt->expiry));
	rt->listener_names = calloc(rt->s->nlisteners + 1, sizeof(*rt->listener_names));
	if (!rt->expiry || !rt->listener_names) {
		cg_runtime_free(rt);
		return NULL;
	}
	for (i = 0; rt->tls && i < rt->s->nlisteners; i++) {
		const struct cg_listener_cfg *l = &rt->s->listeners[i];
		struct cg_tls_server ts = {l->certificate, l->key, l->client_ca, l->crl,
		                           l->require_client};
		char err[512], what[300];

		rt->tls[i] = cg_tls_server_ctx(&ts, err, sizeof(err));
		if (!rt->tls[i]) {
			cg_log(CG_LOG_ERROR, "listener %s:%d: %s", l->address, l->port, err);
			cg_runtime_free(rt);
			return NULL;
		}
		/* Read once per load: /metrics and the warnings both use them. */
		snprintf(rt->listener_names[i], sizeof(rt->listener_names[i]), "%s:%d", l->address,
		         l->port);
		snprintf(what, sizeof(what), "listener %s", rt->listener_names[i]);
		cg_tls_expiry(rt->tls[i], &rt->expiry[i].cert, &rt->expiry[i].crl);
		warn_cert(what, "the server", rt->expiry[i].cert);
		warn_crl(what, rt->expiry[i].crl);
	}
	if (!rt->tls || load_docs(rt)) {
		cg_runtime_free(rt);
		return NULL;
	}
	/* The gateway's own client certificates, one per destination that
	 * has one (libcurl reads them per call: a bad one shows only then). */
	rt->dest_cert_expiry = calloc(rt->s->ndests + 1, sizeof(*rt->dest_cert_expiry));
	rt->dest_jwks = calloc(rt->s->ndests + 1, sizeof(*rt->dest_jwks));
	if (!rt->dest_cert_expiry || !rt->dest_jwks || load_jwks(rt)) {
		cg_runtime_free(rt);
		return NULL;
	}
	for (i = 0; i < rt->s->ndests; i++) {
		const struct cg_dest_cfg *dc = &rt->s->dests[i];
		char what[300];

		if (!dc->certificate)
			continue;
		rt->dest_cert_expiry[i] = cg_tls_file_cert_expiry(dc->certificate);
		snprintf(what, sizeof(what), "destination %s", dc->name);
		warn_cert(what, "its client", rt->dest_cert_expiry[i]);
	}
	/* ndjson folders are made if missing: a registry's drop folder is
	 * part of the setup this file describes. */
	for (i = 0; i < rt->s->ndests; i++) {
		const struct cg_dest_cfg *dc = &rt->s->dests[i];

		if (dc->type == CG_DEST_NDJSON && cg_file_make_folder(dc->folder)) {
			cg_log(CG_LOG_ERROR, "destination %s: folder %s: %s", dc->name, dc->folder,
			       strerror(errno));
			cg_runtime_free(rt);
			return NULL;
		}
	}
	return rt;
}

struct cg_runtime *
cg_runtime_install(struct cg_runtime *rt)
{
	struct cg_runtime *old;

	pthread_mutex_lock(&rt_lock);
	old = current;
	current = rt;
	pthread_mutex_unlock(&rt_lock);
	return old;
}

const struct cg_static_doc *
cg_runtime_doc(const struct cg_runtime *rt, const char *type, size_t type_len, const char *id)
{
	size_t i;

	for (i = 0; i < rt->ndocs; i++) {
		const struct cg_static_doc *d = &rt->docs[i];

		if (strlen(d->type) == type_len && strncmp(d->type, type, type_len) == 0 &&
		    strcmp(d->id, id) == 0)
			return d;
	}
	return NULL;
}
