/*
 * fp_dt.c: FHIRPath dates, date-times and times with their precision:
 * parsed from literals and FHIR JSON, written back, compared down to the
 * precision both have, and moved by calendar durations.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp_internal.h"

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
int
fp_dt_compare(const struct cg_fp_item *a, const struct cg_fp_item *b)
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
	                        : fp_calendar_of(q->u.d.unit);
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
