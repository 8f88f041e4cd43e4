/* cli_check_destination.c: `cellgate check-destination`; see
 * cli_check_destination.h. It goes the gateway's own way (dest.h: the same
 * libcurl settings, proxy, token cache and 401 recovery) on a loop of its
 * own, and says what it found a line at a time. */
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "cli_check_destination.h"
#include "cli_common.h"
#include "config.h"
#include "dest.h"
#include "json_member.h"
#include "settings.h"

struct args {
	const char *config;
	int help;
};

static const struct cg_cli_opt options[] = {
        {"config", 'f', CG_CLI_STRING, offsetof(struct args, config), "FILE",
         "(required) the gateway's configuration", 0, 0, NULL},
        {"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0, NULL},
        {NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL},
};

static const struct cg_cli_cmd command = {
        "cellgate check-destination",
        "--config FILE NAME",
        "Checks, before any patient data is sent, that destination NAME can be\n"
        "reached as configured (its host resolves; through its proxy; TLS with its\n"
        "certificate and CA; its credentials get a token) and that its FHIR\n"
        "server's CapabilityStatement supports what the destination needs: FHIR\n"
        "R4, transactions, create of each resource type sent, and conditional\n"
        "create. Sends no resource. Exit status: 0 all there, 1 something the\n"
        "destination needs is missing or refused, 2 usage or I/O error.\n",
        options,
};

struct probe {
	struct event_base *base;
	int done;
};

static void
on_done(struct cg_delivery *d, void *arg)
{
	struct probe *p = arg;

	(void)d;
	p->done = 1;
	event_base_loopbreak(p->base);
}

static int failures;

static void
say(int ok, const char *what, const char *detail)
{
	printf("%-4s %s%s%s\n",
	       ok > 0    ? "ok"
	       : ok == 0 ? "FAIL"
	                 : "note",
	       what, detail && *detail ? ": " : "", detail ? detail : "");
	if (ok == 0)
		failures++;
}

/* The host of url resolved, as libcurl will (unless a proxy does it). */
static void
resolve(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, addr[64] = "", line[400];
	struct addrinfo *ai = NULL, hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		say(0, "url", "cannot be parsed");
	} else if (getaddrinfo(host[0] == '[' ? host + 1 : host, NULL, &hints, &ai) != 0 || !ai) {
		snprintf(line, sizeof(line), "%s does not resolve", host);
		say(0, "resolve", line);
	} else {
		void *a = ai->ai_family == AF_INET
		                  ? (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
		                  : (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		inet_ntop(ai->ai_family, a, addr, sizeof(addr));
		snprintf(line, sizeof(line), "%s is %s", host, addr);
		say(1, "resolve", line);
	}
	if (ai)
		freeaddrinfo(ai);
	curl_free(host);
	curl_url_cleanup(u);
}

/* Whether rest[0].resource[type=T] has interaction code C. */
static int
has_interaction(const cJSON *res, const char *code)
{
	const cJSON *i;

	cJSON_ArrayForEach(i, cg_json_member(res, "interaction"))
	{
		const char *c = cJSON_GetStringValue(cg_json_member(i, "code"));

		if (c && !strcmp(c, code))
			return 1;
	}
	return 0;
}

static const cJSON *
resource(const cJSON *rest, const char *type)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, cg_json_member(rest, "resource"))
	{
		const char *t = cJSON_GetStringValue(cg_json_member(r, "type"));

		if (t && !strcmp(t, type))
			return r;
	}
	return NULL;
}

/* Whether resource r can be searched by identifier. */
static int
searchable(const cJSON *r)
{
	const cJSON *sp;

	if (!has_interaction(r, "search-type"))
		return 0;
	cJSON_ArrayForEach(sp, cg_json_member(r, "searchParam"))
	{
		const char *n = cJSON_GetStringValue(cg_json_member(sp, "name"));

		if (n && !strcmp(n, "identifier"))
			return 1;
	}
	return 0;
}

