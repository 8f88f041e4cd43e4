/*
 * config_sections.c: the configuration's sections checked member by member
 * (listeners, clients, destinations, routes, limits, logging, admin; the
 * outbox in config_outbox.c), with the same member tables and value checks
 * as records (check.h), so a typo in a key gets the same "did you mean" and
 * a stable code; the files and folders they name made absolute. See
 * config_internal.h.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "config_internal.h"
#include "settings.h"

static const char *const client_modes[] = {"required", "optional", NULL};
static const char *const methods[] = {"POST", "GET", "PUT", NULL};
static const char *const accepts[] = {"record", "fhir", NULL};
static const char *const dest_types[] = {"fhir", "records", "ndjson", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};

/* The checks see the tree as const; the loader owns it and edits values. */
cJSON *
cg_ck_mut(const cJSON *n)
{
	return (cJSON *)(uintptr_t)n;
}

/* A file the configuration names: made absolute, and it must be readable. */
void
cg_ck_want_file(struct ck *k, cJSON *n, const char *name)
{
	const char *s = cg_check_string(&k->c, n, name);
	char path[PATH_MAX];

	if (!s || strstr(s, "${"))
		return; /* an unset ${NAME} was reported already */
	if (s[0] == '/')
		snprintf(path, sizeof(path), "%s", s);
	else
		snprintf(path, sizeof(path), "%s/%s", k->dir, s);
	if (access(path, R_OK) != 0) {
		cg_check_issue(&k->c, CG_C_CONFIG_FILE, n, name, 0, "cannot read %s", path);
		return;
	}
	cJSON_SetValuestring(n, path);
}

/* A folder for output: made absolute; created later, so only its form. */
void
cg_ck_want_folder(struct ck *k, cJSON *n, const char *name)
{
	const char *s = cg_check_string(&k->c, n, name);
	char path[PATH_MAX];

	if (!s)
		return;
	snprintf(path, sizeof(path), "%s%s%s", s[0] == '/' ? "" : k->dir, s[0] == '/' ? "" : "/",
	         s);
	cJSON_SetValuestring(n, path);
}

/* ---- sections --------------------------------------------------------- */

enum { L_ADDRESS, L_PORT, L_CERT, L_KEY, L_CA, L_CLIENT, L_CRL, L__N };
static const struct cg_member listener_spec[] = {{"address", 1},     {"port", 1},
                                                 {"certificate", 1}, {"key", 1},
                                                 {"client_ca", 1},   {"client_certificate", 0},
                                                 {"crl", 0}};

static void
check_listeners(struct ck *k, const cJSON *n)
{
	const cJSON *it;
	size_t i = 0, mark;

	if (!cg_check_array(&k->c, n, "listeners"))
		return;
	mark = cg_check_push_key(&k->c, "listeners");
	cJSON_ArrayForEach(it, n)
	{
		const cJSON *f[L__N];
		size_t im = cg_check_push_index(&k->c, i++);
		long port;

		if (cg_check_members(&k->c, it, NULL, listener_spec, L__N, f) == 0) {
			if (f[L_ADDRESS])
				cg_check_string(&k->c, f[L_ADDRESS], "address");
			if (f[L_PORT])
				cg_check_integer(&k->c, f[L_PORT], "port", 1, 65535, &port);
			if (f[L_CERT])
				cg_ck_want_file(k, cg_ck_mut(f[L_CERT]), "certificate");
			if (f[L_KEY])
				cg_ck_want_file(k, cg_ck_mut(f[L_KEY]), "key");
			if (f[L_CA])
				cg_ck_want_file(k, cg_ck_mut(f[L_CA]), "client_ca");
			if (f[L_CRL])
				cg_ck_want_file(k, cg_ck_mut(f[L_CRL]), "crl");
			if (f[L_CLIENT])
				cg_check_enum(&k->c, f[L_CLIENT], "client_certificate",
				              client_modes);
		}
		cg_check_pop(&k->c, im);
	}
	cg_check_pop(&k->c, mark);
}

