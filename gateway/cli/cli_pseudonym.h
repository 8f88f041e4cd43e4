/*
 * cli_pseudonym.h: `cellgate pseudonym`, for an operator: resolve a random
 * pseudonym back to the patient identifier it stands for (the only way to,
 * audited), or give the pseudonym a destination would send for an
 * identifier (to re-link after a key rotation). docs/privacy.md.
 */
#ifndef CG_CLI_PSEUDONYM_H
#define CG_CLI_PSEUDONYM_H

int cg_cli_pseudonym(int argc, char **argv);

#endif
