/* cli_common.c: shared by the subcommands; see cli_common.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli_common.h"
#include "pseudonyms.h"
#include "store.h"
#include "config.h"
#include "fhir_invariants.h"
#include "fileio.h"
#include "render.h"

#define MAX_OPTS    32
#define HELP_COLUMN 34
#define LINE_WIDTH  79

/* getopt_long's code for option i: its letter, else a value no letter has. */
static int
opt_code(const struct cg_cli_opt *o, int i)
{
	return o->letter ? (unsigned char)o->letter : 256 + i;
}

static int
opt_find(const struct cg_cli_opt *opts, int code)
{
	int i;

	for (i = 0; opts[i].name; i++)
		if (opt_code(&opts[i], i) == code)
			return i;
	return -1;
}

/* Prints "usage:" and the synopsis, one line per form of the command. */
static void
synopsis(FILE *f, const struct cg_cli_cmd *cmd)
{
	const char *s = cmd->synopsis, *nl;
	int first = 1, len;

	do {
		nl = strchr(s, '\n');
		len = nl ? (int)(nl - s) : (int)strlen(s);
		fprintf(f, "%s %s%s%.*s\n", first ? "usage:" : "      ", cmd->name, len ? " " : "",
		        len, s);
		first = 0;
		s = nl + 1;
	} while (nl && *s);
}

/* Prints the choices of o as "a|b|c" (sep "|") or "a, b or c" (sep NULL);
 * returns how many characters that took. */
static int
choices(FILE *f, const struct cg_cli_opt *o, const char *sep)
{
	int i, n = 0;

	for (i = 0; o->choices[i]; i++)
		n += fprintf(f, "%s%s",
		             i == 0              ? ""
		             : sep               ? sep
		             : o->choices[i + 1] ? ", "
		                                 : " or ",
		             o->choices[i]);
	return n;
}

/* Says that the usage was wrong and how to learn the right one. */
static int
usage_error(const struct cg_cli_cmd *cmd)
{
	synopsis(stderr, cmd);
	fprintf(stderr, "'%s --help' describes every option.\n", cmd->name);
	return CG_CLI_EXIT_USAGE;
}

/* The number in s, from lo to hi, in *out; -1 when it is not one. */
static int
parse_number(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
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

/* An option getopt_long did not know: unknown, or an abbreviation of
 * several options (getopt_long takes any unambiguous prefix). */
static void
unknown(const struct cg_cli_cmd *cmd, const char *arg)
{
	size_t len = strcspn(arg, "=");
	int i, n = 0;

	if (strncmp(arg, "--", 2) == 0 && len > 2)
		for (i = 0; cmd->opts[i].name; i++)
			n += strncmp(cmd->opts[i].name, arg + 2, len - 2) == 0;
	if (n < 2) {
		fprintf(stderr, "%s: unknown option %.*s\n", cmd->name, (int)len, arg);
		return;
	}
	fprintf(stderr, "%s: option %.*s is ambiguous:", cmd->name, (int)len, arg);
	for (i = 0; cmd->opts[i].name; i++)
		if (strncmp(cmd->opts[i].name, arg + 2, len - 2) == 0)
			fprintf(stderr, " --%s", cmd->opts[i].name);
	fputc('\n', stderr);
}

/* Parses the options, all of them (GNU order) or, when head is set, those
 * before the first operand ('+': getopt_long stops there). */
static int
parse(const struct cg_cli_cmd *cmd, int argc, char **argv, void *args, int *first, int head)
{
	struct option longopts[MAX_OPTS + 1];
	char optstring[2 * MAX_OPTS + 3], *p = optstring, *base = args;
	const struct cg_cli_opt *o;
	unsigned long long n;
	int c, i;

	if (head)
		*p++ = '+';
	*p++ = ':'; /* a missing value is ':', told apart from an unknown option */
	for (i = 0; cmd->opts[i].name && i < MAX_OPTS; i++) {
		o = &cmd->opts[i];
		longopts[i].name = o->name;
		longopts[i].has_arg = o->kind == CG_CLI_FLAG ? no_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = opt_code(o, i);
		if (o->letter) {
			*p++ = o->letter;
			if (o->kind != CG_CLI_FLAG)
				*p++ = ':';
		}
	}
	*p = '\0';
	memset(&longopts[i], 0, sizeof(longopts[i]));
	opterr = 0;
	optind = 0; /* glibc: start afresh, also after another command's parse */
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (c == ':') {
			i = opt_find(cmd->opts, optopt);
			fprintf(stderr, "%s: option --%s needs a value (%s)\n", cmd->name,
			        i >= 0 ? cmd->opts[i].name : "?", i >= 0 ? cmd->opts[i].value : "");
			return usage_error(cmd);
		}
		if (c == '?') {
			/* A known option's code in optopt: a flag given a value. */
			if (optopt && (i = opt_find(cmd->opts, optopt)) >= 0)
				fprintf(stderr, "%s: option --%s takes no value\n", cmd->name,
				        cmd->opts[i].name);
			else if (optopt)
				fprintf(stderr, "%s: unknown option -%c\n", cmd->name, optopt);
			else
				unknown(cmd, argv[optind - 1]);
			return usage_error(cmd);
		}
		i = opt_find(cmd->opts, c);
		if (i < 0)
			return usage_error(cmd);
		o = &cmd->opts[i];
		switch (o->kind) {
		case CG_CLI_FLAG:
			*(int *)(void *)(base + o->field) = 1;
			break;
		case CG_CLI_STRING:
			*(const char **)(void *)(base + o->field) = optarg;
			break;
		case CG_CLI_NUMBER:
			if (parse_number(optarg, o->lo, o->hi, &n)) {
				fprintf(stderr,
				        "%s: --%s: not a number in the allowed range (%llu to "
				        "%llu)\n",
				        cmd->name, o->name, o->lo, o->hi);
				return usage_error(cmd);
			}
			*(unsigned long long *)(void *)(base + o->field) = n;
			break;
		case CG_CLI_CHOICE: {
			int k;

			for (k = 0; o->choices[k] && strcmp(o->choices[k], optarg) != 0; k++)
				;
			if (!o->choices[k]) {
				fprintf(stderr, "%s: --%s must be ", cmd->name, o->name);
				choices(stderr, o, NULL);
				fputc('\n', stderr);
				return usage_error(cmd);
			}
			*(int *)(void *)(base + o->field) = k;
			break;
		}
		}
	}
	*first = optind;
	return 0;
}