enum { M_SAN_DNS, M_SUBJECT_CN, M__N };
static const struct cg_member match_spec[] = {{"san_dns", 0}, {"subject_cn", 0}};
static const struct cg_member client_spec[] = {{"match", 1}};

static void
check_clients(struct ck *k, const cJSON *n)
{
	const cJSON *it;
	size_t mark;

	if (!cJSON_IsObject(n)) {
		cg_check_issue(&k->c, CG_C_TYPE, n, "clients", 0,
		               "must be a mapping of client names to identities");
		return;
	}
	mark = cg_check_push_key(&k->c, "clients");
	cJSON_ArrayForEach(it, n)
	{
		const cJSON *f[1], *m[M__N];
		size_t im = cg_check_push_key(&k->c, it->string);

		if (cg_check_members(&k->c, it, NULL, client_spec, 1, f) == 0 && f[0] &&
		    cg_check_members(&k->c, f[0], "match", match_spec, M__N, m) == 0) {
			size_t mm = cg_check_push_key(&k->c, "match");

			if (!m[M_SAN_DNS] == !m[M_SUBJECT_CN])
				cg_check_issue(&k->c, CG_C_REQUIRED, f[0], NULL, 0,
				               "give exactly one of san_dns and subject_cn");
			if (m[M_SAN_DNS])
				cg_check_string(&k->c, m[M_SAN_DNS], "san_dns");
			if (m[M_SUBJECT_CN])
				cg_check_string(&k->c, m[M_SUBJECT_CN], "subject_cn");
			cg_check_pop(&k->c, mm);
		}
		cg_check_pop(&k->c, im);
	}
	cg_check_pop(&k->c, mark);
}

static const struct cg_member dest_spec[] = {{"type", 1},
                                             {"url", 0},
                                             {"folder", 0},
                                             {"certificate", 0},
                                             {"key", 0},
                                             {"ca", 0},
                                             {"format", 0},
                                             {"timeout_ms", 0},
                                             {"mode", 0},
                                             {"delivery", 0},
                                             {"registry_id", 0},
                                             {"consent", 0},
                                             {"identity", 0},
                                             {"pseudonym_system", 0},
                                             {"pseudonym_key", 0},
                                             {"deidentify", 0},
                                             {"dates", 0},
                                             {"shift_days", 0},
                                             {"auth", 0},
                                             {"proxy", 0},
                                             {"no_proxy", 0},
                                             {"proxy_auth", 0},
                                             {"create", 0},
                                             {"update_changed", 0},
                                             {"subject", 0},
                                             {"subject_system", 0},
                                             {"create_patient", 0},
                                             {"max_entries", 0},
                                             {"max_observations", 0},
                                             {"tags", 0}};
static const char *const formats[] = {"record", "fhir", NULL};
static const char *const modes[] = {"queue", "direct", NULL};

/* How the outbox's forwarder delivers to a queue-mode destination: each
 * key's range, the defaults in settings.c. */
static const struct cg_member delivery_spec[] = {
        {"concurrency", 0},        {"batch_items", 0},    {"batch_bytes", 0},  {"linger_ms", 0},
        {"backoff_initial_ms", 0}, {"backoff_max_ms", 0}, {"max_attempts", 0}, {"max_age_s", 0}};
static const double delivery_range[][2] = {{1, 64},      {1, 1000},    {1024, 67108864},
                                           {0, 10000},   {1, 3600000}, {1, 86400000},
                                           {1, 1000000}, {1, 31536000}};
#define NDELIVERY (sizeof(delivery_spec) / sizeof(delivery_spec[0]))

/* A section of whole numbers, each key in its range (range NULL: 1 to
 * 10^12 for all). */
static void
check_numbers(struct ck *k, const cJSON *n, const char *section, const struct cg_member *spec,
              const double (*range)[2], size_t count)
{
	const cJSON *f[16];
	size_t i, mark;
	long v;

	if (count > sizeof(f) / sizeof(f[0]) || cg_check_members(&k->c, n, section, spec, count, f))
		return;
	mark = cg_check_push_key(&k->c, section);
	for (i = 0; i < count; i++)
		if (f[i])
			cg_check_integer(&k->c, f[i], spec[i].name, range ? range[i][0] : 1,
			                 range ? range[i][1] : 1e12, &v);
	cg_check_pop(&k->c, mark);
}

