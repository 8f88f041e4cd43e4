/* cli_serve.c: `cellgate serve`; see cli_serve.h. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli_common.h"
#include "cli_serve.h"
#include "config.h"
#include "server.h"

/* The command line, as the option table below fills it. */
struct args {
	const char *check, *config, *mappings, *listen;
	int help;
};

static const struct cg_cli_opt options[] = {
        {"config", 'f', CG_CLI_STRING, offsetof(struct args, config), "FILE",
         "the configuration (default: the embedded\n"
         "defaults, deploy/cellgate.default.yaml, with\n"
         "paths from the working directory)",
         0, 0, NULL},
        {"mappings", 'm', CG_CLI_STRING, offsetof(struct args, mappings), "DIR",
         "the folder of code tables", 0, 0, NULL},
        {"listen", 0, CG_CLI_STRING, offsetof(struct args, listen), "ADDR:PORT",
         "the first listener's address and port instead of\n"
         "the configuration's ([::1]:8443 for IPv6)",
         0, 0, NULL},
        {"check-config", 'c', CG_CLI_STRING, offsetof(struct args, check), "FILE",
         "check a configuration and exit: 0 when it can\n"
         "be used, 1 when it has errors (each with its\n"
         "line and column), 2 when it cannot be read",
         0, 0, NULL},
        {"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0, NULL},
        {NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL},
};

static const struct cg_cli_cmd command = {
        "cellgate serve",
        "[options]\n--check-config FILE",
        "Runs the mutual-TLS gateway (docs/api.md, docs/operations.md). Logs are JSON\n"
        "lines on standard error. SIGHUP reloads the configuration, mappings and\n"
        "certificates; SIGTERM finishes the requests in flight and exits 0.\n",
        options,
};

int
cg_cli_serve(int argc, char **argv)
{
	struct cg_config *cfg = NULL;
	struct args a;
	struct cg_listen listen;
	int status, first;
	const char *file, *why = NULL;

	memset(&a, 0, sizeof(a));
	if (cg_cli_parse(&command, argc, argv, &a, &first))
		return 2;
	if (a.help) {
		cg_cli_usage(stdout, &command, &a);
		return 0;
	}
	if (first < argc) {
		fprintf(stderr, "cellgate serve: unexpected argument %s\n", argv[first]);
		cg_cli_usage(stderr, &command, NULL);
		return 2;
	}
	if (a.listen && cg_listen_parse(a.listen, &listen, &why)) {
		fprintf(stderr, "cellgate serve: --listen %s: %s\n", a.listen, why);
		return 2;
	}
	if (!a.check)
		return cg_serve(a.config, a.mappings, a.listen ? &listen : NULL);
	file = a.check;
	status = cg_cli_load_config("cellgate serve", file, &cfg);
	if (cfg)
		printf("%s: configuration OK\n", file);
	cg_config_free(cfg);
	return status;
}