static void
check_capabilities(const struct cg_dest_cfg *d, const cJSON *cs)
{
	static const char *const sent[] = {"Procedure", "Observation", "Provenance", NULL};
	const struct cg_fhir_rules *rules = &d->rules;
	const cJSON *rest = cJSON_GetArrayItem(cg_json_member(cs, "rest"), 0), *i, *pat;
	const char *v = cJSON_GetStringValue(cg_json_member(cs, "fhirVersion"));
	char line[300];
	int tx = 0;
	size_t k;

	snprintf(line, sizeof(line), "fhirVersion %s", v ? v : "(none)");
	say(v && !strncmp(v, "4.0", 3), "FHIR R4", line);
	cJSON_ArrayForEach(i, cg_json_member(rest, "interaction"))
	{
		const char *c = cJSON_GetStringValue(cg_json_member(i, "code"));

		tx |= c && !strcmp(c, "transaction");
	}
	say(tx, "transaction",
	    tx ? "supported (records go as transaction Bundles)"
	       : "not listed: records are sent as transaction Bundles");
	for (k = 0; sent[k]; k++) {
		const cJSON *r = resource(rest, sent[k]);
		const char *cc = cJSON_GetStringValue(cg_json_member(r, "conditionalCreate"));
		int cond = cJSON_IsTrue(cg_json_member(r, "conditionalCreate")) ||
		           (cc && strcasecmp(cc, "false") != 0);
		int prov = !strcmp(sent[k], "Provenance"); /* has no identifier: created plainly */

		snprintf(line, sizeof(line), "%s create", sent[k]);
		say(r && has_interaction(r, "create"), line,
		    r ? (has_interaction(r, "create") ? "supported" : "not among its interactions")
		      : "the type is not in the CapabilityStatement");
		if (!r || prov)
			continue;
		if (rules->create == CG_CREATE_CONDITIONAL) {
			snprintf(line, sizeof(line), "%s conditional create", sent[k]);
			say(cond ? 1 : 0, line,
			    cond ? "supported (resends are absorbed by ifNoneExist)"
			         : "not supported: set create: search-then-create (or plain)");
		} else if (rules->create == CG_CREATE_SEARCH) {
			snprintf(line, sizeof(line), "%s search by identifier", sent[k]);
			say(searchable(r), line,
			    searchable(r) ? "supported (search-then-create looks before it creates)"
			                  : "not supported: search-then-create needs it");
		}
	}
	if (rules->resolve_subject) {
		pat = resource(rest, "Patient");
		say(pat && searchable(pat), "Patient search by identifier",
		    pat && searchable(pat) ? "supported (subject: resolve)"
		                           : "not supported: subject: resolve needs it");
		if (rules->create_patient)
			say(pat && has_interaction(pat, "create"), "Patient create",
			    pat && has_interaction(pat, "create")
			            ? "supported (create_patient)"
			            : "not supported: create_patient needs it");
	}
	if (rules->max_entries || rules->max_observations) {
		snprintf(line, sizeof(line),
		         "Bundles cut at %zu entries, %zu Observations (0: none)",
		         rules->max_entries, rules->max_observations);
		say(-1, "caps", line);
	}
	if (rules->nsecurity || rules->ntag) {
		snprintf(line, sizeof(line), "%zu security labels and %zu tags on every resource",
		         rules->nsecurity, rules->ntag);
		say(-1, "tags", line);
	}
}