static void
check_delivery(struct ck *k, const cJSON *n)
{
	check_numbers(k, n, "delivery", delivery_spec, delivery_range, NDELIVERY);
}

void
cg_ck_destinations(struct ck *k, const cJSON *n)
{
	const cJSON *it;
	size_t mark;

	if (!cJSON_IsObject(n)) {
		cg_check_issue(&k->c, CG_C_TYPE, n, "destinations", 0,
		               "must be a mapping of destination names to destinations");
		return;
	}
	mark = cg_check_push_key(&k->c, "destinations");
	cJSON_ArrayForEach(it, n)
	{
		const cJSON *f[D__N];
		size_t im = cg_check_push_key(&k->c, it->string);
		int type;

		if (cg_check_members(&k->c, it, NULL, dest_spec, D__N, f) == 0 && f[D_TYPE] &&
		    (type = cg_check_enum(&k->c, f[D_TYPE], "type", dest_types)) >= 0) {
			if (type == 2) { /* ndjson: a folder, nothing else */
				if (!f[D_FOLDER])
					cg_check_issue(&k->c, CG_C_REQUIRED, it, "folder", 0,
					               "an ndjson destination needs a folder");
				else
					cg_ck_want_folder(k, cg_ck_mut(f[D_FOLDER]), "folder");
				if (f[D_URL])
					cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_URL], "url", 0,
					               "an ndjson destination has no url");
				if (f[D_FORMAT])
					cg_check_enum(&k->c, f[D_FORMAT], "format", formats);
				if (f[D_TIMEOUT])
					cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_TIMEOUT],
					               "timeout_ms", 0,
					               "an ndjson destination has no timeout");
				/* Its writer fsyncs before the answer: it is its own
				 * durable store, with nothing to retry. */
				if (f[D_MODE] &&
				    cg_check_enum(&k->c, f[D_MODE], "mode", modes) == 0)
					cg_check_issue(
					        &k->c, CG_C_NOT_ALLOWED, f[D_MODE], "mode", 0,
					        "an ndjson destination stores directly: it has "
					        "no queue mode");
				if (f[D_DELIVERY])
					cg_check_issue(
					        &k->c, CG_C_NOT_ALLOWED, f[D_DELIVERY], "delivery",
					        0,
					        "an ndjson destination has no delivery settings");
			} else {
				const char *u =
				        f[D_URL] ? cg_check_string(&k->c, f[D_URL], "url") : NULL;

				if (!f[D_URL] && !k->policy_only)
					cg_check_issue(&k->c, CG_C_REQUIRED, it, "url", 0,
					               "a %s destination needs a url",
					               dest_types[type]);
				else if (u && strncmp(u, "https://", 8) != 0 &&
				         strncmp(u, "http://", 7) != 0)
					cg_check_issue(&k->c, CG_C_URI, f[D_URL], "url", 0,
					               "must be an http:// or https:// URL");
				else if (u && strlen(u) > CG_DEST_URL_MAX)
					cg_check_issue(
					        &k->c, CG_C_RANGE, f[D_URL], "url", 0,
					        "a destination URL has at most %d characters",
					        CG_DEST_URL_MAX);
				if (f[D_FOLDER])
					cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_FOLDER],
					               "folder", 0,
					               "only ndjson destinations have a folder");
				if (f[D_FORMAT])
					cg_check_issue(
					        &k->c, CG_C_NOT_ALLOWED, f[D_FORMAT], "format", 0,
					        "the type of a %s destination says its format",
					        dest_types[type]);
				if (f[D_TIMEOUT]) {
					long v;

					cg_check_integer(&k->c, f[D_TIMEOUT], "timeout_ms", 1,
					                 3600000, &v);
				}
				if (f[D_MODE] &&
				    cg_check_enum(&k->c, f[D_MODE], "mode", modes) == 0)
					k->queued = 1;
				else if (!f[D_MODE])
					k->queued = 1; /* queue is the default */
				if (f[D_DELIVERY])
					check_delivery(k, f[D_DELIVERY]);
			}
			cg_ck_consent(k, it, f[D_REGISTRY], f[D_CONSENT]);
			cg_ck_auth(k, it, f, type);
			cg_ck_policy(k, it, f, type,
			             type != 2 && (!f[D_MODE] || !cJSON_GetStringValue(f[D_MODE]) ||
			                           !strcmp(f[D_MODE]->valuestring, "queue")));
			if (f[D_CERT])
				cg_ck_want_file(k, cg_ck_mut(f[D_CERT]), "certificate");
			if (f[D_KEY])
				cg_ck_want_file(k, cg_ck_mut(f[D_KEY]), "key");
			if (f[D_CA])
				cg_ck_want_file(k, cg_ck_mut(f[D_CA]), "ca");
		}
		cg_check_pop(&k->c, im);
	}
	cg_check_pop(&k->c, mark);
}

