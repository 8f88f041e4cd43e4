/*
 * fuzz_config.c: libFuzzer target over the configuration loader: YAML
 * (libyaml) to a tree, every check, ${NAME} expansion and placing issues at
 * lines and columns. Paths resolve against a folder that does not exist, so
 * no input can make it touch files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_config *cfg = NULL;
	struct cg_diag d;
	char *copy = malloc(size ? size : 1);
	size_t i;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	cg_diag_init(&d, 50);
	(void)cg_config_parse(copy, size, "/nonexistent-cellgate-fuzz", &cfg, &d);
	/* A configuration comes out only without errors; every issue is placed. */
	if (cfg && d.errors)
		abort();
	for (i = 0; i < d.n; i++)
		if (!d.v[i].located || !d.v[i].line)
			abort();
	cg_config_free(cfg);
	cg_diag_free(&d);
	free(copy);
	return 0;
}