int
cg_cli_check_destination(int argc, char **argv)
{
	struct cg_config *cfg = NULL;
	struct cg_settings *s = NULL;
	const struct cg_dest_cfg *d = NULL;
	struct event_base *base = NULL;
	struct cg_dest_loop *l = NULL;
	struct cg_delivery dl;
	struct probe p;
	struct args a;
	int first, status = 2;
	size_t k;
	char line[600];

	memset(&a, 0, sizeof(a));
	if (cg_cli_parse(&command, argc, argv, &a, &first))
		return 2;
	if (a.help) {
		cg_cli_usage(stdout, &command, &a);
		return 0;
	}
	if (!a.config || first + 1 != argc) {
		fprintf(stderr,
		        "cellgate check-destination: give --config FILE and one destination\n");
		cg_cli_usage(stderr, &command, NULL);
		return 2;
	}
	if (cg_cli_load_config("cellgate check-destination", a.config, &cfg))
		return 2;
	s = cg_settings_from(cfg);
	for (k = 0; s && k < s->ndests; k++)
		if (!strcmp(s->dests[k].name, argv[first]))
			d = &s->dests[k];
	if (!d || d->type == CG_DEST_NDJSON) {
		fprintf(stderr, "cellgate check-destination: %s: %s %s\n", a.config,
		        d ? "an ndjson destination is a folder, not a server:"
		          : "no destination named",
		        argv[first]);
		goto out;
	}
	printf("destination %s: %s\n", d->name, d->url);
	resolve(d->url);
	if (d->proxy) {
		/* a user:password@ in the URL is not shown: a secret (the
		 * configuration takes http:// proxies only) */
		const char *host = strncmp(d->proxy, "http://", 7) ? d->proxy : d->proxy + 7;
		const char *at = strchr(host, '@');

		if (at && (size_t)(at - host) > strcspn(host, "/?#"))
			at = NULL;
		snprintf(line, sizeof(line), "through http://%s%s (HTTPS by CONNECT)%s%s",
		         at ? "***@" : "", at ? at + 1 : host, d->no_proxy ? "; not for " : "",
		         d->no_proxy ? d->no_proxy : "");
		say(-1, "proxy", line);
	}
	say(-1, "authentication",
	    d->auth.type == CG_AUTH_MTLS
	            ? (d->certificate ? "mutual TLS with the certificate" : "none but TLS")
	    : d->auth.type == CG_AUTH_OAUTH2
	            ? (d->auth.secret_post ? "OAuth2 client credentials, client_secret_post"
	                                   : "OAuth2 client credentials, client_secret_basic")
	            : "SMART Backend Services, private_key_jwt");
	base = event_base_new();
	l = base ? cg_dest_loop_new(base) : NULL;
	if (!l) {
		fprintf(stderr, "cellgate check-destination: out of memory\n");
		goto out;
	}
	memset(&dl, 0, sizeof(dl));
	memset(&p, 0, sizeof(p));
	p.base = base;
	dl.dest = d;
	dl.request_id = "check-destination";
	dl.done = on_done;
	dl.arg = &p;
	if (cg_dest_get(l, &dl, d->type == CG_DEST_FHIR ? "metadata" : "") == CG_OK)
		while (!p.done && event_base_dispatch(base) == 0)
			;
	else
		dl.result = CG_UP_UNREACHABLE;
	if (d->auth.type != CG_AUTH_MTLS) {
		unsigned long req, refused;

		cg_dest_loop_auth_counts(l, &req, &refused);
		say(dl.auth_failed || (!req && dl.result != CG_UP_OK) ? 0 : 1, "token",
		    dl.auth_failed ? dl.error
		    : req          ? "obtained from the token endpoint"
		                   : dl.error);
	}
	if (!dl.auth_failed) {
		if (dl.status) {
			snprintf(line, sizeof(line), "%s answered %ld",
			         d->type == CG_DEST_FHIR ? "GET metadata" : "GET", dl.status);
			say(dl.result == CG_UP_OK ? 1 : 0, "connect", line);
		} else {
			say(0, "connect", dl.error[0] ? dl.error : "no answer");
		}
	}
	if (d->type == CG_DEST_FHIR && dl.result == CG_UP_OK) {
		cJSON *cs =
		        cJSON_ParseWithLength(dl.response.p ? dl.response.p : "", dl.response.len);
		const char *rt = cJSON_GetStringValue(cg_json_member(cs, "resourceType"));

		if (rt && !strcmp(rt, "CapabilityStatement"))
			check_capabilities(d, cs);
		else
			say(0, "CapabilityStatement", "metadata did not answer with one");
		cJSON_Delete(cs);
	}
	cg_delivery_release(&dl);
	printf("%s\n", failures ? "some of what this destination needs is missing: see FAIL"
	                        : "everything this destination needs is there");
	status = failures ? 1 : 0;
out:
	cg_dest_loop_free(l);
	if (base)
		event_base_free(base);
	cg_settings_free(s);
	cg_config_free(cfg);
	return status;
}
