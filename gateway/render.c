/* render.c: a record's diagnostics as CLI text and as NDJSON; see render.h. */
#include <stdio.h>
#include <string.h>

#include "json_write.h"
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
		if (!result)
			result = cg_buf_printf(b, ":%lu:%lu: %s[%s] ", is->line, is->column,
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
		                       cg_diag_valid(r->diag) ? "true" : "false");
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
	struct cg_jw w;
	char system[600];
	size_t i, bl = strlen(base);

	if (bl && base[bl - 1] == '/')
		bl--;
	snprintf(system, sizeof(system), "%.*s/CodeSystem/cellgate-issue", (int)bl, base);
	cg_jw_init(&w, b);
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "resourceType", "OperationOutcome");
	cg_jw_array(&w, "issue");
	for (i = 0; i < r->diag->n; i++) {
		const struct cg_issue *is = &r->diag->v[i];
		char where[96];

		cg_jw_object(&w, NULL);
		cg_jw_string(&w, "severity", cg_severity_name(cg_code_severity(is->code)));
		cg_jw_string(&w, "code", cg_code_fhir_type(is->code));
		cg_jw_object(&w, "details");
		cg_jw_array(&w, "coding");
		cg_jw_object(&w, NULL);
		cg_jw_string(&w, "system", system);
		cg_jw_string(&w, "code", cg_code_name(is->code));
		cg_jw_end(&w);
		cg_jw_end(&w);
		cg_jw_string(&w, "text", is->message);
		cg_jw_end(&w);
		snprintf(where, sizeof(where), "line %lu, column %lu: ", is->line, is->column);
		{
			struct cg_buf d;

			cg_buf_init(&d, 1u << 20);
			cg_buf_addstr(&d, where);
			cg_buf_addstr(&d, is->path[0] ? is->path : "(root)");
			cg_jw_string(&w, "diagnostics", d.p ? d.p : where);
			cg_buf_free(&d);
		}
		cg_jw_end(&w);
	}
	if (r->diag->n == 0) {
		cg_jw_object(&w, NULL);
		cg_jw_string(&w, "severity", "information");
		cg_jw_string(&w, "code", "informational");
		cg_jw_string(&w, "diagnostics", "no issues: the input is valid");
		cg_jw_end(&w);
	}
	cg_jw_end(&w);
	cg_jw_end(&w);
	if (!w.err)
		w.err = cg_buf_addc(b, '\n');
	return w.err;
}
