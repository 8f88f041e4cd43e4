/*
 * fp_fn_conv.c: the conversion functions, toX() and convertsToX(): what
 * each makes of an item, one place for both.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fp_fn.h"

/* ---- conversion --------------------------------------------------------- */

/* What each conversion makes of an item: 1 and *res, 0 when it cannot. */
static int
to_integer(const struct cg_fp_item *it, struct cg_fp_item *res)
{
	char *end;
	long long v;

	switch (it->kind) {
	case CG_FP_INTEGER:
		fp_int(res, it->u.i);
		return 1;
	case CG_FP_BOOLEAN:
		fp_int(res, it->u.b);
		return 1;
	case CG_FP_STRING:
		if (!*it->u.s || isspace((unsigned char)*it->u.s))
			return 0;
		v = strtoll(it->u.s, &end, 10);
		if (*end || v > 2147483647LL || v < -2147483648LL)
			return 0;
		fp_int(res, v);
		return 1;
	default:
		return 0;
	}
}

static int
to_decimal(const struct cg_fp_item *it, struct cg_fp_item *res)
{
	const char *s;

	switch (it->kind) {
	case CG_FP_INTEGER:
		fp_dec(res, (double)it->u.i, 0);
		return 1;
	case CG_FP_DECIMAL:
		fp_dec(res, it->u.d.v, it->u.d.scale);
		return 1;
	case CG_FP_BOOLEAN:
		fp_dec(res, it->u.b, 1);
		return 1;
	case CG_FP_STRING: {
		char *end;
		double v;

		s = it->u.s;
		if (!*s || !(isdigit((unsigned char)s[*s == '-' || *s == '+'])))
			return 0;
		if (strpbrk(s, "eExXnN"))
			return 0;
		v = strtod(s, &end);
		if (*end)
			return 0;
		fp_dec(res, v, fp_scale_of(s, strlen(s)));
		return 1;
	}
	default:
		return 0;
	}
}

static int
to_boolean(const struct cg_fp_item *it, struct cg_fp_item *res)
{
	static const char *const t[] = {"true", "t", "yes", "y", "1", "1.0", NULL};
	static const char *const f[] = {"false", "f", "no", "n", "0", "0.0", NULL};
	int k;

	switch (it->kind) {
	case CG_FP_BOOLEAN:
		fp_bool(res, it->u.b);
		return 1;
	case CG_FP_INTEGER:
		if (it->u.i != 0 && it->u.i != 1)
			return 0;
		fp_bool(res, it->u.i == 1);
		return 1;
	case CG_FP_DECIMAL:
		if (it->u.d.v != 0 && it->u.d.v != 1)
			return 0;
		fp_bool(res, it->u.d.v == 1);
		return 1;
	case CG_FP_STRING:
		for (k = 0; t[k]; k++)
			if (!strcasecmp(it->u.s, t[k])) {
				fp_bool(res, 1);
				return 1;
			}
		for (k = 0; f[k]; k++)
			if (!strcasecmp(it->u.s, f[k])) {
				fp_bool(res, 0);
				return 1;
			}
		return 0;
	default:
		return 0;
	}
}

static int
to_string(struct fp_ctx *c, const struct cg_fp_item *it, struct cg_fp_item *res)
{
	const char *s = fp_item_string(ARENA, it);

	if (!s)
		return 0;
	fp_str(res, s);
	return 1;
}

static int
to_dt(const struct cg_fp_item *it, enum cg_fp_kind want, struct cg_fp_item *res)
{
	enum cg_fp_kind k;
	struct cg_fp_dt dt;

	memset(res, 0, sizeof(*res));
	if (it->kind == CG_FP_STRING) {
		const char *s = it->u.s;
		int t = want == CG_FP_TIME;

		if (t && s[0] == 'T')
			s++;
		if (fp_dt_parse(s, strlen(s), t, &k, &dt))
			return 0;
	} else if (it->kind == CG_FP_DATE || it->kind == CG_FP_DATETIME || it->kind == CG_FP_TIME) {
		k = it->kind;
		dt = it->u.dt;
	} else {
		return 0;
	}
	if (want == CG_FP_TIME ? k != CG_FP_TIME : k == CG_FP_TIME)
		return 0;
	if (want == CG_FP_DATE && dt.prec > 3) {
		dt.prec = 3;
		dt.has_tz = 0;
	}
	res->kind = want;
	res->u.dt = dt;
	return 1;
}

/* A string as toQuantity() reads it: a number, optionally followed by a
 * UCUM unit in quotes or a calendar word (day, days, week...). */
