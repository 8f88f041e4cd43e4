/*
 * cli_common.h: what every cellgate subcommand does the same way.
 *
 * Each subcommand describes its options in one table (struct cg_cli_opt):
 * the name, where the value goes, its range or choices and its line of
 * help. The parser and the usage text both read that table, so an option
 * cannot be parsed without being documented, nor an error name another
 * option than the one at fault.
 */
#ifndef CG_CLI_COMMON_H
#define CG_CLI_COMMON_H

#include <stddef.h>
#include <stdio.h>

#include "mappings.h"

/* Exit status of a usage error, for every subcommand. */
#define CG_CLI_EXIT_USAGE 2

enum cg_cli_kind {
	CG_CLI_FLAG,   /* no value: sets an int to 1 */
	CG_CLI_STRING, /* any value: sets a const char * */
	CG_CLI_NUMBER, /* a decimal number from lo to hi: sets an unsigned long long */
	CG_CLI_CHOICE  /* one of choices: sets an int to its index */
};

struct cg_cli_opt {
	const char *name;           /* --name; NULL ends the table */
	char letter;                /* -x as well, or 0 */
	enum cg_cli_kind kind;      /* what the value is */
	size_t field;               /* offsetof its place in the command's arguments */
	const char *value;          /* the value's name in the usage text ("N", "DIR") */
	const char *help;           /* one line for the usage text */
	unsigned long long lo, hi;  /* CG_CLI_NUMBER: the range */
	const char *const *choices; /* CG_CLI_CHOICE: the values, NULL-terminated */
};

struct cg_cli_cmd {
	const char *name;              /* "cellgate validate" */
	const char *synopsis;          /* what follows the name, a line per form */
	const char *about;             /* the paragraph after the synopsis, or NULL */
	const struct cg_cli_opt *opts; /* its options */
};

/* Parses argv (argv[0] is the command's name) into args, the command's
 * struct of arguments already holding the defaults. On success returns 0
 * and sets *first to the index of the first operand (GNU order: options
 * may follow operands). On an error says which option is at fault and why
 * on stderr, with the synopsis, and returns CG_CLI_EXIT_USAGE. */
int cg_cli_parse(const struct cg_cli_cmd *cmd, int argc, char **argv, void *args, int *first);
/* The same for a command with subcommands (`cellgate queue [options] list
 * [options]`): only the options before the first operand, the subcommand,
 * which *first is then the index of; the subcommand's own options are left
 * for its own table. */
int cg_cli_parse_head(const struct cg_cli_cmd *cmd, int argc, char **argv, void *args, int *first);
/* Prints the usage text: the synopsis, the about paragraph, then each
 * option with its help, its range or choices and its default (read from
 * defaults, the command's arguments before parsing, when not NULL). */
void cg_cli_usage(FILE *f, const struct cg_cli_cmd *cmd, const void *defaults);

/* Loads the code tables from dir, or from where mappings.h says when dir is
 * NULL. On failure says why on stderr, prefixed by the command ("cellgate
 * map"), and returns NULL: the command then exits with status 2. */
struct cg_mappings *cg_cli_load_mappings(const char *command, const char *dir);

struct cg_fhir_invariants;
/* Loads and compiles the R4 invariants beside m's tables (fhir_invariants.h),
 * once per command. On failure says why on stderr, as above, and returns
 * NULL: the command then exits with status 2. */
struct cg_fhir_invariants *cg_cli_load_invariants(const char *command, const struct cg_mappings *m);
/* After a run, on standard error: the invariants that were not checked,
 * evaluations the engine could not complete (counted, never reported as
 * broken) and expressions that did not compile, each line naming at most
 * CG_CLI_NAMED_INVARIANTS of them (key and type, from the definitions:
 * no resource data). Nothing when every one was evaluated; inv NULL is
 * fine (--no-invariants). */
#define CG_CLI_NAMED_INVARIANTS 10
void cg_cli_report_not_evaluated(const char *command, const struct cg_fhir_invariants *inv);

/* Loads and checks the configuration file as `cellgate serve` does, its
 * issues printed on stderr as --check-config prints them, an unreadable
 * file said prefixed by the command. 0 and *out when it is usable; 1 when it
 * has errors; 2 when it cannot be read (*out NULL for both). */
struct cg_config;
int cg_cli_load_config(const char *command, const char *file, struct cg_config **out);
/* The same for a policy file (cellgate deidentify --policy) when policy_key
 * is not NULL: its key file, or "" for the file's own pseudonym_key. */
int cg_cli_load_config_as(const char *command, const char *file, const char *policy_key,
                          struct cg_config **out);

/* Random pseudonyms over the outbox's store at path, written at once
 * (pseudonyms.h, direct): the store is made when there is none yet. */
struct cg_pseudonyms;
int cg_cli_open_pseudonyms(const char *path, struct cg_pseudonyms **out, char *why, size_t whylen);

#endif
