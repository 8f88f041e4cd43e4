/* datetime.c: parsing and comparing contract dates; see datetime.h. */
#include <string.h>
#include <time.h>

#include "datetime.h"

static int
digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Parses the 10 characters of a date at s; does not look past them. */
static int
date10(const char *s, struct cg_date *out)
{
	int y, m, d;

	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) || s[7] != '-' ||
	    digits(s + 8, 2, &d))
		return -1;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return -1;
	out->year = y;
	out->month = m;
	out->day = d;
	return 0;
}

int
cg_date_parse(const char *s, struct cg_date *out)
{
	if (strlen(s) != 10)
		return -1;
	return date10(s, out);
}

int
cg_datetime_parse(const char *s, struct cg_datetime *out)
{
	size_t len = strlen(s);
	const char *p;
	int oh, om;

	memset(out, 0, sizeof(*out));
	if (len < 20 || date10(s, &out->date) || s[10] != 'T')
		return -1;
	if (digits(s + 11, 2, &out->hour) || s[13] != ':' || digits(s + 14, 2, &out->minute) ||
	    s[16] != ':' || digits(s + 17, 2, &out->second))
		return -1;
	if (out->hour > 23 || out->minute > 59 || out->second > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		int n = 0;
		long scale = 100000000;

		for (p++; *p >= '0' && *p <= '9'; p++, n++) {
			if (n >= 9)
				return -1;
			out->nanos += (*p - '0') * scale;
			scale /= 10;
		}
		if (n == 0)
			return -1;
	}
	if (p[0] == 'Z' && p[1] == '\0') {
		out->offset_minutes = 0;
	} else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && !digits(p + 1, 2, &oh) &&
	           p[3] == ':' && !digits(p + 4, 2, &om) && oh <= 23 && om <= 59) {
		out->offset_minutes = (oh * 60 + om) * (p[0] == '-' ? -1 : 1);
	} else {
		return -1;
	}
	out->has_time = 1;
	return 0;
}

int
cg_date_or_datetime_parse(const char *s, struct cg_datetime *out)
{
	if (strlen(s) == 10) {
		memset(out, 0, sizeof(*out));
		return cg_date_parse(s, &out->date);
	}
	return cg_datetime_parse(s, out);
}

/* Howard Hinnant's days_from_civil. */
long
cg_date_days(const struct cg_date *d)
{
	long y = d->year - (d->month <= 2);
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long mp = (d->month + 9) % 12;
	long doy = (153 * mp + 2) / 5 + d->day - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* The inverse of cg_date_days (Howard Hinnant's civil_from_days). */
void
cg_date_from_days(long days, struct cg_date *out)
{
	long z = days + 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	long m = mp < 10 ? mp + 3 : mp - 9;

	out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	out->month = (int)m;
	out->year = (int)(yoe + era * 400 + (m <= 2));
}

int
cg_date_cmp(const struct cg_date *a, const struct cg_date *b)
{
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	if (a->month != b->month)
		return a->month < b->month ? -1 : 1;
	return a->day < b->day ? -1 : a->day > b->day;
}

static long long
utc_seconds(const struct cg_datetime *t)
{
	long long s = (long long)cg_date_days(&t->date) * 86400;

	s += t->hour * 3600 + t->minute * 60 + t->second;
	return s - (long long)t->offset_minutes * 60;
}

int
cg_datetime_cmp(const struct cg_datetime *a, const struct cg_datetime *b)
{
	long long x, y;

	if (!a->has_time || !b->has_time)
		return cg_date_cmp(&a->date, &b->date);
	x = utc_seconds(a);
	y = utc_seconds(b);
	if (x != y)
		return x < y ? -1 : 1;
	return a->nanos < b->nanos ? -1 : a->nanos > b->nanos;
}

int
cg_age_years(const struct cg_date *birth, const struct cg_date *on)
{
	int age = on->year - birth->year;

	if (on->month < birth->month || (on->month == birth->month && on->day < birth->day))
		age--;
	return age;
}

void
cg_date_today(struct cg_date *out)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	out->year = tm.tm_year + 1900;
	out->month = tm.tm_mon + 1;
	out->day = tm.tm_mday;
}
