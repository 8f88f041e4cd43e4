/*
 * fp_value.c: FHIRPath values: dates and times with their precision,
 * equality (=), equivalence (~), ordering, the string form of a value and
 * its JSON form for output.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- dates and times ---------------------------------------------------- */

/* n digits at *s as a number, or -1. */
static int
digits(const char **s, const char *end, int n)
{
	int v = 0;

	if (end - *s < n)
		return -1;
	while (n--) {
		if (!isdigit((unsigned char)**s))
			return -1;
		v = v * 10 + (*(*s)++ - '0');
	}
	return v;
}

static int
days_in(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

/* hh(:mm(:ss(.fff)?)?)? from *s; prec counted from base. */
static int
time_part(const char **s, const char *end, struct cg_fp_dt *dt, int base)
{
	int v;

	if ((v = digits(s, end, 2)) < 0 || v > 23)
		return -1;
	dt->hour = (short)v;
	dt->prec = (signed char)(base + 1);
	if (*s < end && **s == ':') {
		(*s)++;
		if ((v = digits(s, end, 2)) < 0 || v > 59)
			return -1;
		dt->minute = (short)v;
		dt->prec = (signed char)(base + 2);
		if (*s < end && **s == ':') {
			(*s)++;
			if ((v = digits(s, end, 2)) < 0 || v > 59)
				return -1;
			dt->second = (short)v;
			dt->prec = (signed char)(base + 3);
			if (*s < end && **s == '.') {
				int n = 0, ms = 0;

				(*s)++;
				while (*s < end && isdigit((unsigned char)**s)) {
					if (n < 3)
						ms = ms * 10 + (**s - '0');
					n++;
					(*s)++;
				}
				if (!n)
					return -1;
				while (n++ < 3)
					ms *= 10;
				dt->ms = (short)ms;
				dt->prec = (signed char)(base + 4);
			}
		}
	}
	return 0;
}

int
fp_dt_parse(const char *s, size_t len, int want_time, enum cg_fp_kind *kind, struct cg_fp_dt *dt)
{
	const char *end = s + len;
	int v;

	memset(dt, 0, sizeof(*dt));
	if (want_time) {
		*kind = CG_FP_TIME;
		if (time_part(&s, end, dt, 0))
			return -1;
		return s == end ? 0 : -1;
	}
	*kind = CG_FP_DATETIME;
	if ((v = digits(&s, end, 4)) < 0)
		return -1;
	dt->year = (short)v;
	dt->month = dt->day = 1;
	dt->prec = 1;
	if (s < end && *s == '-') {
		s++;
		if ((v = digits(&s, end, 2)) < 1 || v > 12)
			return -1;
		dt->month = (short)v;
		dt->prec = 2;
		if (s < end && *s == '-') {
			s++;
			if ((v = digits(&s, end, 2)) < 1 || v > days_in(dt->year, dt->month))
				return -1;
			dt->day = (short)v;
			dt->prec = 3;
		}
	}
	if (s == end) {
		*kind = CG_FP_DATE;
		return 0;
	}
	if (*s != 'T')
		return -1;
	s++;
	if (s == end)
		return 0; /* @2015T: a date-time of date precision */
	if (dt->prec != 3 || time_part(&s, end, dt, 3))
		return -1;
	if (s < end && *s == 'Z') {
		s++;
		dt->has_tz = 1;
	} else if (s < end && (*s == '+' || *s == '-')) {
		int sign = *s++ == '-' ? -1 : 1, h, m;

		if ((h = digits(&s, end, 2)) < 0 || s >= end || *s++ != ':' ||
		    (m = digits(&s, end, 2)) < 0 || h > 14 || m > 59)
			return -1;
		dt->has_tz = 1;
		dt->tz = (short)(sign * (h * 60 + m));
	}
	return s == end ? 0 : -1;
}

void
fp_dt_format(const struct cg_fp_item *it, char *out, size_t size)
{
	const struct cg_fp_dt *d = &it->u.dt;
	size_t n = 0;
	int base = 0;

	out[0] = '\0';
	if (it->kind != CG_FP_TIME) {
		n += (size_t)snprintf(out + n, size - n, "%04d", d->year);
		if (d->prec >= 2)
			n += (size_t)snprintf(out + n, size - n, "-%02d", d->month);
		if (d->prec >= 3)
			n += (size_t)snprintf(out + n, size - n, "-%02d", d->day);
		if (it->kind == CG_FP_DATE || d->prec <= 3)
			return;
		n += (size_t)snprintf(out + n, size - n, "T");
		base = 3;
	}
	if (d->prec >= base + 1)
		n += (size_t)snprintf(out + n, size - n, "%02d", d->hour);
	if (d->prec >= base + 2)
		n += (size_t)snprintf(out + n, size - n, ":%02d", d->minute);
	if (d->prec >= base + 3)
		n += (size_t)snprintf(out + n, size - n, ":%02d", d->second);
	if (d->prec >= base + 4)
		n += (size_t)snprintf(out + n, size - n, ".%03d", d->ms);
	if (it->kind == CG_FP_DATETIME && d->has_tz && n < size) {
		if (d->tz == 0)
			snprintf(out + n, size - n, "Z");
		else
			snprintf(out + n, size - n, "%c%02d:%02d", d->tz < 0 ? '-' : '+',
			         abs(d->tz) / 60, abs(d->tz) % 60);
	}
}

/* Days from 1970-01-01 (proleptic Gregorian). */
static long long
epoch_days(int y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/*
 * Compares two dates, date-times or times field by field down to the
 * precision both have: -1/0/1, or -3 when they agree as far as the
 * coarser goes but one goes further (the result is then empty). Time zones
 * are applied when both have one.
 */
static int
dt_compare(const struct cg_fp_item *a, const struct cg_fp_item *b)
{
	struct cg_fp_dt x = a->u.dt, y = b->u.dt;
	long long fx[7], fy[7];
	int base = a->kind == CG_FP_TIME ? 3 : 0, n, k, px, py;

	px = x.prec + base;
	py = y.prec + base;
	if (a->kind != CG_FP_TIME && px > 3 && py > 3 && x.has_tz != y.has_tz)
		return -3;
	if (a->kind != CG_FP_TIME && x.has_tz && y.has_tz && px > 4 && py > 4) {
		/* to UTC, in minutes from the epoch, then compare */
		long long mx =
		        epoch_days(x.year, x.month, x.day) * 1440 + x.hour * 60 + x.minute - x.tz;
		long long my =
		        epoch_days(y.year, y.month, y.day) * 1440 + y.hour * 60 + y.minute - y.tz;

		if (mx != my)
			return mx < my ? -1 : 1;
		fx[0] = fy[0] = 0;
		k = 5;
		fx[5] = x.second, fy[5] = y.second, fx[6] = x.ms, fy[6] = y.ms;
		n = px < py ? px : py;
		for (; k < n; k++)
			if (fx[k] != fy[k])
				return fx[k] < fy[k] ? -1 : 1;
		return px == py ? 0 : -3;
	}
	fx[0] = x.year, fx[1] = x.month, fx[2] = x.day, fx[3] = x.hour, fx[4] = x.minute,
	fx[5] = x.second, fx[6] = x.ms;
	fy[0] = y.year, fy[1] = y.month, fy[2] = y.day, fy[3] = y.hour, fy[4] = y.minute,
	fy[5] = y.second, fy[6] = y.ms;
	n = px < py ? px : py;
	for (k = base; k < n; k++)
		if (fx[k] != fy[k])
			return fx[k] < fy[k] ? -1 : 1;
	/* seconds and milliseconds are one precision in FHIRPath */
	if ((px == 6 && py == 7) || (px == 7 && py == 6))
		return fx[6] == fy[6] ? 0 : (fx[6] < fy[6] ? -1 : 1);
	return px == py ? 0 : -3;
}

/* ---- System views of FHIR values ---------------------------------------- */

static int
is_quantity_type(const char *t)
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
static const char *
calendar_of(const char *code)
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
	if (in->kind == CG_FP_OBJECT && is_quantity_type(in->ftype) && in->node) {
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

/* ---- comparison --------------------------------------------------------- */

static double
num(const struct cg_fp_item *it)
{
	return it->kind == CG_FP_INTEGER ? (double)it->u.i : it->u.d.v;
}

static int
is_num(const struct cg_fp_item *it)
{
	return it->kind == CG_FP_INTEGER || it->kind == CG_FP_DECIMAL;
}

static int
is_dt(const struct cg_fp_item *it)
{
	return it->kind == CG_FP_DATE || it->kind == CG_FP_DATETIME;
}

/* A string compared with a date: read the string as one. */
static int
coerce_dates(struct cg_fp_item *a, struct cg_fp_item *b)
{
	struct cg_fp_item *s = a->kind == CG_FP_STRING ? a : b->kind == CG_FP_STRING ? b : NULL;
	const struct cg_fp_item *o = s == a ? b : a;
	enum cg_fp_kind k;
	struct cg_fp_dt dt;

	if (!s || !(is_dt(o) || o->kind == CG_FP_TIME))
		return 0;
	if (fp_dt_parse(s->u.s, strlen(s->u.s), o->kind == CG_FP_TIME, &k, &dt))
		return 0;
	s->kind = k;
	s->u.dt = dt;
	return 1;
}

/* Units the same, or the same calendar duration written two ways. */
static int
same_unit(const char *a, const char *b)
{
	return !strcmp(calendar_of(a), calendar_of(b));
}

/* A calendar year or month against UCUM's 'a' or 'mo' (or back): the
 * specification makes = on them empty, as a calendar year is no fixed number
 * of days. */
static int
calendar_vs_ucum(const char *a, const char *b)
{
	return (!strcmp(a, "year") && !strcmp(b, "a")) || (!strcmp(a, "a") && !strcmp(b, "year")) ||
	       (!strcmp(a, "month") && !strcmp(b, "mo")) ||
	       (!strcmp(a, "mo") && !strcmp(b, "month"));
}

static int
cmp_double(double x, double y)
{
	return x < y ? -1 : x > y ? 1 : 0;
}

int
fp_item_compare(const struct cg_fp_item *a0, const struct cg_fp_item *b0)
{
	struct cg_fp_item a, b;

	fp_system_value(a0, &a);
	fp_system_value(b0, &b);
	coerce_dates(&a, &b);
	if (is_num(&a) && is_num(&b)) {
		int sa, sb, s;
		double f;

		if (a.kind == CG_FP_INTEGER && b.kind == CG_FP_INTEGER)
			return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
		/* decimals are doubles here: compare at the larger precision
		 * written (1.8 - 1.2 = 0.6), full precision counting as 12 */
		sa = a.kind == CG_FP_DECIMAL && a.u.d.scale >= 0 ? a.u.d.scale : 12;
		sb = b.kind == CG_FP_DECIMAL && b.u.d.scale >= 0 ? b.u.d.scale : 12;
		if (a.kind == CG_FP_INTEGER)
			sa = 0;
		if (b.kind == CG_FP_INTEGER)
			sb = 0;
		s = sa > sb ? sa : sb;
		if (s > 12)
			s = 12;
		f = pow(10, s);
		if (fabs(num(&a)) * f < 9e15 && fabs(num(&b)) * f < 9e15)
			return cmp_double(round(num(&a) * f), round(num(&b) * f));
		return cmp_double(num(&a), num(&b));
	}
	if (a.kind == CG_FP_STRING && b.kind == CG_FP_STRING) {
		int r = strcmp(a.u.s, b.u.s);

		return r < 0 ? -1 : r > 0;
	}
	if (is_dt(&a) && is_dt(&b))
		return dt_compare(&a, &b);
	if (a.kind == CG_FP_TIME && b.kind == CG_FP_TIME)
		return dt_compare(&a, &b);
	if (a.kind == CG_FP_QUANTITY && b.kind == CG_FP_QUANTITY) {
		double bv;

		if (same_unit(a.u.d.unit, b.u.d.unit))
			return cmp_double(a.u.d.v, b.u.d.v);
		/* commensurable units (4 'g', 4000 'mg'): b in a's unit, equal
		 * to the last few bits a conversion factor may leave */
		if (fp_ucum_convert(b.u.d.v, b.u.d.unit, a.u.d.unit, &bv))
			return -3;
		if (fabs(a.u.d.v - bv) <= 1e-12 * fmax(fabs(a.u.d.v), fabs(bv)))
			return 0;
		return cmp_double(a.u.d.v, bv);
	}
	if (a.kind == CG_FP_BOOLEAN && b.kind == CG_FP_BOOLEAN)
		return a.u.b == b.u.b ? 0 : a.u.b ? 1 : -1;
	return -2;
}

static int
json_equal(const cJSON *a, const cJSON *b)
{
	return cJSON_Compare(a, b, 1) ? 1 : 0;
}

int
fp_item_equal(const struct cg_fp_item *a, const struct cg_fp_item *b)
{
	struct cg_fp_item x, y;
	int r;

	if (a->kind == CG_FP_OBJECT && b->kind == CG_FP_OBJECT) {
		if (is_quantity_type(a->ftype) && is_quantity_type(b->ftype))
			goto compare;
		return json_equal(a->node, b->node);
	}
	if (a->kind == CG_FP_NOVALUE || b->kind == CG_FP_NOVALUE)
		return -1;
	if (a->kind == CG_FP_TYPEINFO || b->kind == CG_FP_TYPEINFO)
		return a->kind == b->kind && !strcmp(a->u.type.ns, b->u.type.ns) &&
		       !strcmp(a->u.type.name, b->u.type.name);
compare:
	fp_system_value(a, &x);
	fp_system_value(b, &y);
	if (x.kind == CG_FP_QUANTITY && y.kind == CG_FP_QUANTITY &&
	    calendar_vs_ucum(x.u.d.unit, y.u.d.unit))
		return -1;
	r = fp_item_compare(a, b);
	if (r == -3) {
		if (x.kind == CG_FP_QUANTITY)
			return 0;
		return -1;
	}
	if (r == -2)
		return 0;
	if (r == 0 && a->kind == CG_FP_DECIMAL && b->kind == CG_FP_DECIMAL)
		return 1;
	return r == 0;
}

/* Equivalence of strings: case and runs of white space ignored. */
static int
str_equiv(const char *x, const char *y)
{
	for (;;) {
		while (isspace((unsigned char)*x) && (x[1] == '\0' || isspace((unsigned char)x[1])))
			x++;
		while (isspace((unsigned char)*y) && (y[1] == '\0' || isspace((unsigned char)y[1])))
			y++;
		if (!*x || !*y)
			return !*x && !*y;
		if (isspace((unsigned char)*x) && isspace((unsigned char)*y)) {
			x++, y++;
			continue;
		}
		if (tolower((unsigned char)*x) != tolower((unsigned char)*y))
			return 0;
		x++, y++;
	}
}

/* ~ on quantities: b in a's unit, both rounded to the precision of the less
 * precise (4 'g' ~ 4040 'mg': 4040 mg is 4.040 g, and 4 g has no digits
 * after the point). A calendar year or month is equivalent to 'a' or 'mo'. */
static int
quantity_equiv(const struct cg_fp_item *a, const struct cg_fp_item *b)
{
	int sa = a->u.d.scale < 0 ? 12 : a->u.d.scale;
	int sb = b->u.d.scale < 0 ? 12 : b->u.d.scale;
	double ratio, bv, f;
	int s;

	if (fp_ucum_convert(1, b->u.d.unit, a->u.d.unit, &ratio))
		return 0;
	bv = b->u.d.v * ratio;
	/* b's digits after the point, counted in a's unit */
	sb -= (int)lround(log10(ratio));
	s = sa < sb ? sa : sb;
	f = pow(10, s);
	return round(a->u.d.v * f) == round(bv * f);
}

int
fp_item_equiv(const struct cg_fp_item *a0, const struct cg_fp_item *b0)
{
	struct cg_fp_item a, b;
	int r;

	fp_system_value(a0, &a);
	fp_system_value(b0, &b);
	if (a.kind == CG_FP_STRING && b.kind == CG_FP_STRING)
		return str_equiv(a.u.s, b.u.s);
	if (is_num(&a) && is_num(&b)) {
		/* decimals compare at the precision of the less precise one */
		int sa = a.kind == CG_FP_DECIMAL ? (a.u.d.scale < 0 ? 12 : a.u.d.scale) : 0;
		int sb = b.kind == CG_FP_DECIMAL ? (b.u.d.scale < 0 ? 12 : b.u.d.scale) : 0;
		int s = sa < sb ? sa : sb;
		double f = pow(10, s);

		return round(num(&a) * f) == round(num(&b) * f);
	}
	if (a.kind == CG_FP_OBJECT && b.kind == CG_FP_OBJECT)
		return json_equal(a.node, b.node);
	if (a.kind == CG_FP_QUANTITY && b.kind == CG_FP_QUANTITY)
		return quantity_equiv(&a, &b);
	r = fp_item_compare(&a, &b);
	return r == 0;
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
		int cal = strcmp(calendar_of(u), u) != 0 || !strcmp(u, "year") ||
		          !strcmp(u, "month") || !strcmp(u, "week") || !strcmp(u, "day") ||
		          !strcmp(u, "hour") || !strcmp(u, "minute") || !strcmp(u, "second") ||
		          !strcmp(u, "millisecond");

		if (!n)
			return NULL;
		if (cal && strcmp(calendar_of(u), u) == 0)
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

/* ---- date arithmetic ---------------------------------------------------- */

static void
from_days(long long z, int *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int
fp_dt_add(const struct cg_fp_item *d, const struct cg_fp_item *q, int sign, struct cg_fp_item *out)
{
	const char *u = !strcmp(q->u.d.unit, "a") || !strcmp(q->u.d.unit, "mo")
	                        ? q->u.d.unit
	                        : calendar_of(q->u.d.unit);
	struct cg_fp_dt t = d->u.dt;
	long long n = (long long)trunc(q->u.d.v) * sign;
	static const char *const units[] = {"year", "month",  "week",   "day",
	                                    "hour", "minute", "second", "millisecond"};
	int k, y, m, dd;

	for (k = 0; k < 8; k++)
		if (!strcmp(u, units[k]))
			break;
	if (k == 8)
		return -1;
	*out = *d;
	if (d->kind == CG_FP_TIME) {
		long long ms = ((t.hour * 60LL + t.minute) * 60 + t.second) * 1000 + t.ms;
		static const long long per[] = {0, 0, 0, 0, 3600000, 60000, 1000, 1};

		if (k < 4)
			return -1;
		ms = ((ms + n * per[k]) % 86400000 + 86400000) % 86400000;
		t.hour = (short)(ms / 3600000);
		t.minute = (short)(ms / 60000 % 60);
		t.second = (short)(ms / 1000 % 60);
		t.ms = (short)(ms % 1000);
		out->u.dt = t;
		return 0;
	}
	if (k == 0 || k == 1) {
		long long months = t.year * 12LL + (t.month - 1) + (k == 0 ? n * 12 : n);

		t.year = (short)(months / 12);
		t.month = (short)(months % 12 + 1);
		if (t.day > days_in(t.year, t.month))
			t.day = (short)days_in(t.year, t.month);
	} else {
		static const long long per[] = {0,       0,     604800000LL, 86400000LL,
		                                3600000, 60000, 1000,        1};
		long long ms = epoch_days(t.year, t.month, t.day) * 86400000LL +
		               ((t.hour * 60LL + t.minute) * 60 + t.second) * 1000 + t.ms;
		long long days;

		if (d->kind == CG_FP_DATE && k > 3)
			return -1;
		ms += n * per[k];
		days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
		ms -= days * 86400000;
		from_days(days, &y, &m, &dd);
		t.year = (short)y;
		t.month = (short)m;
		t.day = (short)dd;
		t.hour = (short)(ms / 3600000);
		t.minute = (short)(ms / 60000 % 60);
		t.second = (short)(ms / 1000 % 60);
		t.ms = (short)(ms % 1000);
	}
	out->u.dt = t;
	return 0;
}
