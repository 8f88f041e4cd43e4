/* settings.c: the checked configuration tree as structs; see settings.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "config.h"
#include "settings.h"

static const char *
str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cg_json_member(o, key));
}

static long
num(const cJSON *o, const char *key, long def)
{
	const cJSON *v = cg_json_member(o, key);

	return cJSON_IsNumber(v) ? (long)v->valuedouble : def;
}

static long long
numll(const cJSON *o, const char *key, long long def)
{
	const cJSON *v = cg_json_member(o, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : def;
}

static size_t
count(const cJSON *a)
{
	return a ? (size_t)cJSON_GetArraySize(a) : 0;
}

/* The destination's identity and de-identification; its key read now.
 * -1 when the key cannot be read (it could at the check: it changed since). */
static int
read_policy(struct cg_dest_cfg *d, const cJSON *n)
{
	struct cg_policy *p = &d->policy;
	const char *id = str(n, "identity"), *de = str(n, "deidentify"), *dm = str(n, "dates");
	char why[512];

	p->registry_id = d->registry_id;
	p->identity = !id                               ? CG_IDENTITY_KEEP
	              : !strcmp(id, "pseudonym-keyed")  ? CG_IDENTITY_KEYED
	              : !strcmp(id, "pseudonym-random") ? CG_IDENTITY_RANDOM
	                                                : CG_IDENTITY_KEEP;
	p->deidentify = de && !strcmp(de, "safe-harbor") ? CG_DEID_SAFE_HARBOR : CG_DEID_NONE;
	p->record_form = d->format == CG_PAYLOAD_RECORD;
	/* Safe Harbor's own rule is the year; a record has full dates only. */
	p->dates = dm ? (!strcmp(dm, "year") ? CG_DATES_YEAR : CG_DATES_SHIFT)
	              : (p->record_form ? CG_DATES_SHIFT : CG_DATES_YEAR);
	p->shift_days = (int)num(n, "shift_days", CG_SHIFT_DAYS_DEFAULT);
	if (str(n, "pseudonym_system"))
		snprintf(d->pseudonym_system, sizeof(d->pseudonym_system), "%s",
		         str(n, "pseudonym_system"));
	else
		snprintf(d->pseudonym_system, sizeof(d->pseudonym_system),
		         "urn:cellgate:pseudonym:%s", d->registry_id ? d->registry_id : "");
	p->pseudonym_system = d->pseudonym_system;
	if (str(n, "pseudonym_key") &&
	    cg_secret_key_load(str(n, "pseudonym_key"), &d->own_key, why, sizeof(why)) != CG_OK)
		return -1;
	p->key = d->own_key;
	return 0;
}

static void
read_auth(struct cg_dest_cfg *d, const cJSON *n)
{
	const cJSON *a = cg_json_member(n, "auth");
	const char *t = str(a, "type"), *alg = str(a, "alg"), *m = str(a, "method");
	struct cg_auth_cfg *c = &d->auth;

	c->type = !t || !strcmp(t, "mtls")                  ? CG_AUTH_MTLS
	          : !strcmp(t, "oauth2-client-credentials") ? CG_AUTH_OAUTH2
	                                                    : CG_AUTH_SMART;
	c->token_url = str(a, "token_url");
	c->client_id = str(a, "client_id");
	c->client_secret = str(a, "client_secret");
	c->scope = str(a, "scope");
	c->secret_post = m && !strcmp(m, "client_secret_post");
	c->private_key = str(a, "private_key");
	c->kid = str(a, "kid");
	c->jwks_path = str(a, "jwks_path");
	c->alg_given = alg != NULL;
	c->es384 = alg && !strcmp(alg, "ES384");
	c->ca = str(a, "ca") ? str(a, "ca") : d->ca;
	d->proxy = str(n, "proxy");
	d->no_proxy = str(n, "no_proxy");
	d->proxy_auth = str(n, "proxy_auth");
}

/* A list of codings (checked): strings point into the tree. */
static int
read_codings(const cJSON *list, struct cg_coding **out, size_t *n)
{
	const cJSON *c;
	size_t i = 0;

	*n = count(list);
	*out = NULL;
	if (!*n)
		return 0;
	*out = calloc(*n, sizeof(**out));
	if (!*out)
		return -1;
	cJSON_ArrayForEach(c, list)
	{
		(*out)[i].system = str(c, "system");
		(*out)[i].code = str(c, "code");
		(*out)[i].display = str(c, "display");
		i++;
	}
	return 0;
}

