/* cli_common.c: shared by the subcommands; see cli_common.h. */
#include <stdio.h>
#include <stdlib.h>

#include "cli_common.h"

struct cg_mappings *
cg_cli_load_mappings(const char *command, const char *dir)
{
	struct cg_mappings *m = NULL;
	char *default_dir = NULL, *why = NULL;
	enum cg_err result;

	if (!dir && !(dir = default_dir = cg_mappings_default_dir())) {
		fprintf(stderr,
		        "%s: cannot find the code tables; use --mappings DIR or set "
		        "CELLGATE_MAPPINGS\n",
		        command);
		return NULL;
	}
	result = cg_mappings_load(dir, &m, &why);
	if (result)
		fprintf(stderr, "%s: code tables: %s\n", command, why ? why : cg_strerror(result));
	free(why);
	free(default_dir);
	return m;
}
