/*
 * fp_fn_bound.c: precision(), lowBoundary() and highBoundary() on
 * decimals, quantities, dates, date-times and times.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp_fn.h"

/* ---- precision and boundaries ------------------------------------------ */

/* Digits after the point of a decimal or quantity value (as written, or as
 * printed when computed). */
static int
dec_scale(const struct cg_fp_item *it)
{
	char buf[64];
	int n;

	if (it->kind == CG_FP_INTEGER)
		return 0;
	if (it->u.d.scale >= 0)
		return it->u.d.scale;
	n = snprintf(buf, sizeof(buf), "%.15g", it->u.d.v);
	if (n < 0 || (size_t)n >= sizeof(buf) || strpbrk(buf, "eE"))
		return 8;
	return fp_scale_of(buf, (size_t)n);
}

/* Digits of precision of a date, date-time or time for its field count, and
 * back: year 4, month 6, day 8, hour 10, minute 12, second 14, millisecond
 * 17 (a time: hour 2, minute 4, second 6, millisecond 9). */
static const int dt_digits[] = {0, 4, 6, 8, 10, 12, 14, 17};
static const int tm_digits[] = {0, 2, 4, 6, 9};

static int
dt_prec_of_digits(enum cg_fp_kind k, long long digits)
{
	int n = k == CG_FP_TIME ? 4 : k == CG_FP_DATE ? 3 : 7, f;

	for (f = 1; f <= n; f++)
		if ((k == CG_FP_TIME ? tm_digits[f] : dt_digits[f]) == digits)
			return f;
	return -1;
}

static int
days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return m >= 1 && m <= 12 ? d[m - 1] : 31;
}

FN(fp_fn_precision)
{
	const struct cg_fp_item *p;
	struct cg_fp_item it, res;

	CHECK(fp_one(c, in, call, &p));
	fp_system_value(p, &it);
	switch (it.kind) {
	case CG_FP_INTEGER:
	case CG_FP_DECIMAL:
	case CG_FP_QUANTITY:
		fp_int(&res, dec_scale(&it));
		break;
	case CG_FP_DATE:
	case CG_FP_DATETIME:
		fp_int(&res, dt_digits[it.u.dt.prec < 1 || it.u.dt.prec > 7 ? 0 : it.u.dt.prec]);
		break;
	case CG_FP_TIME:
		fp_int(&res, tm_digits[it.u.dt.prec < 1 || it.u.dt.prec > 4 ? 0 : it.u.dt.prec]);
		break;
	default:
		return fp_fail(c, "precision() needs a number, a quantity, a date or a time");
	}
	return fp_ret_item(c, &res, out);
}

/* x rounded down (dir -1) or up (1) to p digits after the point; values a
 * hair off a multiple of 10^-p (binary floating point) count as on it. The
 * fallback of dec_boundary() for values too long to write out. */
static double
round_dir(double x, long long p, int dir)
{
	double m = pow(10, (double)p), y = x * m, r = round(y);

	if (fabs(y - r) <= 1e-9 * (fabs(y) > 1 ? fabs(y) : 1))
		y = r;
	else
		y = dir < 0 ? floor(y) : ceil(y);
	return y / m;
}

/* The boundary of decimal v, written with s digits after the point, to p
 * digits after it, as HL7's reference engine computes it (the R4 suite's
 * expectations follow it): the value plus or minus half a unit of its last
 * digit, written out exactly in decimal digits, then cut to p digits where
 * that boundary lies toward zero and rounded half up where it lies away
 * from zero. So 0.0034.highBoundary(1) is 0.0 (0.00345 rounded) and
 * (-0.0034).lowBoundary(1) is -0.0, while 1.587.highBoundary(2) is 1.59. */