static int
read_rules(struct cg_dest_cfg *d, const cJSON *n)
{
	struct cg_fhir_rules *r = &d->rules;
	const char *c = str(n, "create"), *sj = str(n, "subject");
	const cJSON *tags = cg_json_member(n, "tags");

	r->create = !c || !strcmp(c, "conditional") ? CG_CREATE_CONDITIONAL
	            : !strcmp(c, "plain")           ? CG_CREATE_PLAIN
	                                            : CG_CREATE_SEARCH;
	r->update_changed = cJSON_IsTrue(cg_json_member(n, "update_changed"));
	r->resolve_subject = sj && !strcmp(sj, "resolve");
	r->subject_system = str(n, "subject_system");
	r->create_patient = cJSON_IsTrue(cg_json_member(n, "create_patient"));
	r->max_entries = (size_t)num(n, "max_entries", 0);
	r->max_observations = (size_t)num(n, "max_observations", 0);
	if (read_codings(cg_json_member(tags, "security"), &r->security, &r->nsecurity) ||
	    read_codings(cg_json_member(tags, "tag"), &r->tag, &r->ntag))
		return -1;
	return 0;
}

static int
read_dest(struct cg_dest_cfg *d, const cJSON *n)
{
	const char *type = str(n, "type"), *format = str(n, "format");
	const cJSON *dl;

	d->name = n->string;
	d->type = strcmp(type, "fhir") == 0      ? CG_DEST_FHIR
	          : strcmp(type, "records") == 0 ? CG_DEST_RECORDS
	                                         : CG_DEST_NDJSON;
	d->url = str(n, "url");
	d->folder = str(n, "folder");
	d->certificate = str(n, "certificate");
	d->key = str(n, "key");
	d->ca = str(n, "ca");
	d->format = d->type == CG_DEST_FHIR                 ? CG_PAYLOAD_FHIR
	            : d->type == CG_DEST_RECORDS            ? CG_PAYLOAD_RECORD
	            : format && strcmp(format, "fhir") == 0 ? CG_PAYLOAD_FHIR
	                                                    : CG_PAYLOAD_RECORD;
	d->timeout_ms = num(n, "timeout_ms", 30000);
	d->queued = d->type != CG_DEST_NDJSON &&
	            (!str(n, "mode") || strcmp(str(n, "mode"), "queue") == 0);
	d->registry_id = str(n, "registry_id");
	d->consent_required = str(n, "consent") && strcmp(str(n, "consent"), "required") == 0;
	if (read_policy(d, n))
		return -1;
	read_auth(d, n);
	if (read_rules(d, n))
		return -1;
	dl = cg_json_member(n, "delivery");
	d->delivery.concurrency = (int)num(dl, "concurrency", 4);
	d->delivery.batch_items = (size_t)num(dl, "batch_items", 50);
	d->delivery.batch_bytes = (size_t)num(dl, "batch_bytes", 4L << 20);
	d->delivery.linger_ms = num(dl, "linger_ms", 5);
	d->delivery.backoff_initial_ms = num(dl, "backoff_initial_ms", 1000);
	d->delivery.backoff_max_ms = num(dl, "backoff_max_ms", 300000);
	d->delivery.max_attempts = (int)num(dl, "max_attempts", 50);
	d->delivery.max_age_s = num(dl, "max_age_s", 7L * 86400);
	return 0;
}

