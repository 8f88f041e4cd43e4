/*
 * cli_deidentify.c: `cellgate deidentify`; see cli_deidentify.h.
 *
 * Exactly the gateway's path: each file goes through ingest (server/ingest.h)
 * as a body sent to the destination's route would, so the consent gate, the
 * policy and the mapping are the same code; only the output differs (the
 * items on standard output, the outcome's issues as FILE:LINE:COL lines).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cli_common.h"
#include "cli_deidentify.h"
#include "config.h"
#include "fhir_invariants.h"
#include "fileio.h"
#include "ingest.h"
#include "json_member.h"
#include "json_pretty.h"
#include "pseudonyms.h"
#include "outbox.h"
#include "settings.h"

struct args {
	const char *destination, *config, *policy, *key, *store, *mappings;
	int pretty, help;
};

static const struct cg_cli_opt options[] = {
        {"destination", 'd', CG_CLI_STRING, offsetof(struct args, destination), "NAME",
         "the destination of --config whose policy\napplies", 0, 0, NULL},
        {"config", 'f', CG_CLI_STRING, offsetof(struct args, config), "FILE",
         "the gateway's configuration", 0, 0, NULL},
        {"policy", 0, CG_CLI_STRING, offsetof(struct args, policy), "FILE",
         "or a policy file: one destination's keys\n(docs/privacy.md), without a url", 0, 0, NULL},
        {"key", 'k', CG_CLI_STRING, offsetof(struct args, key), "FILE",
         "the policy's secret key (its pseudonym_key)", 0, 0, NULL},
        {"store", 0, CG_CLI_STRING, offsetof(struct args, store), "FILE",
         "where random pseudonyms are kept (default:\nthe configuration's outbox; made if "
         "missing)",
         0, 0, NULL},
        {"pretty", 'p', CG_CLI_FLAG, offsetof(struct args, pretty), NULL,
         "indent each document (default: one a line)", 0, 0, NULL},
        {"mappings", 'm', CG_CLI_STRING, offsetof(struct args, mappings), "DIR",
         "the folder of code tables", 0, 0, NULL},
        {"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0, NULL},
        {NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL},
};

static const struct cg_cli_cmd command = {
        "cellgate deidentify",
        "--config FILE --destination NAME [options] FILE... (- for standard input)\n"
        "--policy FILE [--key FILE] [options] FILE...",
        "Applies a destination's policy (consent gate, identity, de-identification)\n"
        "to records or FHIR in files, as the gateway does before forwarding, and\n"
        "writes what that destination would receive, one document a line. A file\n"
        "is all or nothing, as a request is. Exit status: 0 all passed, 1 some\n"
        "refused, 2 usage or I/O error.\n",
        options,
};

/* The outcome's issues as FILE:LINE:COL: severity[code] POINTER: message,
 * the form of `cellgate validate`. */
static void
print_issues(const char *name, const struct cg_buf *outcome)
{
	cJSON *oc = cJSON_ParseWithLength(outcome->p, outcome->len), *is;

	cJSON_ArrayForEach(is, cg_json_member(oc, "issue"))
	{
		const char *diag = cJSON_GetStringValue(cg_json_member(is, "diagnostics"));
		const char *sev = cJSON_GetStringValue(cg_json_member(is, "severity"));
		const cJSON *det = cg_json_member(is, "details");
		const char *code = cJSON_GetStringValue(cg_json_member(
		        cJSON_GetArrayItem(cg_json_member(det, "coding"), 0), "code"));
		const char *text = cJSON_GetStringValue(cg_json_member(det, "text"));
		unsigned long item, line, col;
		int at = 0;

		if (diag &&
		    sscanf(diag, "item %lu, line %lu, column %lu: %n", &item, &line, &col, &at) ==
		            3 &&
		    at > 0)
			fprintf(stderr, "%s:%lu:%lu: %s[%s] %s: %s\n", name, line, col,
			        sev ? sev : "error", code ? code : "", diag + at, text ? text : "");
		else
			fprintf(stderr, "%s: %s[%s] %s\n", name, sev ? sev : "error",
			        code ? code : "",
			        text   ? text
			        : diag ? diag
			               : "");
	}
	cJSON_Delete(oc);
}

static int
emit(const struct cg_ingest_out *o, int pretty)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		const char *p = o->data.p + o->item[i].off;
		size_t len = o->item[i].len;

		if (pretty) {
			struct cg_buf b;
			char *one = strndup(p, len); /* the pretty-printer reads a string */
			int bad;

			cg_buf_init(&b, CG_BUF_MAX_ITEMS);
			bad = !one || cg_json_pretty(one, &b) ||
			      fwrite(b.p, 1, b.len, stdout) != b.len;
			cg_buf_free(&b);
			free(one);
			if (bad)
				return -1;
		} else if (fwrite(p, 1, len, stdout) != len) {
			return -1;
		}
		if (fputc('\n', stdout) == EOF)
			return -1;
	}
	return 0;
}

static const struct cg_dest_cfg *
find_dest(const struct cg_settings *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ndests; i++)
		if (strcmp(s->dests[i].name, name) == 0)
			return &s->dests[i];
	return NULL;
}

