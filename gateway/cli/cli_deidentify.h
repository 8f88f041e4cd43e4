/*
 * cli_deidentify.h: `cellgate deidentify`, a destination's policy (consent,
 * identity, de-identification) applied to files, for registries that
 * receive files (docs/privacy.md, docs/cli.md).
 */
#ifndef CG_CLI_DEIDENTIFY_H
#define CG_CLI_DEIDENTIFY_H

int cg_cli_deidentify(int argc, char **argv);

#endif
