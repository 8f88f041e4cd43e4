/*
 * config.c: loading the configuration; see config.h.
 *
 * The YAML becomes a cJSON tree (yaml_json.h), its ${NAME} references are
 * replaced (config_env.c) and its sections checked (config_sections.c);
 * issues are then placed at the line and column each node came from. Also
 * the first listener's address and port from `cellgate serve --listen`.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "config.h"
#include "config_internal.h"
#include "fileio.h"
#include "yaml_json.h"

#define MAX_CONFIG (4u * 1024 * 1024)

/* ---- loading ---------------------------------------------------------- */

static void
place(struct cg_diag *d, const struct cg_yaml *y)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		cg_yaml_where(y, d->v[i].node, d->v[i].at_key, &d->v[i].line, &d->v[i].column);
		if (!d->v[i].line)
			d->v[i].line = d->v[i].column = 1;
		d->v[i].offset = d->v[i].line * 100000 + d->v[i].column; /* for sorting */
		d->v[i].located = 1;
	}
	cg_diag_sort(d);
}

/* The YAML text as a tree; a syntax fault is an issue at its place (then
 * CG_OK with y->root NULL). */
static enum cg_err
load_yaml(const char *text, size_t len, struct cg_yaml *y, struct cg_diag *d)
{
	unsigned long line, column;
	char *why = NULL;
	enum cg_err result = cg_yaml_load(text, len, y, &line, &column, &why);

	if (result == CG_EINVAL) {
		memset(y, 0, sizeof(*y));
		result = cg_diag_add(d, CG_C_CONFIG_SYNTAX, "", NULL, 0, "%s", why ? why : "");
		if (!result) {
			d->v[d->n - 1].line = line ? line : 1;
			d->v[d->n - 1].column = column ? column : 1;
			d->v[d->n - 1].located = 1;
		}
	}
	free(why);
	return result;
}

/* The checked tree becomes the configuration, unless the checks found
 * errors (or memory ran out): then it is freed. */
static enum cg_err
hand_over(struct cg_yaml *y, const struct ck *k, const struct cg_diag *d, const char *dir,
          struct cg_config **out)
{
	if (k->c.err || d->errors) {
		cg_yaml_free(y);
		return k->c.err;
	}
	*out = calloc(1, sizeof(**out));
	if (!*out || !((*out)->dir = strdup(dir))) {
		free(*out);
		*out = NULL;
		cg_yaml_free(y);
		return CG_ENOMEM;
	}
	(*out)->tree = y->root;
	free(y->pos);
	return CG_OK;
}

enum cg_err
cg_config_parse(const char *text, size_t len, const char *dir, struct cg_config **out,
                struct cg_diag *d)
{
	struct cg_yaml y;
	struct ck k;
	enum cg_err result;

	*out = NULL;
	if ((result = load_yaml(text, len, &y, d)) != CG_OK || !y.root)
		return result;
	memset(&k, 0, sizeof(k));
	cg_check_init(&k.c, d);
	k.dir = dir;
	k.y = &y;
	cg_ck_config(&k, y.root);
	cg_ck_drop_after_env(d);
	place(d, &y);
	cg_check_free(&k.c);
	return hand_over(&y, &k, d, dir, out);
}

/* A policy file: one destination's mapping, checked as a destination
 * named "policy" (and its key given by key, when not NULL); the tree is
 * {"destinations": {"policy": ...}}, which cg_settings_from reads. */
static enum cg_err
parse_policy(const char *text, size_t len, const char *dir, const char *key, struct cg_config **out,
             struct cg_diag *d)
{
	struct cg_yaml y;
	struct ck k;
	cJSON *root, *dests;
	enum cg_err result;

