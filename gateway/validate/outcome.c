/* outcome.c: FHIR OperationOutcomes; see outcome.h. */
#include <stdio.h>
#include <string.h>

#include "outcome.h"

/* {base}/CodeSystem/cellgate-issue, whether base ends with a slash or not. */
static void
system_url(char *out, size_t n, const char *base)
{
	size_t bl = strlen(base);

	if (bl && base[bl - 1] == '/')
		bl--;
	snprintf(out, n, "%.*s/CodeSystem/cellgate-issue", (int)bl, base);
}

void
cg_outcome_begin(struct cg_outcome *o, struct cg_buf *b, const char *base)
{
	system_url(o->system, sizeof(o->system), base);
	o->issues = 0;
	cg_jw_init(&o->w, b);
	cg_jw_object(&o->w, NULL);
	cg_jw_string(&o->w, "resourceType", "OperationOutcome");
	cg_jw_array(&o->w, "issue");
}

static void
issue(struct cg_outcome *o, const char *severity, const char *type, const char *code,
      const char *text, const char *diagnostics)
{
	struct cg_jw *w = &o->w;

	cg_jw_object(w, NULL);
	cg_jw_string(w, "severity", severity);
	cg_jw_string(w, "code", type);
	if (code || text) {
		cg_jw_object(w, "details");
		if (code) {
			cg_jw_array(w, "coding");
			cg_jw_object(w, NULL);
			cg_jw_string(w, "system", o->system);
			cg_jw_string(w, "code", code);
			cg_jw_end(w);
			cg_jw_end(w);
		}
		if (text)
			cg_jw_string(w, "text", text);
		cg_jw_end(w);
	}
	if (diagnostics)
		cg_jw_string(w, "diagnostics", diagnostics);
	cg_jw_end(w);
	o->issues++;
}

void
cg_outcome_diag(struct cg_outcome *o, const struct cg_diag *d, const char *where)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct cg_issue *is = &d->v[i];
		struct cg_buf at;
		enum cg_err err;

		/* Without room for where the issue is, it goes without it. */
		cg_buf_init(&at, CG_BUF_MAX_POINTER);
		err = cg_buf_printf(&at, "%sline %lu, column %lu: %s", where ? where : "", is->line,
		                    is->column, is->path[0] ? is->path : "(root)");
		issue(o, cg_severity_name(cg_code_severity(is->code)), cg_code_fhir_type(is->code),
		      cg_code_name(is->code), is->message, err ? "" : at.p);
		cg_buf_free(&at);
	}
}

void
cg_outcome_add(struct cg_outcome *o, const char *severity, const char *type, const char *code,
               const char *text)
{
	issue(o, severity, type, code, text, NULL);
}

enum cg_err
cg_outcome_end(struct cg_outcome *o, int nl)
{
	if (o->issues == 0)
		issue(o, "information", "informational", NULL, NULL,
		      "no issues: the input is valid");
	cg_jw_end(&o->w);
	cg_jw_end(&o->w);
	if (!o->w.err && nl)
		o->w.err = cg_buf_addc(o->w.b, '\n');
	return o->w.err;
}

enum cg_err
cg_outcome_simple(struct cg_buf *b, const char *base, const char *severity, const char *type,
                  const char *text)
{
	struct cg_outcome o;

	cg_outcome_begin(&o, b, base);
	issue(&o, severity, type, NULL, NULL, text);
	return cg_outcome_end(&o, 0);
}

enum cg_err
cg_outcome_code_system(struct cg_buf *b, const char *base)
{
	char url[600];
	struct cg_jw w;
	size_t i;

	system_url(url, sizeof(url), base);
	cg_jw_init(&w, b);
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "resourceType", "CodeSystem");
	cg_jw_string(&w, "id", "cellgate-issue");
	cg_jw_string(&w, "url", url);
	cg_jw_string(&w, "name", "CellgateIssue");
	cg_jw_string(&w, "title", "cellgate issue codes");
	cg_jw_string(&w, "status", "active");
	cg_jw_string(&w, "description",
	             "The stable codes of the issues cellgate reports, in OperationOutcome "
	             "issue.details.coding and on the command line (docs/cli.md).");
	cg_jw_bool(&w, "caseSensitive", 1);
	cg_jw_string(&w, "content", "complete");
	cg_jw_array(&w, "concept");
	for (i = 0; i < CG_C__COUNT; i++) {
		cg_jw_object(&w, NULL);
		cg_jw_string(&w, "code", cg_code_name((enum cg_code)i));
		cg_jw_string(&w, "definition", cg_code_summary((enum cg_code)i));
		cg_jw_end(&w);
	}
	cg_jw_end(&w);
	cg_jw_end(&w);
	return w.err ? w.err : (b->p ? CG_OK : CG_ENOMEM);
}
