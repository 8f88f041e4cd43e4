/* config_auth.c: how an http destination is reached (issue 13,
 * docs/destinations.md): its authentication and an outbound proxy; see
 * config_internal.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "config_internal.h"
#include "settings.h"

enum {
	A_TYPE,
	A_TOKEN_URL,
	A_CLIENT_ID,
	A_SECRET,
	A_METHOD,
	A_SCOPE,
	A_KEY,
	A_KID,
	A_ALG,
	A_JWKS,
	A_CA,
	A__N
};
static const struct cg_member auth_spec[] = {
        {"type", 1},   {"token_url", 0}, {"client_id", 0},   {"client_secret", 0},
        {"method", 0}, {"scope", 0},     {"private_key", 0}, {"kid", 0},
        {"alg", 0},    {"jwks_path", 0}, {"ca", 0}};
static const char *const auth_types[] = {"mtls", "oauth2-client-credentials", "smart-backend",
                                         NULL};
static const char *const methods[] = {"client_secret_basic", "client_secret_post", NULL};
static const char *const algs[] = {"RS384", "ES384", NULL};

static int
is_url(const char *u)
{
	return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0);
}

static void
need(struct ck *k, const cJSON *auth, const cJSON *v, const char *name, const char *why)
{
	if (!v)
		cg_check_issue(&k->c, CG_C_REQUIRED, auth, name, 0, "%s", why);
}

static void
refuse(struct ck *k, const cJSON *v, const char *name, const char *why)
{
	if (v)
		cg_check_issue(&k->c, CG_C_NOT_ALLOWED, v, name, 0, "%s", why);
}

static void
check_auth(struct ck *k, const cJSON *auth)
{
	const cJSON *f[A__N];
	size_t mark;
	int t;

	if (cg_check_members(&k->c, auth, "auth", auth_spec, A__N, f))
		return;
	mark = cg_check_push_key(&k->c, "auth");
	t = f[A_TYPE] ? cg_check_enum(&k->c, f[A_TYPE], "type", auth_types) : -1;
	if (f[A_TOKEN_URL] && !is_url(cg_check_string(&k->c, f[A_TOKEN_URL], "token_url")))
		cg_check_issue(&k->c, CG_C_URI, f[A_TOKEN_URL], "token_url", 0,
		               "must be an https:// (or http://) URL");
	if (f[A_JWKS]) {
		const char *p = cg_check_string(&k->c, f[A_JWKS], "jwks_path");

		if (p && p[0] != '/')
			cg_check_issue(&k->c, CG_C_PATTERN, f[A_JWKS], "jwks_path", 0,
			               "a path on the admin listener, from /");
	}
	if (f[A_METHOD])
		cg_check_enum(&k->c, f[A_METHOD], "method", methods);
	if (f[A_ALG])
		cg_check_enum(&k->c, f[A_ALG], "alg", algs);
	if (f[A_SCOPE])
		cg_check_string(&k->c, f[A_SCOPE], "scope");
	if (f[A_CLIENT_ID])
		cg_check_string(&k->c, f[A_CLIENT_ID], "client_id");
	if (f[A_SECRET])
		cg_check_string(&k->c, f[A_SECRET], "client_secret");
	if (f[A_KID])
		cg_check_string(&k->c, f[A_KID], "kid");
	if (f[A_KEY])
		cg_ck_want_file(k, cg_ck_mut(f[A_KEY]), "private_key");
	if (f[A_CA])
		cg_ck_want_file(k, cg_ck_mut(f[A_CA]), "ca");
	if (t == 0) { /* mtls: the destination's certificate does it all */
		refuse(k, f[A_TOKEN_URL], "token_url", "mtls has no token endpoint");
		refuse(k, f[A_SECRET], "client_secret", "mtls has no client secret");
		refuse(k, f[A_KEY], "private_key",
		       "mtls signs nothing: the certificate's key is key");
	} else if (t > 0) {
		need(k, auth, f[A_TOKEN_URL], "token_url", "the token endpoint's URL");
		need(k, auth, f[A_CLIENT_ID], "client_id", "the client id the registry gave");
	}
	if (t == 1) {
		need(k, auth, f[A_SECRET], "client_secret",
		     "oauth2-client-credentials needs client_secret (use ${NAME} for the secret)");
		refuse(k, f[A_KEY], "private_key", "a private key is for smart-backend");
		refuse(k, f[A_JWKS], "jwks_path", "a JWKS is for smart-backend");
	} else if (t == 2) {
		need(k, auth, f[A_KEY], "private_key",
		     "smart-backend signs its assertions with private_key (RSA for RS384, P-384 "
		     "for ES384)");
		need(k, auth, f[A_KID], "kid", "the key id the registry knows the key by");
		refuse(k, f[A_SECRET], "client_secret", "smart-backend has no client secret");
		refuse(k, f[A_METHOD], "method",
		       "smart-backend authenticates with private_key_jwt");
	}
	cg_check_pop(&k->c, mark);
}

static const char *const creates[] = {"conditional", "search-then-create", "plain", NULL};
static const char *const subjects[] = {"identifier", "resolve", NULL};

