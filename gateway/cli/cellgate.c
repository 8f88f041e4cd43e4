/*
 * cellgate.c: the command-line front end. It only dispatches: every
 * subcommand lives in its own cli_*.c file on top of libcellgate.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "arena.h"
#include "cli_map.h"
#include "cli_serve.h"
#include "cli_validate.h"
#include "version.h"

static void
usage(FILE *f)
{
	fputs("usage: cellgate <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  validate   check stem-cell treatment records and FHIR R4 resources\n"
	      "  map        records to FHIR R4 transaction Bundles and back (cellgate map --help)\n"
	      "  serve      the mutual-TLS gateway (cellgate serve --help)\n"
	      "  version    print the version of cellgate and its libraries\n"
	      "\n"
	      "queue (the durable outbox) is planned and not part of this build yet.\n",
	      f);
}

int
main(int argc, char **argv)
{
	/* Mapping builds its output in per-item arenas (arena.h). */
	cg_arena_cjson_hooks();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "validate") == 0)
		return cg_cli_validate(argc - 1, argv + 1);
	if (strcmp(argv[1], "map") == 0)
		return cg_cli_map(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cg_cli_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		/* The libraries as loaded at run time: what a security notice about
		 * OpenSSL or libcurl needs to be checked against. */
		printf("cellgate %s\n%s\nlibcurl %s\nlibevent %s\nlibyaml %s\ncJSON %s\n",
		       CG_VERSION, OpenSSL_version(OPENSSL_VERSION),
		       curl_version_info(CURLVERSION_NOW)->version, event_get_version(),
		       yaml_get_version_string(), cJSON_Version());
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "cellgate: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
