/*
 * fp_value.c: FHIRPath values: System items made, FHIR values seen as
 * System ones (a Quantity object as a quantity), the string form of a value
 * and its JSON form for output. Dates and times are in fp_dt.c; equality,
 * equivalence and ordering in fp_compare.c.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "json_write.h"
#include "fp_internal.h"

void
fp_bool(struct cg_fp_item *it, int b)
{
	memset(it, 0, sizeof(*it));
	it->kind = CG_FP_BOOLEAN;
	it->u.b = !!b;
}

void
fp_int(struct cg_fp_item *it, long long i)
{
	memset(it, 0, sizeof(*it));
	it->kind = CG_FP_INTEGER;
	it->u.i = i;
}

void
fp_dec(struct cg_fp_item *it, double v, int scale)
{
	memset(it, 0, sizeof(*it));
	it->kind = CG_FP_DECIMAL;
	it->u.d.v = v;
	it->u.d.scale = scale;
}

void
fp_str(struct cg_fp_item *it, const char *s)
{
	memset(it, 0, sizeof(*it));
	it->kind = CG_FP_STRING;
	it->u.s = s;
}

char *
fp_strndup(struct cg_arena *a, const char *s, size_t n)
{
	char *p = cg_arena_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int
fp_scale_of(const char *s, size_t len)
{
	const char *dot = memchr(s, '.', len);
	size_t k = 0;

	if (!dot)
		return 0;
	for (dot++; dot < s + len && isdigit((unsigned char)*dot); dot++)
		k++;
	return (int)k;
}

enum cg_err
fp_single(struct cg_arena *a, const struct cg_fp_item *it, struct cg_fp_coll *out)
{
	out->items = cg_arena_alloc(a, sizeof(*it));
	if (!out->items)
		return CG_ENOMEM;
	out->items[0] = *it;
	out->n = 1;
	return CG_OK;
}

/* ---- System views of FHIR values ---------------------------------------- */

int
fp_is_quantity_type(const char *t)
{
	static const char *const q[] = {"Quantity",       "Age",           "Count",
	                                "Distance",       "Duration",      "Money",
	                                "SimpleQuantity", "MoneyQuantity", NULL};
	int k;

	for (k = 0; t && q[k]; k++)
		if (!strcmp(t, q[k]))
			return 1;
	return 0;
}

/* UCUM codes of the calendar durations, for quantities from FHIR. */
const char *
fp_calendar_of(const char *code)
{
	static const char *const map[][2] = {
	        {"a", "year"}, {"mo", "month"},   {"wk", "week"},  {"d", "day"},
	        {"h", "hour"}, {"min", "minute"}, {"s", "second"}, {"ms", "millisecond"}};
	size_t k;

	for (k = 0; k < sizeof(map) / sizeof(map[0]); k++)
		if (!strcmp(code, map[k][0]))
			return map[k][1];
	return code;
}

void
fp_system_value(const struct cg_fp_item *in, struct cg_fp_item *out)
{
	*out = *in;
	if (in->kind == CG_FP_OBJECT && fp_is_quantity_type(in->ftype) && in->node) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(in->node, "value");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(in->node, "code");
		const cJSON *unit = cJSON_GetObjectItemCaseSensitive(in->node, "unit");

		if (!cJSON_IsNumber(v))
			return;
		memset(out, 0, sizeof(*out));
		out->kind = CG_FP_QUANTITY;
		out->u.d.v = v->valuedouble;
		out->u.d.unit = cJSON_IsString(code)   ? code->valuestring
		                : cJSON_IsString(unit) ? unit->valuestring
		                                       : "1";
	}
}

/* ---- strings ------------------------------------------------------------ */

static const char *
dec_string(struct cg_arena *ar, double v, int scale)
{
	char buf[64];

	if (scale > 0 && scale < 17)
		snprintf(buf, sizeof(buf), "%.*f", scale, v);
	else
		snprintf(buf, sizeof(buf), "%.15g", v);
	return fp_strndup(ar, buf, strlen(buf));
}