int
cg_cli_parse(const struct cg_cli_cmd *cmd, int argc, char **argv, void *args, int *first)
{
	return parse(cmd, argc, argv, args, first, 0);
}

int
cg_cli_parse_head(const struct cg_cli_cmd *cmd, int argc, char **argv, void *args, int *first)
{
	return parse(cmd, argc, argv, args, first, 1);
}

void
cg_cli_usage(FILE *f, const struct cg_cli_cmd *cmd, const void *defaults)
{
	const char *def = defaults;
	const struct cg_cli_opt *o;
	char extra[100];
	int i, width, len;

	synopsis(f, cmd);
	if (cmd->about)
		fprintf(f, "\n%s", cmd->about);
	fputs("\noptions:\n", f);
	for (i = 0; cmd->opts[i].name; i++) {
		const char *h, *nl;

		o = &cmd->opts[i];
		if (o->letter)
			width = fprintf(f, "  -%c, --%s", o->letter, o->name);
		else
			width = fprintf(f, "      --%s", o->name);
		if (o->kind == CG_CLI_CHOICE) {
			fputc(' ', f);
			width += 1 + choices(f, o, "|");
		} else if (o->value) {
			width += fprintf(f, " %s", o->value);
		}
		if (width >= HELP_COLUMN - 1) {
			fputc('\n', f);
			width = 0;
		}
		/* The help, a line of the table's per line, in the second column. */
		for (h = o->help; h; h = nl ? nl + 1 : NULL) {
			nl = strchr(h, '\n');
			len = nl ? (int)(nl - h) : (int)strlen(h);
			fprintf(f, "%*s%.*s", HELP_COLUMN - width, "", len, h);
			width = HELP_COLUMN + len;
			if (nl) {
				fputc('\n', f);
				width = 0;
			}
		}
		extra[0] = '\0';
		if (o->kind == CG_CLI_NUMBER) {
			const unsigned long long *v = def ? (const void *)(def + o->field) : NULL;

			if (v && *v)
				snprintf(extra, sizeof(extra), "(%llu to %llu; default %llu)",
				         o->lo, o->hi, *v);
			else
				snprintf(extra, sizeof(extra), "(%llu to %llu)", o->lo, o->hi);
		} else if (o->kind == CG_CLI_CHOICE && def &&
		           *(const int *)(const void *)(def + o->field) >= 0) {
			snprintf(extra, sizeof(extra), "(default %s)",
			         o->choices[*(const int *)(const void *)(def + o->field)]);
		}
		/* The range and default after the help, or below it when too long. */
		if (extra[0] && width + 1 + (int)strlen(extra) > LINE_WIDTH)
			fprintf(f, "\n%*s%s", HELP_COLUMN, "", extra);
		else if (extra[0])
			fprintf(f, " %s", extra);
		fputc('\n', f);
	}
}

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