static double
dec_boundary(double v, int s, long long p, int high)
{
	char buf[128], *d;
	int away = v == 0 ? high : (v > 0) == high;
	int neg = v < 0 || (v == 0 && !high);
	int n, k, ip;
	double r;

	n = snprintf(buf + 1, sizeof(buf) - 3, "%.*f", s, fabs(v));
	if (n < 0 || n >= (int)sizeof(buf) - 3 || s > 40) {
		r = round_dir(v + (high ? 0.5 : -0.5) * pow(10, -(double)s), p, high ? 1 : -1);
		return r;
	}
	buf[0] = '0'; /* room for a carry */
	d = buf;
	n++;
	if (s == 0) {
		d[n++] = '.';
		d[n] = '\0';
	}
	ip = (int)(strchr(d, '.') - d);
	/* toward zero: |v| less one unit of its last digit, then the half */
	if (!away && v != 0)
		for (k = n - 1; k >= 0; k--) {
			if (d[k] == '.')
				continue;
			if (d[k] != '0') {
				d[k]--;
				break;
			}
			d[k] = '9';
		}
	d[n++] = '5';
	d[n] = '\0';
	if (ip + 1 + p < n) {
		int cut = ip + 1 + (int)p; /* the first digit dropped */

		if (away && d[cut] >= '5')
			for (k = cut - 1; k >= 0; k--) {
				if (d[k] == '.')
					continue;
				if (d[k] != '9') {
					d[k]++;
					break;
				}
				d[k] = '0';
			}
		d[cut] = '\0';
	}
	r = strtod(d, NULL);
	return neg ? -r : r;
}

/* lowBoundary() (high 0) and highBoundary() (1): the least or greatest value
 * the input may stand for given its precision, to p digits (decimals: after
 * the point, 8 by default, at most 28; dates and times: digits of precision
 * as precision() counts them). An impossible precision is empty. */
FN(fp_fn_boundary)
{
	int high = call->node->fn->name[0] == 'h';
	const struct cg_fp_item *p0;
	struct cg_fp_item it, res;
	long long p = -1;

	CHECK(fp_one(c, in, call, &p0));
	fp_system_value(p0, &it);
	it.node = NULL;
	it.ftype = NULL;
	it.ext = NULL;
	it.ctx = NULL;
	if (call->node->nargs) {
		int r = fp_arg_int(c, call, 0, &p);

		if (r < 0)
			return CG_EINVAL;
		if (r == 0)
			return CG_OK;
		if (p < 0)
			return CG_OK;
	}
	switch (it.kind) {
	case CG_FP_INTEGER:
	case CG_FP_DECIMAL:
	case CG_FP_QUANTITY: {
		int s = dec_scale(&it);
		double v = it.kind == CG_FP_INTEGER ? (double)it.u.i : it.u.d.v;

		if (p < 0)
			p = 8;
		if (p > 28)
			return CG_OK;
		v = dec_boundary(v, s, p, high);
		res = it;
		if (it.kind == CG_FP_INTEGER)
			fp_dec(&res, v, (int)p);
		res.u.d.v = v;
		res.u.d.scale = (int)p;
		return fp_ret_item(c, &res, out);
	}
	case CG_FP_DATE:
	case CG_FP_DATETIME:
	case CG_FP_TIME: {
		struct cg_fp_dt *d = &res.u.dt;
		int f, base = it.kind == CG_FP_TIME ? 3 : 0;

		if (p < 0)
			p = it.kind == CG_FP_TIME ? 9 : it.kind == CG_FP_DATE ? 8 : 17;
		f = dt_prec_of_digits(it.kind, p);
		if (f < 0)
			return CG_OK;
		res = it;
		/* A date-time to the hour is no FHIR dateTime: the reference
		 * engine reads T08 as T08:00 first, so its boundaries are those of
		 * that minute (the R4 suite's T08:00:59.999). */
		if (it.kind == CG_FP_DATETIME && it.u.dt.prec == 4) {
			it.u.dt.prec = 5;
			d->minute = 0;
		}
		/* fields past the input's precision: the least or greatest */
		for (int k = it.u.dt.prec + 1 + base; k <= 7; k++) {
			switch (k) {
			case 2:
				d->month = high ? 12 : 1;
				break;
			case 3:
				d->day = high ? (short)days_in_month(d->year, d->month) : 1;
				break;
			case 4:
				d->hour = high ? 23 : 0;
				break;
			case 5:
				d->minute = high ? 59 : 0;
				break;
			case 6:
				d->second = high ? 59 : 0;
				break;
			case 7:
				d->ms = high ? 999 : 0;
				break;
			default:
				break;
			}
		}
		d->prec = (signed char)f;
		if (it.kind == CG_FP_DATETIME && !it.u.dt.has_tz && f >= 4) {
			/* no zone: the earliest (+14:00) or latest (-12:00) one */
			d->has_tz = 1;
			d->tz = high ? -12 * 60 : 14 * 60;
		}
		return fp_ret_item(c, &res, out);
	}
	default:
		return fp_fail(c, "%s() needs a number, a quantity, a date or a time",
		               call->node->fn->name);
	}
}