enum { R_METHOD, R_PATH, R_ACCEPT, R_CLIENTS, R_DEST, R__N };
static const struct cg_member route_spec[] = {
        {"method", 1}, {"path", 1}, {"accept", 1}, {"clients", 1}, {"destination", 0}};

static void
check_routes(struct ck *k, const cJSON *n)
{
	const cJSON *it;
	size_t i = 0, mark;

	if (!cg_check_array(&k->c, n, "routes"))
		return;
	mark = cg_check_push_key(&k->c, "routes");
	cJSON_ArrayForEach(it, n)
	{
		const cJSON *f[R__N];
		size_t im = cg_check_push_index(&k->c, i++);

		if (cg_check_members(&k->c, it, NULL, route_spec, R__N, f) == 0) {
			const char *p =
			        f[R_PATH] ? cg_check_string(&k->c, f[R_PATH], "path") : NULL;
			const char *dest =
			        f[R_DEST] ? cg_check_string(&k->c, f[R_DEST], "destination") : NULL;
			const cJSON *c;
			size_t j = 0;

			if (f[R_METHOD])
				cg_check_enum(&k->c, f[R_METHOD], "method", methods);
			if (p && p[0] != '/')
				cg_check_issue(&k->c, CG_C_PATTERN, f[R_PATH], "path", 0,
				               "a route path starts with /");
			if (f[R_ACCEPT])
				cg_check_enum(&k->c, f[R_ACCEPT], "accept", accepts);
			if (dest && !cg_json_member(k->destinations, dest))
				cg_check_issue(&k->c, CG_C_CONFIG_REFERENCE, f[R_DEST],
				               "destination", 0, "no destination is called %s",
				               dest);
			if (f[R_CLIENTS] && cg_check_array(&k->c, f[R_CLIENTS], "clients")) {
				size_t cm = cg_check_push_key(&k->c, "clients");

				cJSON_ArrayForEach(c, f[R_CLIENTS])
				{
					size_t ci = cg_check_push_index(&k->c, j++);
					const char *name = cg_check_string(&k->c, c, NULL);

					if (name && !cg_json_member(k->clients, name))
						cg_check_issue(&k->c, CG_C_CONFIG_REFERENCE, c,
						               NULL, 0, "no client is called %s",
						               name);
					cg_check_pop(&k->c, ci);
				}
				cg_check_pop(&k->c, cm);
			}
		}
		cg_check_pop(&k->c, im);
	}
	cg_check_pop(&k->c, mark);
}

static const struct cg_member limits_spec[] = {
        {"max_body_bytes", 0},  {"max_header_bytes", 0},    {"header_timeout_ms", 0},
        {"body_timeout_ms", 0}, {"idle_timeout_ms", 0},     {"max_connections", 0},
        {"max_handshakes", 0},  {"handshake_timeout_ms", 0}};
#define NLIMITS (sizeof(limits_spec) / sizeof(limits_spec[0]))

static void
check_limits(struct ck *k, const cJSON *n)
{
	check_numbers(k, n, "limits", limits_spec, NULL, NLIMITS);
}

enum { G_LEVEL, G_AUDIT, G__N };
static const struct cg_member logging_spec[] = {{"level", 0}, {"audit", 0}};