/* A list of codings: [{system, code, display?}]. */
static void
check_codings(struct ck *k, const cJSON *list, const char *name)
{
	static const struct cg_member coding_spec[] = {{"system", 1}, {"code", 1}, {"display", 0}};
	const cJSON *c, *f[3];
	size_t mark, i = 0;

	if (!cg_check_array(&k->c, list, name))
		return;
	if (cJSON_GetArraySize(list) > CG_TAGS_MAX)
		cg_check_issue(&k->c, CG_C_RANGE, list, name, 0, "at most %d codings", CG_TAGS_MAX);
	mark = cg_check_push_key(&k->c, name);
	cJSON_ArrayForEach(c, list)
	{
		size_t im = cg_check_push_index(&k->c, i++);

		if (cg_check_members(&k->c, c, NULL, coding_spec, 3, f) == 0) {
			if (f[0])
				cg_check_uri(&k->c, f[0], "system");
			if (f[1])
				cg_check_string(&k->c, f[1], "code");
			if (f[2])
				cg_check_string(&k->c, f[2], "display");
		}
		cg_check_pop(&k->c, im);
	}
	cg_check_pop(&k->c, mark);
}

/* How a FHIR server wants to be spoken to: create and subject modes, Bundle
 * caps and tags on every resource (docs/destinations.md). */
static void
check_fhir_rules(struct ck *k, const cJSON *const *f, int type)
{
	static const struct cg_member tags_spec[] = {{"security", 0}, {"tag", 0}};
	const char *const only = "for fhir destinations";
	int c = -1, sj = -1;
	long v;

	if (type != 0) {
		refuse(k, f[D_CREATE], "create", only);
		refuse(k, f[D_UPDATE_CHANGED], "update_changed", only);
		refuse(k, f[D_SUBJECT], "subject", only);
		refuse(k, f[D_SUBJECT_SYSTEM], "subject_system", only);
		refuse(k, f[D_CREATE_PATIENT], "create_patient", only);
		refuse(k, f[D_MAX_ENTRIES], "max_entries", only);
		refuse(k, f[D_MAX_OBSERVATIONS], "max_observations", only);
		refuse(k, f[D_TAGS], "tags", only);
		return;
	}
	if (f[D_CREATE])
		c = cg_check_enum(&k->c, f[D_CREATE], "create", creates);
	if (f[D_SUBJECT])
		sj = cg_check_enum(&k->c, f[D_SUBJECT], "subject", subjects);
	if (f[D_UPDATE_CHANGED]) {
		int b;

		if (cg_check_bool(&k->c, f[D_UPDATE_CHANGED], "update_changed", &b) == 0 && c != 1)
			refuse(k, f[D_UPDATE_CHANGED], "update_changed",
			       "update_changed is for create: search-then-create");
	}
	if (f[D_CREATE_PATIENT]) {
		int b;

		if (cg_check_bool(&k->c, f[D_CREATE_PATIENT], "create_patient", &b) == 0 && sj != 1)
			refuse(k, f[D_CREATE_PATIENT], "create_patient",
			       "create_patient is for subject: resolve");
	}
	if (f[D_SUBJECT_SYSTEM] &&
	    cg_check_uri(&k->c, f[D_SUBJECT_SYSTEM], "subject_system") == 0 && sj != 1)
		refuse(k, f[D_SUBJECT_SYSTEM], "subject_system",
		       "subject_system is for subject: resolve");
	if (f[D_MAX_ENTRIES])
		cg_check_integer(&k->c, f[D_MAX_ENTRIES], "max_entries", 2, 100000, &v);
	if (f[D_MAX_OBSERVATIONS])
		cg_check_integer(&k->c, f[D_MAX_OBSERVATIONS], "max_observations", 1, 100000, &v);
	if (f[D_TAGS]) {
		const cJSON *t[2];
		size_t mark;

		if (cg_check_members(&k->c, f[D_TAGS], "tags", tags_spec, 2, t) == 0) {
			mark = cg_check_push_key(&k->c, "tags");
			if (t[0])
				check_codings(k, t[0], "security");
			if (t[1])
				check_codings(k, t[1], "tag");
			cg_check_pop(&k->c, mark);
		}
	}
}

void
cg_ck_auth(struct ck *k, const cJSON *it, const cJSON *const *f, int type)
{
	check_fhir_rules(k, f, type);
	if (type == 2) {
		refuse(k, f[D_AUTH], "auth", "an ndjson destination is a folder");
		refuse(k, f[D_PROXY], "proxy", "an ndjson destination is a folder");
		refuse(k, f[D_NO_PROXY], "no_proxy", "an ndjson destination is a folder");
		refuse(k, f[D_PROXY_AUTH], "proxy_auth", "an ndjson destination is a folder");
		return;
	}
	if (f[D_AUTH])
		check_auth(k, f[D_AUTH]);
	if (f[D_PROXY]) {
		const char *p = cg_check_string(&k->c, f[D_PROXY], "proxy");

		if (p && strncmp(p, "http://", 7) != 0)
			cg_check_issue(&k->c, CG_C_URI, f[D_PROXY], "proxy", 0,
			               "an http:// proxy URL (HTTPS goes through it by CONNECT)");
	}
	if (f[D_NO_PROXY])
		cg_check_string(&k->c, f[D_NO_PROXY], "no_proxy");
	if (f[D_PROXY_AUTH]) {
		const char *a = cg_check_string(&k->c, f[D_PROXY_AUTH], "proxy_auth");

		if (a && !strchr(a, ':'))
			cg_check_issue(&k->c, CG_C_PATTERN, f[D_PROXY_AUTH], "proxy_auth", 0,
			               "USER:PASSWORD (from ${NAME}: a secret)");
		if (!f[D_PROXY])
			cg_check_issue(&k->c, CG_C_NOT_ALLOWED, f[D_PROXY_AUTH], "proxy_auth", 0,
			               "proxy_auth goes with proxy");
	}
	(void)it;
}
