/* cli_map.c: `cellgate map`; see cli_map.h and docs/cli.md. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "check.h"
#include "cli_common.h"
#include "cli_map.h"
#include "fhir_invariants.h"
#include "fileio.h"
#include "json_pretty.h"
#include "json_write.h"
#include "map.h"
#include "render.h"
#include "validate.h"

struct run {
	const struct cg_mappings *m;
	struct cg_map_opts opts;
	int to_fhir;
	int pretty;
	const char *name;
	unsigned long mapped, failed;
	struct cg_arena *arena;
	enum cg_err write_err;
};

/* The command line, as the option table below fills it. */
struct args {
	int to; /* index into directions, -1 until given */
	const char *canonical_base, *mappings;
	int pretty, help;
};

static const char *const directions[] = {"fhir", "record", NULL};

static const struct cg_cli_opt options[] = {
        {"to", 't', CG_CLI_CHOICE, offsetof(struct args, to), NULL,
         "(required) fhir: each record becomes a FHIR\n"
         "R4 transaction Bundle; record: each Bundle\n"
         "(or Procedure) becomes a record",
         0, 0, directions},
        {"canonical-base", 'b', CG_CLI_STRING, offsetof(struct args, canonical_base), "URL",
         "base of cellgate's extension and code-system\nURLs (default in "
         "mappings/record-fhir.json)",
         0, 0, NULL},
        {"pretty", 'p', CG_CLI_FLAG, offsetof(struct args, pretty), NULL,
         "indent each document (default: one a line)", 0, 0, NULL},
        {"mappings", 'm', CG_CLI_STRING, offsetof(struct args, mappings), "DIR",
         "the folder of code tables", 0, 0, NULL},
        {"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0, NULL},
        {NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL},
};

static const struct cg_cli_cmd command = {
        "cellgate map",
        "--to fhir|record [options] FILE... (- for standard input)",
        "Maps records to FHIR R4 and back. One JSON document per line on standard\n"
        "output; issues on standard error. Exit status: 0 all mapped, 1 some not,\n"
        "2 usage or I/O error.\n",
        options,
};

/* Writes one document (compact JSON text) and a newline, indented if asked. */
static int
emit_text(struct run *run, const char *text, size_t len)
{
	struct cg_buf pretty;
	int ok;

	if (run->pretty) {
		cg_buf_init(&pretty, CG_BUF_MAX_ITEMS);
		if (cg_json_pretty(text, &pretty))
			return -1;
		ok = fwrite(pretty.p, 1, pretty.len, stdout) == pretty.len;
		cg_buf_free(&pretty);
	} else {
		ok = fwrite(text, 1, len, stdout) == len;
	}
	return ok && fputc('\n', stdout) != EOF ? 0 : -1;
}

/* Prints with json_write rather than cJSON_PrintUnformatted: the same text
 * (tests/integration/map_golden checks it), without cJSON's sprintf and
 * sscanf round trip for every number or its reallocations. */
static int
emit(struct run *run, const cJSON *doc)
{
	struct cg_buf text;
	int r = -1;

	cg_buf_init(&text, CG_BUF_MAX_ITEMS);
	if (!cg_jw_write_tree(&text, doc))
		r = emit_text(run, text.p, text.len);
	cg_buf_free(&text);
	return r;
}

static enum cg_err
show_issues(struct run *run, const struct cg_record_report *r)
{
	struct cg_buf b;
	enum cg_err result;

	cg_buf_init(&b, CG_BUF_MAX_OUTCOME);
	result = cg_render_text(&b, run->name, r);
	if (!result && b.len)
		fwrite(b.p, 1, b.len, stderr);
	cg_buf_free(&b);
	return result;
}

static enum cg_err
on_item(void *ctx, const struct cg_record_report *r)
{
	struct run *run = ctx;
	int is_fhir = r->root && cg_json_member(r->root, "resourceType") != NULL;
	cJSON *out = NULL;
	enum cg_err result;

	if (!cg_diag_is_valid(r->diag)) {
		run->failed++;
		return show_issues(run, r);
	}
	if (run->to_fhir == is_fhir) {
		struct cg_diag d;
		struct cg_record_report wrong = *r;

		cg_diag_init(&d, 1);
		cg_diag_add(&d, CG_C_MAP_UNMAPPABLE, "", NULL, 0,
		            run->to_fhir ? "this is FHIR already: use --to record"
		                         : "this is a record: use --to fhir");
		d.v[0].line = r->pos.line;
		d.v[0].column = r->pos.column;
		wrong.diag = &d;
		run->failed++;
		result = show_issues(run, &wrong);
		cg_diag_free(&d);
		return result;
	}
	/* The output tree and its text live in an arena, dropped after the item. */
	cg_arena_activate(run->arena);
	if (run->to_fhir) {
		struct cg_buf text;

		cg_buf_init(&text, CG_BUF_MAX_ITEMS);
		result = cg_map_record_to_fhir(r->root, run->m, &run->opts, &text);
		if (!result && emit_text(run, text.p, text.len)) {
			run->write_err = CG_EIO;
			result = CG_EIO;
		} else if (!result) {
			run->mapped++;
		}
		cg_buf_free(&text);
	} else {
		struct cg_diag d;
		struct cg_record_report back = *r;
		size_t i;

		cg_diag_init(&d, 100);
		result = cg_map_fhir_to_record(r->root, run->m, &run->opts, &out, &d);
		if (!result && !out) {
			/* Issues of mapping have no place in the text: show them at the item. */
			for (i = 0; i < d.n; i++) {
				d.v[i].line = r->pos.line;
				d.v[i].column = r->pos.column;
			}
			back.diag = &d;
			run->failed++;
			result = show_issues(run, &back);
		}
		cg_diag_free(&d);
	}
	if (!result && out) {
		if (emit(run, out)) {
			run->write_err = CG_EIO;
			result = CG_EIO;
		} else {
			run->mapped++;
		}
	}
	cJSON_Delete(out);
	cg_arena_activate(NULL);
	cg_arena_reset(run->arena);
	return result;
}

int
cg_cli_map(int argc, char **argv)
{
	struct cg_validate_opts vopts;
	struct cg_mappings *m = NULL;
	struct cg_fhir_invariants *inv;
	struct run run;
	struct args a;
	int i, io_failed = 0, status, first;
	enum cg_err result;

	memset(&run, 0, sizeof(run));
	memset(&a, 0, sizeof(a));
	a.to = -1;
	if (cg_cli_parse(&command, argc, argv, &a, &first))
		return 2;
	if (a.help) {
		cg_cli_usage(stdout, &command, &a);
		return 0;
	}
	if (a.to < 0) {
		fprintf(stderr, "cellgate map: --to fhir or --to record is required\n");
		cg_cli_usage(stderr, &command, NULL);
		return 2;
	}
	if (first >= argc) {
		fprintf(stderr, "cellgate map: no input given (use - for standard input)\n");
		return 2;
	}
	run.to_fhir = a.to == 0;
	run.pretty = a.pretty;
	run.opts.canonical_base = a.canonical_base;
	m = cg_cli_load_mappings("cellgate map", a.mappings);
	if (!m)
		return 2;
	run.m = m;
	run.arena = cg_arena_new(256 * 1024);
	if (!run.arena) {
		cg_mappings_free(m);
		return 2;
	}
	cg_validate_opts_default(&vopts, m);
	vopts.invariants = inv = cg_cli_load_invariants("cellgate map", m);
	for (i = first; inv && i < argc; i++) {
		char *text = NULL;
		size_t len = 0;
		int is_stdin = strcmp(argv[i], "-") == 0;

		run.name = is_stdin ? "<stdin>" : argv[i];
		result = cg_file_read(argv[i], CG_FILE_DEFAULT_MAX, &text, &len);
		if (result) {
			fprintf(stderr, "cellgate map: %s: %s\n", run.name,
			        result == CG_ELIMIT ? "too large" : strerror(errno));
			io_failed = 1;
			continue;
		}
		result = cg_validate_input(&vopts, text, len,
		                           is_stdin ? CG_FORMAT_AUTO : cg_format_from_name(argv[i]),
		                           on_item, &run);
		free(text);
		if (result) {
			fprintf(stderr, "cellgate map: %s: %s\n", run.name, cg_strerror(result));
			io_failed = 1;
			if (run.write_err)
				break;
		}
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "cellgate map: writing output: %s\n", strerror(errno));
		io_failed = 1;
	}
	cg_cli_report_not_evaluated("cellgate map", inv);
	status = io_failed || !inv ? 2 : run.failed ? 1 : 0;
	cg_arena_free(run.arena);
	cg_fhir_invariants_free(inv);
	cg_mappings_free(m);
	return status;
}