static int
string_quantity(struct fp_ctx *c, const char *s, struct cg_fp_item *res)
{
	static const char *const cal[] = {"year",   "month",  "week",        "day", "hour",
	                                  "minute", "second", "millisecond", NULL};
	const char *p = s, *num, *u;
	size_t n;
	char *end;

	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return 0;
		for (p++; isdigit((unsigned char)*p);)
			p++;
	}
	num = p;
	res->u.d.v = strtod(s, &end);
	if (end != num)
		return 0;
	res->u.d.scale = fp_scale_of(s, (size_t)(num - s));
	while (*p == ' ')
		p++;
	if (!*p) {
		res->u.d.unit = "1";
		return p == num;
	}
	if (p == num)
		return 0;
	if (*p == '\'') {
		u = ++p;
		while (*p && *p != '\'')
			p++;
		if (*p != '\'' || p == u || p[1])
			return 0;
		n = (size_t)(p - u);
	} else {
		u = p;
		while (isalpha((unsigned char)*p))
			p++;
		if (*p)
			return 0;
		n = (size_t)(p - u);
		for (int k = 0;; k++) {
			size_t w;

			if (!cal[k])
				return 0;
			w = strlen(cal[k]);
			if ((n == w || (n == w + 1 && u[w] == 's')) && !strncmp(u, cal[k], w)) {
				res->u.d.unit = cal[k];
				return 1;
			}
		}
	}
	if (!(res->u.d.unit = fp_strndup(ARENA, u, n)))
		return -1;
	return 1;
}

static int
to_quantity(struct fp_ctx *c, const struct cg_fp_item *it0, struct cg_fp_item *res)
{
	struct cg_fp_item it;

	fp_system_value(it0, &it);
	memset(res, 0, sizeof(*res));
	res->kind = CG_FP_QUANTITY;
	switch (it.kind) {
	case CG_FP_QUANTITY:
		*res = it;
		res->node = NULL;
		res->ftype = NULL;
		return 1;
	case CG_FP_INTEGER:
		res->u.d.v = (double)it.u.i;
		res->u.d.unit = "1";
		return 1;
	case CG_FP_DECIMAL:
		res->u.d.v = it.u.d.v;
		res->u.d.scale = it.u.d.scale;
		res->u.d.unit = "1";
		return 1;
	case CG_FP_BOOLEAN:
		res->u.d.v = it.u.b;
		res->u.d.unit = "1";
		return 1;
	case CG_FP_STRING:
		return string_quantity(c, it.u.s, res);
	default:
		return 0;
	}
}

enum conv { C_INT, C_DEC, C_BOOL, C_STR, C_DATE, C_DT, C_TIME, C_QTY };

static int
convert(struct fp_ctx *c, enum conv to, const struct cg_fp_item *it, struct cg_fp_item *res)
{
	switch (to) {
	case C_INT:
		return to_integer(it, res);
	case C_DEC:
		return to_decimal(it, res);
	case C_BOOL:
		return to_boolean(it, res);
	case C_STR:
		return to_string(c, it, res);
	case C_DATE:
		return to_dt(it, CG_FP_DATE, res);
	case C_DT:
		return to_dt(it, CG_FP_DATETIME, res);
	case C_TIME:
		return to_dt(it, CG_FP_TIME, res);
	default:
		return to_quantity(c, it, res);
	}
}

static enum conv
conv_of(const char *name)
{
	static const char *const names[] = {"Integer", "Decimal",  "Boolean", "String",
	                                    "Date",    "DateTime", "Time",    "Quantity"};
	enum conv k;

	for (k = C_INT; k <= C_QTY; k++)
		if (strstr(name, names[k]) && strlen(strstr(name, names[k])) == strlen(names[k]))
			return k;
	return C_STR;
}

/* toQuantity(unit) and convertsToQuantity(unit): the quantity in the unit
 * asked for, when its own converts to it (1 when so, 0 when not, -1 on an
 * error already recorded). */
static int
to_unit(struct fp_ctx *c, const struct fp_call *call, struct cg_fp_item *res)
{
	const char *unit;
	double v;
	int r;

	if (!call->node->nargs)
		return 1;
	r = fp_arg_string(c, call, 0, &unit);
	if (r <= 0)
		return r;
	if (!strcmp(fp_ucum_code(unit), fp_ucum_code(res->u.d.unit)))
		return 1;
	if (fp_ucum_convert(res->u.d.v, res->u.d.unit, unit, &v))
		return 0;
	res->u.d.v = v;
	res->u.d.unit = unit;
	res->u.d.scale = -1;
	return 1;
}

FN(fp_fn_to)
{
	const struct cg_fp_item *it;
	struct cg_fp_item res;

	int r;

	CHECK(fp_one(c, in, call, &it));
	if ((r = convert(c, conv_of(call->node->fn->name), it, &res)) < 0)
		return CG_ENOMEM;
	if (r && res.kind == CG_FP_QUANTITY && (r = to_unit(c, call, &res)) < 0)
		return CG_EINVAL;
	if (r)
		return fp_ret_item(c, &res, out);
	return CG_OK;
}

FN(fp_fn_convertsto)
{
	const struct cg_fp_item *it;
	struct cg_fp_item res;

	int r;

	CHECK(fp_one(c, in, call, &it));
	if ((r = convert(c, conv_of(call->node->fn->name), it, &res)) < 0)
		return CG_ENOMEM;
	if (r && res.kind == CG_FP_QUANTITY && (r = to_unit(c, call, &res)) < 0)
		return CG_EINVAL;
	return fp_ret_bool(c, r, out);
}
