/*
 * cli_map.h: the `cellgate map` subcommand: records to FHIR transaction
 * Bundles (--to fhir) and FHIR back to records (--to record), one JSON
 * document per input item on standard output, issues on standard error.
 * Exit status: 0 all mapped, 1 some could not be, 2 usage or I/O error.
 */
#ifndef CG_CLI_MAP_H
#define CG_CLI_MAP_H

int cg_cli_map(int argc, char **argv);

#endif
