/*
 * cli_validate.h: the `cellgate validate` subcommand.
 *
 * Reads files (or standard input), validates every record, and prints one
 * line per issue (text) or one JSON object per record (--format json).
 * Exit status: 0 all valid, 1 some record invalid, 2 usage or I/O error.
 * docs/cli.md is the user's description of all of it.
 */
#ifndef CG_CLI_VALIDATE_H
#define CG_CLI_VALIDATE_H

int cg_cli_validate(int argc, char **argv);

#endif
