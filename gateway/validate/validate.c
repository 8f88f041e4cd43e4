/* validate.c: the validation pipeline over one input; see validate.h. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "fhir_validate.h"
#include "json_member.h"
#include "locate.h"
#include "record_validate.h"
#include "validate.h"

void
cg_validate_opts_default(struct cg_validate_opts *o, const struct cg_mappings *m)
{
	memset(o, 0, sizeof(*o));
	o->mappings = m;
	cg_json_limits_default(&o->limits);
	o->max_issues = CG_DEFAULT_MAX_ISSUES;
	cg_date_today(&o->today);
}

/* Says how many issues were counted but not kept, as the last issue. */
static enum cg_err
note_dropped(struct cg_diag *d, size_t at)
{
	size_t dropped = d->dropped;
	enum cg_err result;

	if (!dropped)
		return CG_OK;
	d->max++;
	result = cg_diag_add(d, CG_C_TOO_MANY_ISSUES, "", NULL, 0,
	                     "%zu more issues in this record are not shown (limit %zu)", dropped,
	                     d->max - 1);
	d->max--;
	if (!result) {
		struct cg_issue *is = &d->v[d->n - 1];

		is->offset = at;
		is->line = d->n > 1 ? d->v[d->n - 2].line : 1;
		is->column = d->n > 1 ? d->v[d->n - 2].column : 1;
		is->located = 1;
	}
	return result;
}

static enum cg_err
report_fault(struct cg_diag *d, const struct cg_span *span, const struct cg_json_fault *f,
             const char *p, cg_report_fn report, void *ctx)
{
	struct cg_record_report r;
	struct cg_textpos tp = span->pos;
	enum cg_err result;

	result = cg_diag_add(d, f->code, "", NULL, 0, "%s", f->message);
	if (result)
		return result;
	cg_textpos_advance(&tp, p, f->offset);
	d->v[0].offset = f->offset;
	d->v[0].line = tp.line;
	d->v[0].column = tp.column;
	d->v[0].located = 1;
	r.index = span->index;
	r.pos = span->pos;
	r.start = span->start;
	r.end = span->end;
	r.record_id = NULL;
	r.diag = d;
	r.root = NULL;
	return report(ctx, &r);
}

static enum cg_err
check_record(const struct cg_validate_opts *o, struct cg_diag *d, const char *p,
             const struct cg_span *span, const struct cg_arena *arena, cg_report_fn report,
             void *ctx)
{
	struct cg_record_report r;
	const cJSON *root;
	char idbuf[160];
	int fhir;
	enum cg_err result;

	root = span->root; /* built in the arena by the splitter */
	/* FHIR resources say what they are; records do not. */
	fhir = cg_json_member(root, "resourceType") != NULL;
	if (fhir) {
		/* the invariants (when on) in the same walk */
		result = cg_fhir_validate_with(root, o->mappings->fhir, o->invariants, d, NULL);
	} else
		result = cg_record_validate(root, o->mappings, &o->today, d);
	if (!result && d->n)
		result = cg_locate_issues(d, arena, p, span->start, &span->pos);
	if (!result)
		result = note_dropped(d, span->end);
	if (!result) {
		const cJSON *id = cg_json_member(root, fhir ? "id" : "recordId");
		const char *rt = cJSON_GetStringValue(cg_json_member(root, "resourceType"));

		r.index = span->index;
		r.pos = span->pos;
		r.start = span->start;
		r.end = span->end;
		r.record_id = cJSON_IsString(id) ? id->valuestring : NULL;
		/* A resource is named Type/id, as in a FHIR reference. */
		if (fhir && r.record_id && rt) {
			snprintf(idbuf, sizeof(idbuf), "%.60s/%.64s", rt, r.record_id);
			r.record_id = idbuf;
		}
		r.diag = d;
		r.root = root;
		result = report(ctx, &r);
	}
	return result;
}

enum cg_err
cg_validate_input(const struct cg_validate_opts *o, const char *p, size_t len,
                  enum cg_format format, cg_report_fn report, void *ctx)
{
	struct cg_split split;
	struct cg_span span;
	struct cg_json_fault fault;
	struct cg_diag d;
	struct cg_arena *arena = cg_arena_thread(CG_ARENA_SLOT_PARSE, 64 * 1024);
	enum cg_split_result sr;
	enum cg_err result = CG_OK;

	if (!arena)
		return CG_ENOMEM;
	cg_diag_init(&d, o->max_issues);
	cg_split_init(&split, p, len, format, &o->limits, arena);
	while (!result && (sr = cg_split_next(&split, &span, &fault)) != CG_SPLIT_END) {
		cg_diag_reset(&d);
		if (sr == CG_SPLIT_NOMEM)
			result = CG_ENOMEM;
		else if (sr == CG_SPLIT_FAULT)
			result = report_fault(&d, &span, &fault, p, report, ctx);
		else
			result = check_record(o, &d, p, &span, arena, report, ctx);
		/* Whatever the record built is dropped here, at once. */
		cg_arena_reset(arena);
	}
	cg_diag_free(&d);
	cg_arena_reset(arena); /* kept for the thread's next input */
	return result;
}
