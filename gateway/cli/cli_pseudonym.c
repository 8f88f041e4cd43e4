/* cli_pseudonym.c: `cellgate pseudonym resolve|of`; see cli_pseudonym.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_pseudonym.h"
#include "config.h"
#include "log.h"
#include "pseudonyms.h"
#include "outbox.h"
#include "settings.h"
#include "store.h"

struct args {
	const char *config, *destination;
	int help;
};

static const struct cg_cli_opt options[] = {
        {"config", 'f', CG_CLI_STRING, offsetof(struct args, config), "FILE",
         "(required) the gateway's configuration", 0, 0, NULL},
        {"destination", 'd', CG_CLI_STRING, offsetof(struct args, destination), "NAME",
         "(required) the destination (its registry)", 0, 0, NULL},
        {"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0, NULL},
        {NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL},
};

static const struct cg_cli_cmd command = {
        "cellgate pseudonym",
        "--config FILE --destination NAME resolve PSEUDONYM...\n"
        "--config FILE --destination NAME of SYSTEM|VALUE...",
        "resolve: the patient identifier (system|value) a random pseudonym stands\n"
        "for, from the gateway's store: re-identification, for an operator, written\n"
        "to the audit log (how many, never which). of: the pseudonym the destination\n"
        "sends for an identifier (keyed: computed with its key; random: the one kept,\n"
        "never made here). One line per operand: OPERAND<TAB>ANSWER. Exit status: 0\n"
        "all answered, 1 some unknown, 2 usage or I/O error.\n",
        options,
};

/* One audit line: who re-identified how many pseudonyms of which registry. */
static void
audit(const struct cg_settings *s, const char *registry, int asked, int found)
{
	char line[512];
	int n;

	if (!s->audit || cg_audit_open(s->audit))
		return;
	n = snprintf(line, sizeof(line),
	             "{\"ts\":%lld,\"event\":\"pseudonym-resolve\",\"uid\":%ld,\"registry\":\"%s\","
	             "\"asked\":%d,\"resolved\":%d}\n",
	             (long long)time(NULL), (long)getuid(), registry, asked, found);
	if (n > 0 && (size_t)n < sizeof(line))
		cg_audit_write(line, (unsigned long)n);
	cg_audit_open(NULL);
}

int
cg_cli_pseudonym(int argc, char **argv)
{
	struct cg_config *cfg = NULL;
	struct cg_settings *s = NULL;
	struct cg_pseudonyms *ps = NULL;
	const struct cg_dest_cfg *d = NULL;
	struct args a;
	int i, first, status = 2, unknown = 0, found = 0, resolve;
	size_t k;
	char why[512];

	memset(&a, 0, sizeof(a));
	if (cg_cli_parse(&command, argc, argv, &a, &first))
		return 2;
	if (a.help) {
		cg_cli_usage(stdout, &command, &a);
		return 0;
	}
	if (!a.config || !a.destination || first + 1 >= argc ||
	    (strcmp(argv[first], "resolve") && strcmp(argv[first], "of"))) {
		fprintf(stderr, "cellgate pseudonym: give --config, --destination, resolve or of, "
		                "and what to look up\n");
		cg_cli_usage(stderr, &command, NULL);
		return 2;
	}
	resolve = strcmp(argv[first], "resolve") == 0;
	if (cg_cli_load_config("cellgate pseudonym", a.config, &cfg))
		return 2;
	s = cg_settings_from(cfg);
	for (k = 0; s && k < s->ndests; k++)
		if (strcmp(s->dests[k].name, a.destination) == 0)
			d = &s->dests[k];
	if (!d || d->policy.identity == CG_IDENTITY_KEEP) {
		fprintf(stderr, "cellgate pseudonym: %s: %s %s\n", a.config,
		        d ? "destination keeps identifiers:" : "no destination named",
		        a.destination);
		goto out;
	}
	if (d->policy.identity == CG_IDENTITY_RANDOM || resolve) {
		if (d->policy.identity != CG_IDENTITY_RANDOM) {
			fprintf(stderr,
			        "cellgate pseudonym: %s: keyed pseudonyms cannot be resolved (use "
			        "`of` on the identifiers you hold)\n",
			        a.destination);
			goto out;
		}
		if (!s->outbox.path || cg_outbox_store_options(&s->outbox, why, sizeof(why)) ||
		    cg_pseudonyms_open(s->outbox.path, 0, &ps, why, sizeof(why))) {
			fprintf(stderr, "cellgate pseudonym: %s\n",
			        s->outbox.path ? why : "no outbox in the configuration");
			goto out;
		}
	}
	for (i = first + 1; i < argc; i++) {
		char sys[2048], val[2048], p[CG_PSEUDONYM_MAX + 1];
		const char *bar = strchr(argv[i], '|');
		enum cg_err err;

		if (resolve) {
			err = cg_pseudonyms_resolve(ps, d->registry_id, argv[i], sys, sizeof(sys),
			                            val, sizeof(val));
			if (!err)
				printf("%s\t%s|%s\n", argv[i], sys, val);
		} else if (!bar || (size_t)(bar - argv[i]) >= sizeof(sys)) {
			fprintf(stderr, "cellgate pseudonym: %s: give SYSTEM|VALUE\n", argv[i]);
			unknown = 1;
			continue;
		} else {
			snprintf(sys, sizeof(sys), "%.*s", (int)(bar - argv[i]), argv[i]);
			err = d->policy.identity == CG_IDENTITY_KEYED
			              ? cg_pseudonym_keyed(d->policy.key, d->registry_id, sys,
			                                   bar + 1, p)
			              : cg_pseudonyms_lookup(ps, d->registry_id, sys, bar + 1, p);
			if (!err)
				printf("%s\t%s\n", argv[i], p);
		}
		if (err == CG_OK)
			found++;
		else {
			fprintf(stderr, "cellgate pseudonym: %s: %s\n", argv[i],
			        err == CG_ENOENT ? "unknown" : cg_strerror(err));
			unknown = 1;
		}
	}
	if (resolve)
		audit(s, d->registry_id, argc - first - 1, found);
	status = unknown ? 1 : 0;
out:
	cg_pseudonyms_close(ps);
	cg_settings_free(s);
	cg_config_free(cfg);
	return status;
}
