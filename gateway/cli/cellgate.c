/*
 * cellgate.c: the command-line front end. It only dispatches: every
 * subcommand lives in its own cli_*.c file on top of libcellgate.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "arena.h"
#include "cli_common.h"
#include "cli_map.h"
#include "cli_check_destination.h"
#include "cli_deidentify.h"
#include "cli_fhirpath.h"
#include "cli_pseudonym.h"
#include "cli_queue.h"
#include "cli_serve.h"
#include "cli_validate.h"
#include "version.h"

static int run_version(int argc, char **argv);
static int run_help(int argc, char **argv);

/* The commands, for dispatching and for the usage text alike. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
        {"validate", cg_cli_validate, "check stem-cell treatment records and FHIR R4 resources"},
        {"map", cg_cli_map, "records to FHIR R4 transaction Bundles and back"},
        {"deidentify", cg_cli_deidentify,
         "a destination's consent, identity and de-identification policy on files"},
        {"check-destination", cg_cli_check_destination,
         "whether a destination can be reached and its server supports what it needs"},
        {"fhirpath", cg_cli_fhirpath, "a FHIRPath expression evaluated on FHIR resources"},
        {"pseudonym", cg_cli_pseudonym,
         "resolve a random pseudonym (audited), or the pseudonym of an identifier"},
        {"serve", cg_cli_serve, "the mutual-TLS gateway"},
        {"queue", cg_cli_queue, "the outbox: counts, messages, retry of dead ones, purge"},
        {"version", run_version, "print the version of cellgate and its libraries"},
        {"help", run_help, "this text, or a command's (cellgate help COMMAND)"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fputs("usage: cellgate <command> [options]\n\ncommands:\n", f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'cellgate COMMAND --help' describes a command's options.\n", f);
}

/* The two commands without options of their own still take --help, and
 * refuse anything else as the others do. */
struct args {
	int help;
};

static const struct cg_cli_opt help_only[] = {
        {"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0, NULL},
        {NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL},
};

static const struct cg_cli_cmd version_cmd = {
        "cellgate version",
        "",
        "Prints the version of cellgate and of each library as loaded at run time.\n",
        help_only,
};

static const struct cg_cli_cmd help_cmd = {
        "cellgate help",
        "[COMMAND]",
        "Describes the commands, or one command and its options.\n",
        help_only,
};

static int
run_version(int argc, char **argv)
{
	struct args a = {0};
	int first;

	if (cg_cli_parse(&version_cmd, argc, argv, &a, &first))
		return CG_CLI_EXIT_USAGE;
	if (a.help) {
		cg_cli_usage(stdout, &version_cmd, &a);
		return 0;
	}
	if (first < argc) {
		fprintf(stderr, "cellgate version: unexpected argument %s\n", argv[first]);
		return CG_CLI_EXIT_USAGE;
	}
	/* The libraries as loaded at run time: what a security notice about
	 * OpenSSL or libcurl needs to be checked against. */
	printf("cellgate %s\n%s\nlibcurl %s\nlibevent %s\nlibyaml %s\ncJSON %s\n", CG_VERSION,
	       OpenSSL_version(OPENSSL_VERSION), curl_version_info(CURLVERSION_NOW)->version,
	       event_get_version(), yaml_get_version_string(), cJSON_Version());
	return 0;
}

static int
run_help(int argc, char **argv)
{
	struct args a = {0};
	char *sub[3] = {NULL, "--help", NULL};
	size_t i;
	int first;

	if (cg_cli_parse(&help_cmd, argc, argv, &a, &first))
		return CG_CLI_EXIT_USAGE;
	if (a.help || first >= argc) {
		if (a.help)
			cg_cli_usage(stdout, &help_cmd, &a);
		else
			usage(stdout);
		return 0;
	}
	if (first + 1 < argc) {
		fprintf(stderr, "cellgate help: unexpected argument %s\n", argv[first + 1]);
		return CG_CLI_EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[first], commands[i].name) == 0) {
			sub[0] = argv[first];
			return commands[i].run(2, sub);
		}
	fprintf(stderr, "cellgate help: unknown command '%s'\n", argv[first]);
	usage(stderr);
	return CG_CLI_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	size_t i;

	/* Mapping builds its output in per-item arenas (arena.h). */
	cg_arena_cjson_hooks();
	if (argc < 2) {
		usage(stderr);
		return CG_CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0)
		return run_version(1, argv);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		fprintf(stderr, "cellgate: unknown option %s (options follow the command)\n",
		        argv[1]);
	else
		fprintf(stderr, "cellgate: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CG_CLI_EXIT_USAGE;
}
