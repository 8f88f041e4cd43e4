/*
 * config_env.c: ${NAME} references in the configuration, replaced by the
 * environment's values (or their defaults) before the sections are checked,
 * and the issues that a reference which could not be replaced makes
 * redundant; see config_internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "check.h"
#include "config_internal.h"
#include "yaml_json.h"

/* The value of one reference, ref (without "${" and "}"): NAME, NAME:-DEFAULT
 * (the default when NAME is unset or empty) or NAME-DEFAULT (when unset), as
 * shells and docker-compose have them. NULL with *why when NAME is unset and
 * there is no default, or ref is not of that form. */
static const char *
env_value(const char *ref, size_t len, char *name, size_t size, char *def, size_t defsize,
          const char **why)
{
	size_t n = 0;
	const char *value, *rest;
	int if_empty;

	while (n < len &&
	       (ref[n] == '_' || (ref[n] >= 'A' && ref[n] <= 'Z') ||
	        (ref[n] >= 'a' && ref[n] <= 'z') || (n && ref[n] >= '0' && ref[n] <= '9')))
		n++;
	rest = ref + n;
	if (n >= size) {
		*why = "the NAME of a ${NAME} is too long";
		return NULL;
	}
	if (n == 0 || (n < len && *rest != '-' && (len - n < 2 || strncmp(rest, ":-", 2) != 0))) {
		*why = "a reference is ${NAME}, ${NAME:-default} or ${NAME-default}, NAME "
		       "of letters, digits and _";
		return NULL;
	}
	memcpy(name, ref, n);
	name[n] = '\0';
	value = getenv(name);
	if (n == len) { /* no default */
		if (!value)
			*why = "not set";
		return value;
	}
	if_empty = *rest == ':';
	rest += if_empty ? 2 : 1;
	if (value && !(if_empty && !value[0]))
		return value;
	if ((size_t)(ref + len - rest) >= defsize) {
		*why = "the default is too long";
		return NULL;
	}
	memcpy(def, rest, (size_t)(ref + len - rest));
	def[ref + len - rest] = '\0';
	return def;
}

/* Replaces each ${NAME} reference in every string of the tree by the
 * environment's value (or its default). A plain (unquoted) scalar is then
 * typed as if the result had been written there (yaml_json.h): port: ${PORT}
 * is a number when PORT is 8443; a quoted one stays a string. Values are
 * substituted as they are, never read for references again. */
void
cg_ck_expand_env(struct ck *k, cJSON *n)
{
	cJSON *c;

	if (cJSON_IsString(n) && strstr(n->valuestring, "${")) {
		struct cg_buf b;
		const char *s = n->valuestring, *open;
		char name[128], def[1024];
		enum cg_err err = CG_OK;

		cg_buf_init(&b, CG_BUF_MAX_SETTING);
		while ((open = strstr(s, "${")) != NULL) {
			const char *close = strchr(open, '}');
			const char *value, *why = NULL;

			if (!close) {
				cg_check_issue(&k->c, CG_C_CONFIG_ENV, n, NULL, 0,
				               "unterminated ${NAME}: no closing }");
				cg_buf_free(&b);
				return;
			}
			value = env_value(open + 2, (size_t)(close - open - 2), name, sizeof(name),
			                  def, sizeof(def), &why);
			if (!value) {
				if (strcmp(why, "not set") == 0)
					cg_check_issue(&k->c, CG_C_CONFIG_ENV, n, NULL, 0,
					               "environment variable %s is not set", name);
				else
					cg_check_issue(&k->c, CG_C_CONFIG_ENV, n, NULL, 0, "%s",
					               why);
				cg_buf_free(&b);
				return;
			}
			if (!err)
				err = cg_buf_add(&b, s, (size_t)(open - s));
			if (!err)
				err = cg_buf_addstr(&b, value);
			s = close + 1;
		}
		if (!err)
			err = cg_buf_addstr(&b, s);
		if (!err && !cJSON_SetValuestring(n, b.p ? b.p : ""))
			err = CG_ENOMEM;
		cg_buf_free(&b);
		if (err)
			k->c.err = err;
		if (!k->c.err && cg_yaml_is_plain(k->y, n))
			cg_yaml_type_plain(n);
		return;
	}
	{
		size_t i = 0;

		for (c = n ? n->child : NULL; c; c = c->next, i++) {
			size_t mark = cJSON_IsObject(n) ? cg_check_push_key(&k->c, c->string)
			                                : cg_check_push_index(&k->c, i);

			cg_ck_expand_env(k, c);
			cg_check_pop(&k->c, mark);
		}
	}
}

/* Drops the issues of a value whose ${NAME} could not be replaced: its
 * config-env issue says what is wrong, and "must be a number, not a string"
 * about the unreplaced text would only add noise. */
void
cg_ck_drop_after_env(struct cg_diag *d)
{
	size_t i, j, kept = 0;

	for (i = 0; i < d->n; i++) {
		int shadowed = 0;

		for (j = 0; d->v[i].code != CG_C_CONFIG_ENV && j < d->n && !shadowed; j++)
			shadowed = d->v[j].code == CG_C_CONFIG_ENV && d->v[j].node == d->v[i].node;
		if (!shadowed) {
			d->v[kept++] = d->v[i];
			continue;
		}
		if (cg_code_severity(d->v[i].code) == CG_SEV_ERROR)
			d->errors--;
		else if (cg_code_severity(d->v[i].code) == CG_SEV_WARNING)
			d->warnings--;
		free(d->v[i].path);
		free(d->v[i].message);
	}
	d->n = kept;
}