struct cg_fhir_invariants *
cg_cli_load_invariants(const char *command, const struct cg_mappings *m)
{
	struct cg_fhir_invariants *inv = NULL;
	char *why = NULL;
	enum cg_err result = cg_fhir_invariants_load(m->dir, &inv, &why);

	if (result)
		fprintf(stderr, "%s: invariants: %s\n", command, why ? why : cg_strerror(result));
	free(why);
	return inv;
}

/* The names cg_cli_report_not_evaluated lists: failed evaluations
 * (want 1) or expressions that did not compile (want 0). */
struct named {
	int want;
	size_t shown, more;
	struct cg_buf b;
};

static enum cg_err
name_failure(void *ctx, const char *key, const char *where, unsigned long n)
{
	struct named *nm = ctx;

	if ((n > 0) != nm->want)
		return CG_OK;
	if (nm->shown == CG_CLI_NAMED_INVARIANTS) {
		nm->more++;
		return CG_OK;
	}
	nm->shown++;
	if (n)
		return cg_buf_printf(&nm->b, "%s%s (%s) %lu", nm->shown > 1 ? ", " : "", key, where,
		                     n);
	return cg_buf_printf(&nm->b, "%s%s (%s)", nm->shown > 1 ? ", " : "", key, where);
}

/* The names of one kind, or "" when out of memory. */
static const char *
named(const struct cg_fhir_invariants *inv, struct named *nm, int want)
{
	struct cg_fhir_failures sum;

	memset(nm, 0, sizeof(*nm));
	nm->want = want;
	cg_buf_init(&nm->b, CG_BUF_MAX_MESSAGE);
	if (cg_fhir_invariants_failures(inv, name_failure, nm, &sum) ||
	    (nm->more && cg_buf_printf(&nm->b, " and %zu more", nm->more)) || !nm->b.p)
		return "";
	return nm->b.p;
}

void
cg_cli_report_not_evaluated(const char *command, const struct cg_fhir_invariants *inv)
{
	struct cg_fhir_failures sum;
	struct named nm;

	cg_fhir_invariants_failures(inv, NULL, NULL, &sum);
	if (sum.evaluations) {
		fprintf(stderr,
		        "%s: %lu invariant evaluation%s could not be completed, so %s not "
		        "checked (counted, not reported as broken): %s\n",
		        command, sum.evaluations, sum.evaluations == 1 ? "" : "s",
		        sum.evaluations == 1 ? "it was" : "they were", named(inv, &nm, 1));
		cg_buf_free(&nm.b);
	}
	if (sum.not_compiled) {
		fprintf(stderr, "%s: %zu invariant%s did not compile and %s never checked: %s\n",
		        command, sum.not_compiled, sum.not_compiled == 1 ? "" : "s",
		        sum.not_compiled == 1 ? "is" : "are", named(inv, &nm, 0));
		cg_buf_free(&nm.b);
	}
}

int
cg_cli_load_config(const char *command, const char *file, struct cg_config **out)
{
	return cg_cli_load_config_as(command, file, NULL, out);
}

int
cg_cli_load_config_as(const char *command, const char *file, const char *policy_key,
                      struct cg_config **out)
{
	struct cg_record_report r;
	struct cg_diag d;
	struct cg_buf text;
	enum cg_err err;

	*out = NULL;
	cg_diag_init(&d, 200);
	err = policy_key ? cg_config_load_policy(file, *policy_key ? policy_key : NULL, out, &d)
	                 : cg_config_load(file, out, &d);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", command, file,
		        err == CG_EIO ? strerror(errno) : cg_strerror(err));
		cg_diag_free(&d);
		return 2;
	}
	memset(&r, 0, sizeof(r));
	r.diag = &d;
	cg_buf_init(&text, CG_BUF_MAX_OUTCOME);
	if (!cg_render_text(&text, file, &r) && text.len)
		fputs(text.p, stderr);
	cg_buf_free(&text);
	cg_diag_free(&d);
	return *out ? 0 : 1;
}

int
cg_cli_open_pseudonyms(const char *path, struct cg_pseudonyms **out, char *why, size_t whylen)
{
	enum cg_err err = cg_pseudonyms_open(path, 1, out, why, whylen);

	if (err == CG_ENOENT) {
		struct cg_store *s = NULL;

		/* No store: no gateway has used it, so making it here is safe. */
		char dir[4096], *slash;

		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			if (cg_file_make_folder(dir)) {
				snprintf(why, whylen, "cannot make the folder %s: %s", dir,
				         strerror(errno));
				return -1;
			}
		}
		if (cg_store_open(path, &s, why, whylen))
			return -1;
		cg_store_close(s);
		err = cg_pseudonyms_open(path, 1, out, why, whylen);
	}
	return err ? -1 : 0;
}
