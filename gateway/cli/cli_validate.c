/* cli_validate.c: `cellgate validate`; see cli_validate.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli_common.h"
#include "fileio.h"
#include "fileview.h"
#include "mappings.h"
#include "render.h"
#include "validate.h"
#include "cli_validate.h"
#include "fhir_invariants.h"

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

/* The command line, as the option table below fills it. */
struct args {
	int format; /* index into formats: 0 text, 1 json, 2 outcome */
	const char *mappings;
	int quiet, list_codes, help, no_invariants;
	unsigned long long max_issues, max_depth, max_record, max_string;
};

static const char *const formats[] = {"text", "json", "outcome", NULL};

static const struct cg_cli_opt options[] = {
        {"format", 'f', CG_CLI_CHOICE, offsetof(struct args, format), NULL,
         "text: a line per issue, then a summary;\n"
         "json: an object per record (NDJSON);\n"
         "outcome: a FHIR OperationOutcome per record",
         0, 0, formats},
        {"mappings", 'm', CG_CLI_STRING, offsetof(struct args, mappings), "DIR",
         "the folder of code tables", 0, 0, NULL},
        {"quiet", 'q', CG_CLI_FLAG, offsetof(struct args, quiet), NULL,
         "no summary line (text format)", 0, 0, NULL},
        {"max-issues", 0, CG_CLI_NUMBER, offsetof(struct args, max_issues), "N",
         "issues kept per record", 1, 100000, NULL},
        {"max-depth", 0, CG_CLI_NUMBER, offsetof(struct args, max_depth), "N",
         "deepest nesting of objects and arrays", 2, CG_JSON_MAX_MAX_DEPTH, NULL},
        {"max-record-size", 0, CG_CLI_NUMBER, offsetof(struct args, max_record), "BYTES",
         "largest record", 64, 1ull << 30, NULL},
        {"max-string-size", 0, CG_CLI_NUMBER, offsetof(struct args, max_string), "BYTES",
         "longest string, member name or number", 16, 1ull << 30, NULL},
        {"no-invariants", 0, CG_CLI_FLAG, offsetof(struct args, no_invariants), NULL,
         "FHIR: structure only, without the R4 core\ninvariants (docs/fhir.md)", 0, 0, NULL},
        {"list-codes", 0, CG_CLI_FLAG, offsetof(struct args, list_codes), NULL,
         "print each issue code with its meaning", 0, 0, NULL},
        {"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0, NULL},
        {NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL},
};

static const struct cg_cli_cmd command = {
        "cellgate validate",
        "[options] FILE... (- for standard input)\n--list-codes",
        "Checks stem-cell treatment records (.json: one record or an array;\n"
        ".ndjson/.jsonl: one record a line) against the record contract v1.0.\n"
        "Exit status: 0 all records valid, 1 some invalid, 2 usage or I/O error.\n",
        options,
};

static enum cg_err
on_record(void *ctx, const struct cg_record_report *r)
{
	struct run *run = ctx;
	enum cg_err result;

	run->records++;
	run->errors += r->diag->errors;
	run->warnings += r->diag->warnings;
	if (!cg_diag_is_valid(r->diag))
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
	struct cg_validate_opts opts;
	struct cg_mappings *m = NULL;
	struct cg_fhir_invariants *inv = NULL;
	struct run run;
	struct args a;
	int status = EXIT_VALID, io_failed = 0, i, first;
	enum cg_err result;

	memset(&run, 0, sizeof(run));
	cg_validate_opts_default(&opts, NULL);
	memset(&a, 0, sizeof(a));
	a.max_issues = opts.max_issues;
	a.max_depth = opts.limits.max_depth;
	a.max_record = opts.limits.max_record;
	a.max_string = opts.limits.max_string;
	if (cg_cli_parse(&command, argc, argv, &a, &first))
		return EXIT_USAGE;
	if (a.help) {
		cg_cli_usage(stdout, &command, &a);
		return EXIT_VALID;
	}
	if (a.list_codes) {
		list_codes();
		return EXIT_VALID;
	}
	run.json = a.format;
	run.quiet = a.quiet;
	opts.max_issues = (size_t)a.max_issues;
	opts.limits.max_depth = (unsigned)a.max_depth;
	opts.limits.max_record = (size_t)a.max_record;
	opts.limits.max_string = (size_t)a.max_string;
	if (first >= argc) {
		fprintf(stderr, "cellgate validate: no input given (use - for standard input)\n");
		cg_cli_usage(stderr, &command, NULL);
		return EXIT_USAGE;
	}
	m = cg_cli_load_mappings("cellgate validate", a.mappings);
	if (!m)
		return EXIT_USAGE;
	opts.mappings = m;
	run.base = m->canonical_base;
	/* compiled once for every file and record of the run */
	if (!a.no_invariants && !(inv = cg_cli_load_invariants("cellgate validate", m))) {
		cg_mappings_free(m);
		return EXIT_USAGE;
	}
	opts.invariants = inv;
	cg_buf_init(&run.out, CG_BUF_MAX_OUTCOME);

	for (i = first; i < argc; i++) {
		const char *path = argv[i];
		struct cg_file_view view;
		int is_stdin = strcmp(path, "-") == 0;

		run.name = is_stdin ? "<stdin>" : path;
		/* a large file mapped, not copied (fileview.h) */
		result = cg_file_view_open(path, CG_FILE_DEFAULT_MAX, &view);
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
		result = cg_validate_input(&opts, view.p, view.len,
		                           is_stdin ? CG_FORMAT_AUTO : cg_format_from_name(path),
		                           on_record, &run);
		if (!result && cg_file_view_changed(&view)) {
			/* what was validated is not what the file holds */
			fprintf(stderr,
			        "cellgate validate: %s: the file shrank while it was read\n",
			        run.name);
			io_failed = 1;
		}
		cg_file_view_close(&view);
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
	/* after the summary: every evaluation of the run is counted */
	cg_cli_report_not_evaluated("cellgate validate", inv);
	if (run.invalid)
		status = EXIT_INVALID;
	if (io_failed)
		status = EXIT_USAGE;
	cg_buf_free(&run.out);
	cg_fhir_invariants_free(inv);
	cg_mappings_free(m);
	return status;
}