enum {
	C_LISTENERS,
	C_CLIENTS,
	C_ROUTES,
	C_DESTS,
	C_LIMITS,
	C_LOGGING,
	C_BASE,
	C_WORKERS,
	C_ADMIN,
	C_OUTBOX,
	C_INVARIANTS,
	C__N
};
static const struct cg_member config_spec[] = {
        {"listeners", 1}, {"clients", 1}, {"routes", 1},         {"destinations", 1},
        {"limits", 0},    {"logging", 0}, {"canonical_base", 0}, {"workers", 0},
        {"admin", 0},     {"outbox", 0},  {"fhir_invariants", 0}};

enum { A_ADDRESS, A_PORT, A__N };
static const struct cg_member admin_spec[] = {{"address", 0}, {"port", 1}};

/* The admin listener: plain HTTP for probes and scrapers (address defaults
 * to 127.0.0.1). */
static void
check_admin(struct ck *k, const cJSON *n)
{
	const cJSON *f[A__N];
	size_t mark;
	long port;

	if (cg_check_members(&k->c, n, "admin", admin_spec, A__N, f))
		return;
	mark = cg_check_push_key(&k->c, "admin");
	if (f[A_ADDRESS])
		cg_check_string(&k->c, f[A_ADDRESS], "address");
	if (f[A_PORT])
		cg_check_integer(&k->c, f[A_PORT], "port", 1, 65535, &port);
	cg_check_pop(&k->c, mark);
}

void
cg_ck_config(struct ck *k, cJSON *root)
{
	const cJSON *f[C__N];

	cg_ck_expand_env(k, root);
	if (cg_check_members(&k->c, root, NULL, config_spec, C__N, f))
		return;
	k->clients = f[C_CLIENTS];
	k->destinations = f[C_DESTS];
	if (f[C_LISTENERS])
		check_listeners(k, f[C_LISTENERS]);
	if (f[C_CLIENTS])
		check_clients(k, f[C_CLIENTS]);
	if (f[C_DESTS])
		cg_ck_destinations(k, f[C_DESTS]);
	if (f[C_ROUTES])
		check_routes(k, f[C_ROUTES]);
	if (f[C_LIMITS])
		check_limits(k, f[C_LIMITS]);
	if (f[C_LOGGING]) {
		const cJSON *g[G__N];

		if (cg_check_members(&k->c, f[C_LOGGING], "logging", logging_spec, G__N, g) == 0) {
			size_t mark = cg_check_push_key(&k->c, "logging");

			if (g[G_LEVEL])
				cg_check_enum(&k->c, g[G_LEVEL], "level", levels);
			if (g[G_AUDIT])
				cg_ck_want_folder(k, cg_ck_mut(g[G_AUDIT]), "audit");
			cg_check_pop(&k->c, mark);
		}
	}
	if (f[C_BASE])
		cg_check_uri(&k->c, f[C_BASE], "canonical_base");
	if (f[C_WORKERS]) {
		long v;

		cg_check_integer(&k->c, f[C_WORKERS], "workers", 1, 64, &v);
	}
	if (f[C_INVARIANTS]) {
		int b;

		cg_check_bool(&k->c, f[C_INVARIANTS], "fhir_invariants", &b);
	}
	if (f[C_ADMIN])
		check_admin(k, f[C_ADMIN]);
	else if (f[C_DESTS]) { /* a JWKS is served on the admin listener only */
		const cJSON *d;

		cJSON_ArrayForEach(d, f[C_DESTS])
		{
			const cJSON *jp = cg_json_member(cg_json_member(d, "auth"), "jwks_path");

			if (jp) {
				size_t mark = cg_check_push_key(&k->c, "destinations");

				cg_check_push_key(&k->c, d->string);
				cg_check_push_key(&k->c, "auth");
				cg_check_issue(&k->c, CG_C_REQUIRED, jp, "jwks_path", 0,
				               "the JWKS is served on the admin listener: "
				               "configure admin");
				cg_check_pop(&k->c, mark);
			}
		}
	}
	cg_ck_outbox(k, root, f[C_OUTBOX]);
}