	*out = NULL;
	if ((result = load_yaml(text, len, &y, d)) != CG_OK || !y.root)
		return result;
	root = cJSON_CreateObject();
	dests = cJSON_CreateObject();
	if (!root || !dests || !cJSON_AddItemToObject(root, "destinations", dests)) {
		cJSON_Delete(root);
		cJSON_Delete(dests);
		cg_yaml_free(&y);
		return CG_ENOMEM;
	}
	if (key && cJSON_IsObject(y.root)) {
		cJSON_DeleteItemFromObjectCaseSensitive(y.root, "pseudonym_key");
		cJSON_AddStringToObject(y.root, "pseudonym_key", key);
	}
	cJSON_AddItemToObject(dests, "policy", y.root);
	memset(&k, 0, sizeof(k));
	cg_check_init(&k.c, d);
	k.dir = dir;
	k.y = &y;
	k.policy_only = 1;
	cg_ck_destinations(&k, dests);
	place(d, &y);
	cg_check_free(&k.c);
	y.root = root;
	return hand_over(&y, &k, d, dir, out);
}

/* Reads path and parses it (policy: a policy file with its key, else a
 * whole configuration), its folder the base of relative paths. */
static enum cg_err
load(const char *path, int policy, const char *key, struct cg_config **out, struct cg_diag *d)
{
	char *text = NULL, dir[PATH_MAX], *slash;
	size_t len;
	enum cg_err result;

	*out = NULL;
	result = cg_file_read(path, MAX_CONFIG, &text, &len);
	if (result)
		return result == CG_ENOMEM ? CG_ENOMEM : CG_EIO;
	if (!realpath(path, dir))
		snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	result = policy ? parse_policy(text, len, dir, key, out, d)
	                : cg_config_parse(text, len, dir, out, d);
	free(text);
	if (!result && *out && !((*out)->path = strdup(path))) {
		cg_config_free(*out);
		*out = NULL;
		return CG_ENOMEM;
	}
	return result;
}

enum cg_err
cg_config_load_policy(const char *path, const char *key, struct cg_config **out, struct cg_diag *d)
{
	return load(path, 1, key, out, d);
}

enum cg_err
cg_config_load(const char *path, struct cg_config **out, struct cg_diag *d)
{
	return load(path, 0, NULL, out, d);
}

void
cg_config_free(struct cg_config *c)
{
	if (!c)
		return;
	cJSON_Delete(c->tree);
	free(c->path);
	free(c->dir);
	free(c);
}

/* ---- --listen ---------------------------------------------------------- */

int
cg_listen_parse(const char *s, struct cg_listen *out, const char **why)
{
	const char *colon, *addr = s, *p;
	unsigned char bin[16];
	size_t len;
	long port = 0;
	int v6 = s[0] == '[';

	memset(out, 0, sizeof(*out));
	if (v6) {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			*why = "give [ADDR]:PORT for IPv6, such as [::1]:8443";
			return -1;
		}
		addr = s + 1;
		len = (size_t)(close - addr);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			*why = "give ADDR:PORT, such as 127.0.0.1:8443 or [::1]:8443";
			return -1;
		}
		len = (size_t)(colon - s);
		if (memchr(s, ':', len)) {
			*why = "an IPv6 address goes in brackets, such as [::1]:8443";
			return -1;
		}
	}
	if (len == 0 || len >= sizeof(out->address)) {
		*why = "the address is missing or too long";
		return -1;
	}
	memcpy(out->address, addr, len);
	out->address[len] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, out->address, bin) != 1) {
		*why = v6 ? "not an IPv6 address"
		          : "not an IPv4 address (host names are not accepted; IPv6 goes "
		            "in brackets)";
		return -1;
	}
	for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (*p - '0');
	if (p == colon + 1 || *p || port < 1 || port > 65535) {
		*why = "the port must be a number from 1 to 65535";
		return -1;
	}
	out->port = (int)port;
	return 0;
}

enum cg_err
cg_config_listen(struct cg_config *c, const struct cg_listen *l)
{
	cJSON *first =
	        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c->tree, "listeners"), 0);
	cJSON *address = cJSON_GetObjectItemCaseSensitive(first, "address");
	cJSON *port = cJSON_GetObjectItemCaseSensitive(first, "port");

	if (!cJSON_IsString(address) || !cJSON_IsNumber(port))
		return CG_EINVAL;
	if (!cJSON_SetValuestring(address, l->address))
		return CG_ENOMEM;
	cJSON_SetNumberValue(port, l->port);
	return CG_OK;
}
