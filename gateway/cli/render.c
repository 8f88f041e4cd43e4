/* render.c: a record's diagnostics as CLI text and as NDJSON; see render.h. */
#include <stdio.h>
#include <string.h>

#include "json_write.h"
#include "outcome.h"
#include "render.h"

static const char *
text_severity(enum cg_severity sev)
{
	return sev == CG_SEV_INFO ? "note" : cg_severity_name(sev);
}

enum cg_err
cg_render_text(struct cg_buf *b, const char *name, const struct cg_record_report *r)
{
	enum cg_err result = CG_OK;
	size_t i;

	for (i = 0; i < r->diag->n && !result; i++) {
		const struct cg_issue *is = &r->diag->v[i];

		result = cg_buf_add_printable(b, name);
		/* ":LINE:COLUMN: SEVERITY[CODE] ", written out (once per issue) */
		if (!result)
			result = cg_buf_addc(b, ':');
		if (!result)
			result = cg_buf_add_ulong(b, is->line);
		if (!result)
			result = cg_buf_addc(b, ':');
		if (!result)
			result = cg_buf_add_ulong(b, is->column);
		if (!result)
			result = cg_buf_printf(b, ": %s[%s] ",
			                       text_severity(cg_code_severity(is->code)),
			                       cg_code_name(is->code));
		if (!result)
			result = cg_buf_add_printable(b, is->path[0] ? is->path : "(root)");
		if (!result)
			result = cg_buf_addstr(b, ": ");
		if (!result)
			result = cg_buf_add_printable(b, is->message);
		if (!result)
			result = cg_buf_addc(b, '\n');
	}
	return result;
}

static enum cg_err
json_field_str(struct cg_buf *b, const char *name, const char *value)
{
	enum cg_err result = cg_buf_printf(b, "\"%s\":", name);

	if (result)
		return result;
	if (!value)
		return cg_buf_addstr(b, "null");
	result = cg_buf_addc(b, '"');
	if (!result)
		result = cg_buf_add_json_string(b, value);
	if (!result)
		result = cg_buf_addc(b, '"');
	return result;
}

enum cg_err
cg_render_json(struct cg_buf *b, const char *name, const struct cg_record_report *r)
{
	enum cg_err result;
	size_t i;

	result = cg_buf_addc(b, '{');
	if (!result)
		result = json_field_str(b, "file", name);
	if (!result)
		result = cg_buf_printf(b, ",\"index\":%lu,\"line\":%lu,", r->index, r->pos.line);
	if (!result)
		result = json_field_str(b, "recordId", r->record_id);
	if (!result)
		result = cg_buf_printf(b, ",\"valid\":%s,\"issues\":[",
		                       cg_diag_is_valid(r->diag) ? "true" : "false");
	for (i = 0; i < r->diag->n && !result; i++) {
		const struct cg_issue *is = &r->diag->v[i];

		result = cg_buf_addstr(b, i ? ",{" : "{");
		if (!result)
			result = json_field_str(b, "severity",
			                        cg_severity_name(cg_code_severity(is->code)));
		if (!result)
			result = cg_buf_addc(b, ',');
		if (!result)
			result = json_field_str(b, "code", cg_code_name(is->code));
		if (!result)
			result = cg_buf_addc(b, ',');
		if (!result)
			result = json_field_str(b, "path", is->path);
		if (!result)
			result = cg_buf_printf(b, ",\"line\":%lu,\"column\":%lu,", is->line,
			                       is->column);
		if (!result)
			result = json_field_str(b, "message", is->message);
		if (!result)
			result = cg_buf_addc(b, '}');
	}
	if (!result)
		result = cg_buf_addstr(b, "]}\n");
	return result;
}

enum cg_err
cg_render_outcome(struct cg_buf *b, const char *base, const struct cg_record_report *r)
{
	struct cg_outcome o;

	cg_outcome_begin(&o, b, base);
	cg_outcome_diag(&o, r->diag, NULL);
	return cg_outcome_end(&o, 1);
}
