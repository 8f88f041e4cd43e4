/*
 * cli_common.h: what every cellgate subcommand does the same way.
 */
#ifndef CG_CLI_COMMON_H
#define CG_CLI_COMMON_H

#include "mappings.h"

/* Loads the code tables from dir, or from where mappings.h says when dir is
 * NULL. On failure says why on stderr, prefixed by the command ("cellgate
 * map"), and returns NULL: the command then exits with status 2. */
struct cg_mappings *cg_cli_load_mappings(const char *command, const char *dir);

#endif
