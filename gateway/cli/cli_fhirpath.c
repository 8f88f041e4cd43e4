/* cli_fhirpath.c: `cellgate fhirpath`; see cli_fhirpath.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "cli_common.h"
#include "fhirpath.h"
#include "fileio.h"
#include "json_scan.h"
#include "cli_fhirpath.h"

#define EXIT_OK     0
#define EXIT_FAILED 1
#define EXIT_USAGE  2

struct args {
	int format; /* index into formats */
	const char *expressions, *mappings;
	int as_filters, help;
};

enum { FMT_TEXT, FMT_JSON, FMT_TYPED };
static const char *const formats[] = {"text", "json", "typed", NULL};

static const struct cg_cli_opt options[] = {
        {"format", 'f', CG_CLI_CHOICE, offsetof(struct args, format), NULL,
         "text: a line per item (type, then value);\n"
         "json: a JSON array of FHIR JSON values per resource;\n"
         "typed: the same array, each value as {\"type\",\"value\"}",
         0, 0, formats},
        {"expressions", 'e', CG_CLI_STRING, offsetof(struct args, expressions), "FILE",
         "evaluate each expression of FILE (one JSON string\n"
         "a line) instead of EXPRESSION: a JSON line per\n"
         "expression and resource, {\"result\":[...]} or {\"error\"}",
         0, 0, NULL},
        {"mappings", 'm', CG_CLI_STRING, offsetof(struct args, mappings), "DIR",
         "the folder of code tables (the FHIR R4 types)", 0, 0, NULL},
        {"as-filters", 0, CG_CLI_FLAG, offsetof(struct args, as_filters), NULL,
         "as(T) and `as T` on many items keep those of\n"
         "type T, as the invariants are evaluated (the HL7\n"
         "validator's rule before R5), instead of an error",
         0, 0, NULL},
        {"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0, NULL},
        {NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL},
};

static const struct cg_cli_cmd command = {
        "cellgate fhirpath",
        "[options] EXPRESSION FILE... (- for standard input)\n"
        "[options] --expressions FILE FILE...",
        "Evaluates a FHIRPath expression on each FHIR JSON resource (one per FILE)\n"
        "and prints the result. Exit status: 0 evaluated, 1 an evaluation failed,\n"
        "2 usage, I/O, a syntax error or a semantic error (an element the\n"
        "resource's type does not have, such as name.given1 on a Patient; with\n"
        "its column).\n",
        options,
};

struct expr {
	const char *text;
	char *owned;                /* text, when read from a file */
	struct cg_fp_program *prog; /* NULL: syntax error below */
	struct cg_fp_syntax syntax;
};

/* Appends the collection as a JSON array (typed: with each item's type). */
static enum cg_err
render_array(struct cg_buf *b, const struct cg_fp_coll *v, int typed)
{
	enum cg_err r;
	size_t k;

	if ((r = cg_buf_addc(b, '[')))
		return r;
	for (k = 0; k < v->n; k++) {
		if (k && (r = cg_buf_addc(b, ',')))
			return r;
		if (typed && (r = cg_buf_printf(b, "{\"type\":\"%s\",\"value\":",
		                                cg_fp_type_name(&v->items[k]))))
			return r;
		if ((r = cg_fp_item_json(b, &v->items[k])))
			return r;
		if (typed && (r = cg_buf_addc(b, '}')))
			return r;
	}
	return cg_buf_addc(b, ']');
}

static enum cg_err
render_text(struct cg_buf *b, const char *name, const struct cg_fp_coll *v)
{
	enum cg_err r;
	size_t k;

	if (!v->n)
		return cg_buf_printf(b, "%s: (empty)\n", name);
	for (k = 0; k < v->n; k++) {
		if ((r = cg_buf_printf(b, "%s: %s ", name, cg_fp_type_name(&v->items[k]))) ||
		    (r = cg_fp_item_json(b, &v->items[k])) || (r = cg_buf_addc(b, '\n')))
			return r;
	}
	return CG_OK;
}

/* Reads the file of expressions: one JSON string a line. */
static int
load_expressions(const char *path, struct expr **out, size_t *n)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0, cap = 0;
	struct expr *e = NULL;

	*n = 0;
	if (cg_file_read(path, CG_FILE_DEFAULT_MAX, &text, &len)) {
		fprintf(stderr, "cellgate fhirpath: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *s = cJSON_Parse(line);

		if (!cJSON_IsString(s)) {
			fprintf(stderr, "cellgate fhirpath: %s: a JSON string a line expected\n",
			        path);
			cJSON_Delete(s);
			goto fail;
		}
		if (*n == cap) {
			struct expr *ne = realloc(e, (cap = cap ? cap * 2 : 64) * sizeof(*e));

			if (!ne) {
				cJSON_Delete(s);
				goto fail;
			}
			e = ne;
		}
		memset(&e[*n], 0, sizeof(e[*n]));
		e[*n].text = e[*n].owned = strdup(s->valuestring);
		cJSON_Delete(s);
		if (!e[(*n)++].owned)
			goto fail;
	}
	free(text);
	*out = e;
	return 0;
fail:
	while (*n)
		free(e[--*n].owned);
	free(e);
	free(text);
	return -1;
}

int
cg_cli_fhirpath(int argc, char **argv)
{
	struct args a;
	struct cg_mappings *m = NULL;
	struct expr single, *exprs = NULL;
	size_t nexpr = 0, k;
	struct cg_arena *arena = NULL;
	struct cg_buf out;
	struct cg_json_limits lim;
	int first, i, status = EXIT_OK, batch;

	memset(&a, 0, sizeof(a));
	if (cg_cli_parse(&command, argc, argv, &a, &first))
		return EXIT_USAGE;
	if (a.help) {
		cg_cli_usage(stdout, &command, &a);
		return EXIT_OK;
	}
	batch = a.expressions != NULL;
	if (first + (batch ? 0 : 1) >= argc) {
		fprintf(stderr, "cellgate fhirpath: %s\n",
		        batch || first < argc ? "no input file given" : "no expression given");
		cg_cli_usage(stderr, &command, NULL);
		return EXIT_USAGE;
	}
	if (batch) {
		if (load_expressions(a.expressions, &exprs, &nexpr))
			return EXIT_USAGE;
	} else {
		memset(&single, 0, sizeof(single));
		single.text = argv[first++];
		exprs = &single;
		nexpr = 1;
	}
	for (k = 0; k < nexpr; k++) {
		enum cg_err r = cg_fp_compile(exprs[k].text, &exprs[k].prog, &exprs[k].syntax);

		if (r == CG_ENOMEM) {
			fprintf(stderr, "cellgate fhirpath: %s\n", cg_strerror(r));
			status = EXIT_USAGE;
			goto done;
		}
		if (r && !batch) {
			fprintf(stderr, "cellgate fhirpath: syntax error at column %zu: %s\n",
			        exprs[k].syntax.column, exprs[k].syntax.message);
			status = EXIT_USAGE;
			goto done;
		}
	}
	m = cg_cli_load_mappings("cellgate fhirpath", a.mappings);
	if (!m) {
		status = EXIT_USAGE;
		goto done;
	}
	arena = cg_arena_new(256 * 1024);
	cg_buf_init(&out, CG_BUF_MAX_OUTCOME);
	cg_json_limits_default(&lim);
	lim.max_depth = 128;
	lim.max_record = CG_FILE_DEFAULT_MAX;
	if (!arena) {
		status = EXIT_USAGE;
		goto done;
	}
	for (i = first; i < argc; i++) {
		const char *name = strcmp(argv[i], "-") ? argv[i] : "<stdin>";
		struct cg_json_fault fault;
		char *text = NULL;
		size_t len = 0, pos = 0;
		cJSON *root = NULL;
		const char *rtype;
		enum cg_err r;

		cg_arena_reset(arena);
		r = cg_file_read(argv[i], CG_FILE_DEFAULT_MAX, &text, &len);
		if (r) {
			fprintf(stderr, "cellgate fhirpath: %s: %s\n", name,
			        r == CG_EIO ? strerror(errno) : cg_strerror(r));
			status = EXIT_USAGE;
			continue;
		}
		if (cg_json_parse(text, len, &pos, &lim, arena, &root, &fault) ||
		    cg_json_skip_ws(text, len, pos) != len || !cJSON_IsObject(root)) {
			fprintf(stderr, "cellgate fhirpath: %s: not one JSON resource\n", name);
			free(text);
			status = EXIT_USAGE;
			continue;
		}
		rtype = cJSON_GetStringValue(
		        cJSON_GetObjectItemCaseSensitive(root, "resourceType"));
		for (k = 0; k < nexpr; k++) {
			struct cg_fp_env env;
			struct cg_fp_syntax sem;
			struct cg_fp_coll v;

			memset(&env, 0, sizeof(env));
			env.arena = arena;
			env.structure = m->fhir;
			env.resource = root;
			env.as_filters = a.as_filters;
			cg_buf_reset(&out);
			if (!exprs[k].prog) {
				r = cg_buf_printf(
				        &out, "{\"error\":\"%s\",\"syntax\":true,\"column\":%zu}\n",
				        "syntax error", exprs[k].syntax.column);
				if (status < EXIT_USAGE)
					status = EXIT_USAGE;
				goto write;
			}
			if (cg_fp_check(exprs[k].prog, m->fhir, rtype, &sem)) {
				/* a step the resource's type cannot have: like a
				 * syntax error, the expression's fault */
				if (status < EXIT_USAGE)
					status = EXIT_USAGE;
				if (!batch) {
					fprintf(stderr,
					        "cellgate fhirpath: %s: semantic error at column "
					        "%zu: "
					        "%s\n",
					        name, sem.column, sem.message);
					continue;
				}
				if ((r = cg_buf_addstr(&out, "{\"error\":\"")) ||
				    (r = cg_buf_add_json_string(&out, sem.message)) ||
				    (r = cg_buf_printf(&out,
				                       "\",\"semantic\":true,\"column\":%zu}\n",
				                       sem.column)))
					break;
				goto write;
			}
			r = cg_fp_eval(exprs[k].prog, &env, &v);
			if (r) {
				if (status < EXIT_FAILED)
					status = EXIT_FAILED;
				if (!batch) {
					fprintf(stderr, "cellgate fhirpath: %s: %s\n", name,
					        env.error[0] ? env.error : cg_strerror(r));
					continue;
				}
				if ((r = cg_buf_addstr(&out, "{\"error\":\"")) ||
				    (r = cg_buf_add_json_string(&out, env.error[0] ? env.error
				                                                   : "failed")) ||
				    (r = cg_buf_addstr(&out, "\"}\n")))
					break;
				goto write;
			}
			if (batch) {
				if ((r = cg_buf_addstr(&out, "{\"result\":")) ||
				    (r = render_array(&out, &v, a.format != FMT_JSON)) ||
				    (r = cg_buf_addstr(&out, "}\n")))
					break;
			} else if (a.format == FMT_TEXT) {
				r = render_text(&out, name, &v);
			} else {
				if (!(r = render_array(&out, &v, a.format == FMT_TYPED)))
					r = cg_buf_addc(&out, '\n');
			}
		write:
			if (r) {
				fprintf(stderr, "cellgate fhirpath: %s: %s\n", name,
				        cg_strerror(r));
				status = EXIT_USAGE;
				break;
			}
			if (out.len && fwrite(out.p, 1, out.len, stdout) != out.len) {
				status = EXIT_USAGE;
				break;
			}
		}
		free(text);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cellgate fhirpath: writing output: %s\n", strerror(errno));
		status = EXIT_USAGE;
	}
	cg_buf_free(&out);
done:
	cg_arena_free(arena);
	cg_mappings_free(m);
	for (k = 0; k < nexpr; k++)
		cg_fp_program_free(exprs[k].prog);
	if (batch) {
		for (k = 0; k < nexpr; k++)
			free(exprs[k].owned);
		free(exprs);
	}
	return status;
}
