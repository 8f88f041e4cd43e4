/*
 * datetime.h: the date and date-time forms of the record contract.
 *
 * A date is YYYY-MM-DD and must exist in the proleptic Gregorian calendar
 * (2023-02-29 does not). A date-time is RFC 3339 as FHIR restricts it:
 * YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm), upper-case T and Z, the
 * offset required, seconds 00-60 (a leap second), 1 to 9 fraction digits.
 *
 * Comparisons follow what a clinician means: two date-times compare as
 * instants (UTC); a date compared with a date-time compares with the
 * date-time's own local calendar date, as written.
 */
#ifndef CG_DATETIME_H
#define CG_DATETIME_H

struct cg_date {
	int year;
	int month;
	int day;
};

struct cg_datetime {
	struct cg_date date; /* local calendar date, as written */
	int has_time;        /* 0 for a plain date */
	int hour, minute, second;
	long nanos;
	int offset_minutes; /* east of UTC */
};

/* 0 on success, -1 when s is not a real YYYY-MM-DD date. */
int cg_date_parse(const char *s, struct cg_date *out);
/* 0 on success, -1 when s is not an RFC 3339 date-time with an offset. */
int cg_datetime_parse(const char *s, struct cg_datetime *out);
/* Either form: a date (has_time 0) or a date-time. */
int cg_date_or_datetime_parse(const char *s, struct cg_datetime *out);

/* Days since 1970-01-01 (negative before). */
long cg_date_days(const struct cg_date *d);
/* The date days after 1970-01-01 (the inverse of cg_date_days). */
void cg_date_from_days(long days, struct cg_date *out);
int cg_date_cmp(const struct cg_date *a, const struct cg_date *b);
/* Compares two values of either form by the rules above. */
int cg_datetime_cmp(const struct cg_datetime *a, const struct cg_datetime *b);
/* Whole years from birth to on (the age on that day). */
int cg_age_years(const struct cg_date *birth, const struct cg_date *on);
/* Today's date in UTC. */
void cg_date_today(struct cg_date *out);

#endif
