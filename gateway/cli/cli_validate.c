/* cli_validate.c: `cellgate validate`; see cli_validate.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli_common.h"
#include "fileio.h"
#include "mappings.h"
#include "render.h"
#include "validate.h"
#include "cli_validate.h"

#define EXIT_VALID   0
#define EXIT_INVALID 1
#define EXIT_USAGE   2

struct run {
	int json; /* 0 text, 1 NDJSON results, 2 OperationOutcomes */
	int quiet;
	const char *name;  /* the input being read, as the user named it */
	const char *base;  /* canonical base URL, for OperationOutcomes */
	struct cg_buf out; /* one record's output, written at once */
	unsigned long records, invalid, errors, warnings;
	enum cg_err write_err;
};

static void
usage(FILE *f)
{
	fputs("usage: cellgate validate [--format text|json|outcome] [--mappings DIR] [--quiet]\n"
	      "                         [--max-issues N] [--max-depth N] [--max-record-size "
	      "BYTES]\n"
	      "                         FILE... (- for standard input)\n"
	      "       cellgate validate --list-codes\n"
	      "\n"
	      "Checks stem-cell treatment records (.json: one record or an array;\n"
	      ".ndjson/.jsonl: one record a line) against the record contract v1.0.\n"
	      "Exit status: 0 all records valid, 1 some invalid, 2 usage or I/O error.\n",
	      f);
}

static enum cg_err
on_record(void *ctx, const struct cg_record_report *r)
{
	struct run *run = ctx;
	enum cg_err result;

	run->records++;
	run->errors += r->diag->errors;
	run->warnings += r->diag->warnings;
	if (!cg_diag_valid(r->diag))
		run->invalid++;
	cg_buf_reset(&run->out);
	result = run->json == 2   ? cg_render_outcome(&run->out, run->base, r)
	         : run->json == 1 ? cg_render_json(&run->out, run->name, r)
	                          : cg_render_text(&run->out, run->name, r);
	if (result)
		return result;
	if (run->out.len && fwrite(run->out.p, 1, run->out.len, stdout) != run->out.len) {
		run->write_err = CG_EIO;
		return CG_EIO;
	}
	return CG_OK;
}

static int
parse_size(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static void
list_codes(void)
{
	int c;

	for (c = 0; c < CG_C__COUNT; c++)
		printf("%-22s %-11s %s\n", cg_code_name((enum cg_code)c),
		       cg_severity_name(cg_code_severity((enum cg_code)c)),
		       cg_code_summary((enum cg_code)c));
}

int
cg_cli_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"format", required_argument, NULL, 'f'},
	        {"mappings", required_argument, NULL, 'm'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"max-issues", required_argument, NULL, 'I'},
	        {"max-depth", required_argument, NULL, 'D'},
	        {"max-record-size", required_argument, NULL, 'R'},
	        {"max-string-size", required_argument, NULL, 'S'},
	        {"list-codes", no_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cg_validate_opts opts;
	struct cg_mappings *m = NULL;
	struct run run;
	const char *mappings_dir = NULL;
	unsigned long long n;
	int c, status = EXIT_VALID, io_failed = 0, i;
	enum cg_err result;

	memset(&run, 0, sizeof(run));
	cg_validate_opts_default(&opts, NULL);
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:m:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0) {
				run.json = 1;
			} else if (strcmp(optarg, "outcome") == 0) {
				run.json = 2;
			} else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "cellgate validate: --format must be text, json or "
				                "outcome\n");
				return EXIT_USAGE;
			}
			break;
		case 'm':
			mappings_dir = optarg;
			break;
		case 'q':
			run.quiet = 1;
			break;
		case 'I':
			if (parse_size(optarg, 1, 100000, &n))
				goto bad_number;
			opts.max_issues = (size_t)n;
			break;
		case 'D':
			if (parse_size(optarg, 2, CG_JSON_MAX_MAX_DEPTH, &n))
				goto bad_number;
			opts.limits.max_depth = (unsigned)n;
			break;
		case 'R':
			if (parse_size(optarg, 64, 1ull << 30, &n))
				goto bad_number;
			opts.limits.max_record = (size_t)n;
			break;
		case 'S':
			if (parse_size(optarg, 16, 1ull << 30, &n))
				goto bad_number;
			opts.limits.max_string = (size_t)n;
			break;
		case 'L':
			list_codes();
			return EXIT_VALID;
		case 'h':
			usage(stdout);
			return EXIT_VALID;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "cellgate validate: no input given (use - for standard input)\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	m = cg_cli_load_mappings("cellgate validate", mappings_dir);
	if (!m)
		return EXIT_USAGE;
	opts.mappings = m;
	run.base = m->canonical_base;
	cg_buf_init(&run.out, 64u * 1024 * 1024);

	for (i = optind; i < argc; i++) {
		const char *path = argv[i];
		char *text = NULL;
		size_t len = 0;
		int is_stdin = strcmp(path, "-") == 0;

		run.name = is_stdin ? "<stdin>" : path;
		result = cg_file_read(path, CG_FILE_DEFAULT_MAX, &text, &len);
		if (result) {
			if (result == CG_ELIMIT)
				fprintf(stderr, "cellgate validate: %s: larger than %zu bytes\n",
				        run.name, CG_FILE_DEFAULT_MAX);
			else
				fprintf(stderr, "cellgate validate: %s: %s\n", run.name,
				        result == CG_ENOMEM ? cg_strerror(result)
				                            : strerror(errno));
			io_failed = 1;
			continue;
		}
		result = cg_validate_input(&opts, text, len,
		                           is_stdin ? CG_FORMAT_AUTO : cg_format_from_name(path),
		                           on_record, &run);
		free(text);
		if (result) {
			fprintf(stderr, "cellgate validate: %s: %s\n", run.name,
			        cg_strerror(run.write_err ? run.write_err : result));
			io_failed = 1;
			if (run.write_err)
				break;
		}
	}
	if (!run.json && !run.quiet)
		printf("%lu record%s checked: %lu valid, %lu invalid (%lu error%s, %lu "
		       "warning%s)\n",
		       run.records, run.records == 1 ? "" : "s", run.records - run.invalid,
		       run.invalid, run.errors, run.errors == 1 ? "" : "s", run.warnings,
		       run.warnings == 1 ? "" : "s");
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cellgate validate: writing output: %s\n", strerror(errno));
		io_failed = 1;
	}
	if (run.invalid)
		status = EXIT_INVALID;
	if (io_failed)
		status = EXIT_USAGE;
	cg_buf_free(&run.out);
	cg_mappings_free(m);
	return status;

bad_number:
	fprintf(stderr, "cellgate validate: --%s: not a number in the allowed range\n",
	        longopts[c == 'I'   ? 3
	                 : c == 'D' ? 4
	                            : 5]
	                .name);
	return EXIT_USAGE;
}
