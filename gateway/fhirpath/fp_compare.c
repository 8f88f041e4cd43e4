/*
 * fp_compare.c: FHIRPath equality (=), equivalence (~) and ordering of two
 * items, FHIR values seen as System ones, strings read as dates where
 * compared with one, quantities in commensurable units.
 */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fp_internal.h"

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
	return !strcmp(fp_calendar_of(a), fp_calendar_of(b));
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
		return fp_dt_compare(&a, &b);
	if (a.kind == CG_FP_TIME && b.kind == CG_FP_TIME)
		return fp_dt_compare(&a, &b);
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
		if (fp_is_quantity_type(a->ftype) && fp_is_quantity_type(b->ftype))
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