int
cg_cli_deidentify(int argc, char **argv)
{
	struct cg_config *cfg = NULL;
	struct cg_settings *s = NULL;
	struct cg_mappings *m = NULL;
	struct cg_fhir_invariants *inv = NULL;
	struct cg_pseudonyms *ps = NULL;
	const struct cg_dest_cfg *d;
	struct args a;
	int i, first, status = 2, refused = 0, io_failed = 0;

	memset(&a, 0, sizeof(a));
	if (cg_cli_parse(&command, argc, argv, &a, &first))
		return 2;
	if (a.help) {
		cg_cli_usage(stdout, &command, &a);
		return 0;
	}
	if (a.policy ? a.config || a.destination : !a.destination || !a.config || a.key) {
		fprintf(stderr, "cellgate deidentify: give --config and --destination, or --policy "
		                "(and --key)\n");
		cg_cli_usage(stderr, &command, NULL);
		return 2;
	}
	if (first >= argc) {
		fprintf(stderr, "cellgate deidentify: no input given (use - for standard input)\n");
		return 2;
	}
	if (a.policy) {
		char abs[PATH_MAX];

		/* --key is relative to here, not to the policy file */
		if (cg_cli_load_config_as("cellgate deidentify", a.policy,
		                          a.key ? (realpath(a.key, abs) ? abs : a.key) : "", &cfg))
			return 2;
		a.destination = "policy";
	} else if (cg_cli_load_config("cellgate deidentify", a.config, &cfg)) {
		return 2;
	}
	s = cg_settings_from(cfg);
	if (!s) {
		fprintf(stderr, "cellgate deidentify: %s: cannot read its keys, or out of memory\n",
		        a.config);
		goto out;
	}
	d = find_dest(s, a.destination);
	if (!d) {
		fprintf(stderr, "cellgate deidentify: %s: no destination named %s\n", a.config,
		        a.destination);
		goto out;
	}
	if (d->policy.identity == CG_IDENTITY_RANDOM) {
		char why[512];

		/* The gateway's own store, so that files and forwarded records
		 * give a patient the same pseudonym; kept at once (no writer). */
		const char *store = a.store ? a.store : s->outbox.path;

		if (!store || cg_outbox_store_options(&s->outbox, why, sizeof(why)) ||
		    cg_cli_open_pseudonyms(store, &ps, why, sizeof(why))) {
			fprintf(stderr, "cellgate deidentify: destination %s: %s\n", a.destination,
			        store ? why
			              : "random pseudonyms need a store: the outbox's, or --store");
			goto out;
		}
	}
	m = cg_cli_load_mappings("cellgate deidentify", a.mappings);
	if (!m)
		goto out;
	/* as the gateway would check the input: fhir_invariants in the config */
	if (s->fhir_invariants && !(inv = cg_cli_load_invariants("cellgate deidentify", m)))
		goto out;
	for (i = first; i < argc; i++) {
		struct cg_ingest_in in;
		struct cg_ingest_out o;
		char *text = NULL;
		size_t len = 0;
		int is_stdin = strcmp(argv[i], "-") == 0;
		const char *name = is_stdin ? "<stdin>" : argv[i];
		enum cg_err err = cg_file_read(argv[i], CG_FILE_DEFAULT_MAX, &text, &len);

		if (err) {
			fprintf(stderr, "cellgate deidentify: %s: %s\n", name,
			        err == CG_ELIMIT ? "too large" : strerror(errno));
			io_failed = 1;
			continue;
		}
		memset(&in, 0, sizeof(in));
		in.m = m;
		in.canonical_base = s->canonical_base;
		in.accept_any = 1;
		in.want = d->format;
		in.format = is_stdin ? CG_FORMAT_AUTO : cg_format_from_name(argv[i]);
		in.to_files = d->type == CG_DEST_NDJSON;
		in.consent_for = d->consent_required ? d->registry_id : NULL;
		in.policy = &d->policy;
		in.pseudonyms = ps;
		in.invariants = inv;
		cg_ingest_out_init(&o);
		err = cg_ingest(&in, text, len, &o);
		free(text);
		if (err) {
			fprintf(stderr, "cellgate deidentify: %s: %s\n", name, cg_strerror(err));
			io_failed = 1;
		} else if (o.status != 200) {
			print_issues(name, &o.outcome);
			refused = 1;
		} else if (emit(&o, a.pretty)) {
			fprintf(stderr, "cellgate deidentify: writing output: %s\n",
			        strerror(errno));
			io_failed = 1;
		}
		cg_ingest_out_free(&o);
		if (io_failed && ferror(stdout))
			break;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "cellgate deidentify: writing output: %s\n", strerror(errno));
		io_failed = 1;
	}
	cg_cli_report_not_evaluated("cellgate deidentify", inv);
	status = io_failed ? 2 : refused ? 1 : 0;
out:
	cg_pseudonyms_close(ps);
	cg_fhir_invariants_free(inv);
	cg_mappings_free(m);
	cg_settings_free(s);
	cg_config_free(cfg);
	return status;
}