const char *
fp_item_string(struct cg_arena *ar, const struct cg_fp_item *it0)
{
	struct cg_fp_item it;
	char buf[96];

	fp_system_value(it0, &it);
	switch (it.kind) {
	case CG_FP_BOOLEAN:
		return it.u.b ? "true" : "false";
	case CG_FP_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", it.u.i);
		break;
	case CG_FP_DECIMAL:
		return dec_string(ar, it.u.d.v, it.u.d.scale);
	case CG_FP_STRING:
		return it.u.s;
	case CG_FP_DATE:
	case CG_FP_DATETIME:
	case CG_FP_TIME:
		fp_dt_format(&it, buf, sizeof(buf));
		break;
	case CG_FP_QUANTITY: {
		const char *n = dec_string(ar, it.u.d.v, it.u.d.scale);
		const char *u = it.u.d.unit;
		int cal = strcmp(fp_calendar_of(u), u) != 0 || !strcmp(u, "year") ||
		          !strcmp(u, "month") || !strcmp(u, "week") || !strcmp(u, "day") ||
		          !strcmp(u, "hour") || !strcmp(u, "minute") || !strcmp(u, "second") ||
		          !strcmp(u, "millisecond");

		if (!n)
			return NULL;
		if (cal && strcmp(fp_calendar_of(u), u) == 0)
			snprintf(buf, sizeof(buf), "%s %s", n, u);
		else
			snprintf(buf, sizeof(buf), "%s '%s'", n, u);
		break;
	}
	default:
		return NULL;
	}
	return fp_strndup(ar, buf, strlen(buf));
}

/* ---- output ------------------------------------------------------------- */

const char *
cg_fp_type_name(const struct cg_fp_item *it)
{
	if (it->ftype)
		return it->ftype;
	switch (it->kind) {
	case CG_FP_BOOLEAN:
		return "boolean";
	case CG_FP_INTEGER:
		return "integer";
	case CG_FP_DECIMAL:
		return "decimal";
	case CG_FP_STRING:
		return "string";
	case CG_FP_DATE:
		return "date";
	case CG_FP_DATETIME:
		return "dateTime";
	case CG_FP_TIME:
		return "time";
	case CG_FP_QUANTITY:
		return "Quantity";
	case CG_FP_TYPEINFO:
		return "SimpleTypeInfo";
	default:
		return "Element";
	}
}

enum cg_err
cg_fp_item_json(struct cg_buf *b, const struct cg_fp_item *it)
{
	char tmp[96];
	enum cg_err r;

	if (it->node && it->kind != CG_FP_NOVALUE)
		return cg_jw_write_tree(b, it->node);
	switch (it->kind) {
	case CG_FP_BOOLEAN:
		return cg_buf_addstr(b, it->u.b ? "true" : "false");
	case CG_FP_INTEGER:
		return cg_buf_printf(b, "%lld", it->u.i);
	case CG_FP_DECIMAL:
		if (it->u.d.scale > 0 && it->u.d.scale < 17)
			return cg_buf_printf(b, "%.*f", it->u.d.scale, it->u.d.v);
		if (!isfinite(it->u.d.v))
			return cg_buf_addstr(b, "null");
		return cg_buf_printf(b, "%.15g", it->u.d.v);
	case CG_FP_STRING:
		if ((r = cg_buf_addc(b, '"')) || (r = cg_buf_add_json_string(b, it->u.s)))
			return r;
		return cg_buf_addc(b, '"');
	case CG_FP_DATE:
	case CG_FP_DATETIME:
	case CG_FP_TIME:
		fp_dt_format(it, tmp, sizeof(tmp));
		return cg_buf_printf(b, "\"%s\"", tmp);
	case CG_FP_QUANTITY:
		if ((r = cg_buf_printf(b, "{\"value\":%.15g,\"unit\":\"", it->u.d.v)) ||
		    (r = cg_buf_add_json_string(b, it->u.d.unit)))
			return r;
		return cg_buf_addstr(b, "\"}");
	case CG_FP_TYPEINFO:
		return cg_buf_printf(b, "{\"namespace\":\"%s\",\"name\":\"%s\"}", it->u.type.ns,
		                     it->u.type.name);
	default:
		return cg_buf_addstr(b, "null");
	}
}