struct cg_settings *
cg_settings_from(const struct cg_config *c)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	const cJSON *root = c->tree, *it, *lim = cg_json_member(root, "limits"),
	            *log = cg_json_member(root, "logging");
	struct cg_settings *s = calloc(1, sizeof(*s));
	size_t i;

	if (!s)
		return NULL;
	s->nlisteners = count(cg_json_member(root, "listeners"));
	s->nclients = count(cg_json_member(root, "clients"));
	s->nroutes = count(cg_json_member(root, "routes"));
	s->ndests = count(cg_json_member(root, "destinations"));
	s->listeners = calloc(s->nlisteners + 1, sizeof(*s->listeners));
	s->clients = calloc(s->nclients + 1, sizeof(*s->clients));
	s->routes = calloc(s->nroutes + 1, sizeof(*s->routes));
	s->dests = calloc(s->ndests + 1, sizeof(*s->dests));
	if (!s->listeners || !s->clients || !s->routes || !s->dests) {
		cg_settings_free(s);
		return NULL;
	}
	i = 0;
	cJSON_ArrayForEach(it, cg_json_member(root, "listeners"))
	{
		struct cg_listener_cfg *l = &s->listeners[i++];
		const char *mode = str(it, "client_certificate");

		l->address = str(it, "address");
		l->port = (int)num(it, "port", 8443);
		l->certificate = str(it, "certificate");
		l->key = str(it, "key");
		l->client_ca = str(it, "client_ca");
		l->crl = str(it, "crl");
		l->require_client = !mode || strcmp(mode, "required") == 0;
	}
	i = 0;
	cJSON_ArrayForEach(it, cg_json_member(root, "clients"))
	{
		const cJSON *m = cg_json_member(it, "match");

		s->clients[i].name = it->string;
		s->clients[i].san_dns = str(m, "san_dns");
		s->clients[i].subject_cn = str(m, "subject_cn");
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(it, cg_json_member(root, "destinations"))
	{
		if (read_dest(&s->dests[i++], it)) {
			s->ndests = i;
			cg_settings_free(s);
			return NULL;
		}
	}
	i = 0;
	cJSON_ArrayForEach(it, cg_json_member(root, "routes"))
	{
		struct cg_route_cfg *r = &s->routes[i++];
		const char *dest = str(it, "destination");
		const cJSON *cl = cg_json_member(it, "clients"), *cn;
		size_t j, k;

		r->method = str(it, "method");
		r->path = str(it, "path");
		r->accept = strcmp(str(it, "accept"), "fhir") == 0 ? CG_PAYLOAD_FHIR
		                                                   : CG_PAYLOAD_RECORD;
		r->clients = calloc(count(cl) + 1, sizeof(*r->clients));
		if (!r->clients) {
			cg_settings_free(s);
			return NULL;
		}
		cJSON_ArrayForEach(
		        cn, cl) for (k = 0; k < s->nclients;
		                     k++) if (strcmp(s->clients[k].name, cn->valuestring) == 0)
		        r->clients[r->nclients++] = k;
		for (j = 0; dest && j < s->ndests; j++)
			if (strcmp(s->dests[j].name, dest) == 0)
				r->dest = &s->dests[j];
	}
	s->max_body = (size_t)num(lim, "max_body_bytes", 10L << 20);
	s->max_header = (size_t)num(lim, "max_header_bytes", 16384);
	s->header_timeout_ms = num(lim, "header_timeout_ms", 10000);
	s->body_timeout_ms = num(lim, "body_timeout_ms", 30000);
	s->idle_timeout_ms = num(lim, "idle_timeout_ms", 60000);
	s->max_connections = (size_t)num(lim, "max_connections", 4096);
	s->handshake_timeout_ms = num(lim, "handshake_timeout_ms", 5000);
	s->max_handshakes = (size_t)num(lim, "max_handshakes", 256);
	s->level = 1;
	for (i = 0; i < 4; i++)
		if (str(log, "level") && strcmp(str(log, "level"), levels[i]) == 0)
			s->level = (int)i;
	s->audit = str(log, "audit");
	s->canonical_base = str(root, "canonical_base");
	s->workers = (int)num(root, "workers", 0);
	s->fhir_invariants = !cJSON_IsFalse(cg_json_member(root, "fhir_invariants"));
	if (cg_json_member(root, "admin")) {
		const cJSON *admin = cg_json_member(root, "admin");

		s->admin_address = str(admin, "address") ? str(admin, "address") : "127.0.0.1";
		s->admin_port = (int)num(admin, "port", 0);
	}
	if (cg_json_member(root, "outbox")) {
		const cJSON *o = cg_json_member(root, "outbox");

		s->outbox.path = str(o, "path");
		s->outbox.postgres = str(o, "queue") && strcmp(str(o, "queue"), "postgres") == 0;
		s->outbox.password_file = str(o, "password_file");
		if (s->outbox.password_file && !s->outbox.password_file[0])
			s->outbox.password_file = NULL;
		s->outbox.instance = str(o, "instance");
		if (!s->outbox.instance || !s->outbox.instance[0]) {
			/* stable across restarts, unlike the process: a gateway that
			 * starts again takes back what it left in flight at once */
			char host[128] = "cellgate";

			if (gethostname(host, sizeof(host) - 1) != 0)
				snprintf(host, sizeof(host), "cellgate");
			host[sizeof(host) - 1] = '\0';
			snprintf(s->outbox.instance_default, sizeof(s->outbox.instance_default),
			         "%s:%d", host, s->nlisteners ? s->listeners[0].port : 0);
			s->outbox.instance = s->outbox.instance_default;
		}
		s->outbox.lease_s = num(o, "lease_s", 30);
		s->outbox.max_depth = numll(o, "max_depth", 1000000);
		s->outbox.min_free_bytes = numll(o, "min_free_bytes", 256LL << 20);
		s->outbox.retry_after_s = num(o, "retry_after_s", 5);
		s->outbox.keep_delivered_s = numll(o, "keep_delivered_s", 7LL * 86400);
	}
	return s;
}

void
cg_settings_free(struct cg_settings *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; s->routes && i < s->nroutes; i++)
		free(s->routes[i].clients);
	for (i = 0; s->dests && i < s->ndests; i++) {
		cg_secret_key_free(s->dests[i].own_key);
		free(s->dests[i].rules.security);
		free(s->dests[i].rules.tag);
	}
	free(s->listeners);
	free(s->clients);
	free(s->routes);
	free(s->dests);
	free(s);
}
