/* cli_serve.c: `cellgate serve`; see cli_serve.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli_serve.h"
#include "config.h"
#include "render.h"
#include "server.h"

static void
usage(FILE *f)
{
	fputs("usage: cellgate serve [--config FILE] [--mappings DIR]\n"
	      "       cellgate serve --check-config FILE\n"
	      "\n"
	      "Runs the mutual-TLS gateway (docs/api.md, docs/operations.md) with FILE, or\n"
	      "with the embedded defaults (deploy/cellgate.default.yaml: paths from the\n"
	      "working directory) when no --config is given. Logs are JSON lines on\n"
	      "standard error. SIGHUP reloads the configuration, mappings and certificates;\n"
	      "SIGTERM finishes the requests in flight and exits 0.\n"
	      "\n"
	      "--check-config FILE checks a configuration and exits: 0 when it can be used,\n"
	      "1 when it has errors (each with its line and column), 2 when it cannot be read.\n",
	      f);
}

int
cg_cli_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"check-config", required_argument, NULL, 'c'},
	        {"config", required_argument, NULL, 'f'},
	        {"mappings", required_argument, NULL, 'm'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *file = NULL, *config = NULL, *mappings = NULL;
	struct cg_config *cfg = NULL;
	struct cg_diag d;
	struct cg_buf out;
	struct cg_record_report r;
	enum cg_err result;
	int c, status;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:f:m:h", longopts, NULL)) != -1) {
		if (c == 'c') {
			file = optarg;
		} else if (c == 'f') {
			config = optarg;
		} else if (c == 'm') {
			mappings = optarg;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cellgate serve: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!file)
		return cg_serve(config, mappings);
	cg_diag_init(&d, 200);
	result = cg_config_load(file, &cfg, &d);
	if (result) {
		fprintf(stderr, "cellgate serve: %s: %s\n", file,
		        result == CG_EIO ? strerror(errno) : cg_strerror(result));
		cg_diag_free(&d);
		return 2;
	}
	memset(&r, 0, sizeof(r));
	r.diag = &d;
	cg_buf_init(&out, 1u << 20);
	if (!cg_render_text(&out, file, &r) && out.len)
		fputs(out.p, stderr);
	cg_buf_free(&out);
	status = cfg ? 0 : 1;
	if (cfg)
		printf("%s: configuration OK\n", file);
	cg_config_free(cfg);
	cg_diag_free(&d);
	return status;
}
