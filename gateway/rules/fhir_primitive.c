/* fhir_primitive.c: FHIR R4 primitive types in JSON; see fhir_primitive.h. */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fhir_primitive.h"
#include "ids.h"
#include "json_scan.h"
#include "json_type.h"

static int
fail(enum cg_code *code, const char **why, enum cg_code c, const char *msg)
{
	*code = c;
	*why = msg;
	return -1;
}

static int
digits(const char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
num(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int
month_days(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* YYYY, YYYY-MM or YYYY-MM-DD; returns the length used, 0 if none. */
static size_t
date_part(const char *s, int full)
{
	int y, m;

	if (!digits(s, 4) || (y = num(s, 4)) < 1)
		return 0;
	if (s[4] != '-')
		return full ? 0 : 4;
	if (!digits(s + 5, 2) || (m = num(s + 5, 2)) < 1 || m > 12)
		return 0;
	if (s[7] != '-')
		return full ? 0 : 7;
	if (!digits(s + 8, 2) || num(s + 8, 2) < 1 || num(s + 8, 2) > month_days(y, m))
		return 0;
	return 10;
}

/* hh:mm:ss[.fff]; returns the length used, 0 if none. */
static size_t
time_part(const char *s)
{
	size_t n = 8;

	if (!digits(s, 2) || s[2] != ':' || !digits(s + 3, 2) || s[5] != ':' || !digits(s + 6, 2))
		return 0;
	if (num(s, 2) > 23 || num(s + 3, 2) > 59 || num(s + 6, 2) > 60)
		return 0;
	if (s[8] == '.') {
		for (n = 9; s[n] >= '0' && s[n] <= '9'; n++)
			;
		if (n == 9)
			return 0;
	}
	return n;
}

static int
zone_ok(const char *s)
{
	if (s[0] == 'Z')
		return s[1] == '\0';
	return (s[0] == '+' || s[0] == '-') && digits(s + 1, 2) && s[3] == ':' &&
	       digits(s + 4, 2) && s[6] == '\0' && num(s + 1, 2) <= 14 && num(s + 4, 2) <= 59;
}

/* dateTime (partial dates allowed; a time needs a zone) or instant. */
static int
datetime_ok(const char *s, int instant)
{
	size_t n = date_part(s, instant);
	size_t t;

	if (!n)
		return 0;
	if (s[n] == '\0')
		return !instant;
	if (n != 10 || s[n] != 'T' || !(t = time_part(s + 11)))
		return 0;
	return zone_ok(s + 11 + t);
}

static int
base64_ok(const char *s)
{
	size_t n = 0, pad = 0;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
			continue;
		if (*s == '=') {
			pad++;
		} else if (pad || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		                    (*s >= '0' && *s <= '9') || *s == '+' || *s == '/')) {
			return 0;
		}
		n++;
	}
	return n % 4 == 0 && pad <= 2;
}

/* strcspn is libc's vectorised loop: every URI of every resource comes
 * here. */
static int
has_space(const char *s)
{
	return s[strcspn(s, " \t\n\r")] != '\0';
}

static int
code_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
		    (s[i] == ' ' && s[i + 1] == ' '))
			return 0;
	return 1;
}

static int
id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return 0;
	return i >= 1 && i <= 64;
}

/* urn:oid: and urn:uuid: values: the identifiers themselves are checked
 * by ids.c, as records' are. */
static int
oid_ok(const char *s)
{
	return strncmp(s, "urn:oid:", 8) == 0 && cg_ids_is_oid(s + 8);
}

static int
uuid_ok(const char *s)
{
	return strncmp(s, "urn:uuid:", 9) == 0 && cg_ids_is_uuid(s + 9);
}

static const struct {
	const char *name;
	enum cg_fhir_prim kind;
} prims[] = {
        {"boolean", CG_PRIM_BOOLEAN},
        {"integer", CG_PRIM_INTEGER},
        {"positiveInt", CG_PRIM_POSITIVE_INT},
        {"unsignedInt", CG_PRIM_UNSIGNED_INT},
        {"decimal", CG_PRIM_DECIMAL},
        {"string", CG_PRIM_STRING},
        {"markdown", CG_PRIM_STRING},
        {"code", CG_PRIM_CODE},
        {"id", CG_PRIM_ID},
        {"uri", CG_PRIM_URI},
        {"url", CG_PRIM_URI},
        {"canonical", CG_PRIM_URI},
        {"oid", CG_PRIM_OID},
        {"uuid", CG_PRIM_UUID},
        {"date", CG_PRIM_DATE},
        {"dateTime", CG_PRIM_DATETIME},
        {"instant", CG_PRIM_INSTANT},
        {"time", CG_PRIM_TIME},
        {"base64Binary", CG_PRIM_BASE64},
        {"xhtml", CG_PRIM_XHTML},
};

enum cg_fhir_prim
cg_fhir_prim_of(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(prims) / sizeof(prims[0]); i++)
		if (strcmp(prims[i].name, type) == 0)
			return prims[i].kind;
	return CG_PRIM_OTHER;
}

static int
number_type(enum cg_fhir_prim kind, const cJSON *v, enum cg_code *code, const char **why)
{
	double x;

	if (!cg_json_is_number(v))
		return fail(code, why, CG_C_TYPE, "must be a JSON number");
	x = v->valuedouble;
	if (!isfinite(x))
		return fail(code, why, CG_C_JSON_NUMBER_RANGE, "number is too large to represent");
	if (kind == CG_PRIM_DECIMAL)
		return 0;
	if (x != floor(x))
		return fail(code, why, CG_C_FHIR_FORMAT, "must be a whole number");
	/* FHIR's JSON integer has no fraction or exponent (1.0, 1e0). */
	if (v->type & CG_JSON_NOT_INTEGRAL)
		return fail(code, why, CG_C_FHIR_FORMAT,
		            "an integer is written without a fraction or exponent");
	if (x > 2147483647.0 || x < -2147483648.0)
		return fail(code, why, CG_C_FHIR_FORMAT,
		            "outside the 32-bit range of FHIR integers");
	if (kind == CG_PRIM_POSITIVE_INT && x < 1)
		return fail(code, why, CG_C_FHIR_FORMAT, "a positiveInt must be at least 1");
	if (kind == CG_PRIM_UNSIGNED_INT && x < 0)
		return fail(code, why, CG_C_FHIR_FORMAT, "an unsignedInt must not be negative");
	return 0;
}

int
cg_fhir_primitive_check(enum cg_fhir_prim kind, const cJSON *v, enum cg_code *code,
                        const char **why)
{
	const char *s;

	switch (kind) {
	case CG_PRIM_BOOLEAN:
		return cJSON_IsBool(v) ? 0 : fail(code, why, CG_C_TYPE, "must be true or false");
	case CG_PRIM_INTEGER:
	case CG_PRIM_POSITIVE_INT:
	case CG_PRIM_UNSIGNED_INT:
	case CG_PRIM_DECIMAL:
		return number_type(kind, v, code, why);
	default:
		break;
	}
	if (!cg_json_is_string(v))
		return fail(code, why, CG_C_TYPE, "must be a JSON string");
	s = v->valuestring;
	if (!s[0])
		return fail(code, why, CG_C_EMPTY, "must not be an empty string");
	switch (kind) {
	case CG_PRIM_STRING:
		return strlen(s) <= 1024 * 1024
		               ? 0
		               : fail(code, why, CG_C_FHIR_FORMAT, "longer than 1 MB");
	case CG_PRIM_CODE:
		return code_ok(s) ? 0
		                  : fail(code, why, CG_C_FHIR_FORMAT,
		                         "a code has no leading, trailing or double spaces");
	case CG_PRIM_ID:
		return id_ok(s) ? 0
		                : fail(code, why, CG_C_FHIR_FORMAT,
		                       "an id is 1 to 64 of A-Z a-z 0-9 - .");
	case CG_PRIM_URI:
		return has_space(s) ? fail(code, why, CG_C_FHIR_FORMAT, "a URI has no white space")
		                    : 0;
	case CG_PRIM_OID:
		return oid_ok(s) ? 0 : fail(code, why, CG_C_FHIR_FORMAT, "not urn:oid: and an OID");
	case CG_PRIM_UUID:
		return uuid_ok(s) ? 0
		                  : fail(code, why, CG_C_FHIR_FORMAT,
		                         "not urn:uuid: and a lower-case UUID");
	case CG_PRIM_DATE:
		return date_part(s, 0) == strlen(s)
		               ? 0
		               : fail(code, why, CG_C_FHIR_FORMAT,
		                      "a date is YYYY, YYYY-MM or YYYY-MM-DD, and must exist");
	case CG_PRIM_DATETIME:
		return datetime_ok(s, 0)
		               ? 0
		               : fail(code, why, CG_C_FHIR_FORMAT,
		                      "a dateTime is a date, or a date and time with a time zone");
	case CG_PRIM_INSTANT:
		return datetime_ok(s, 1)
		               ? 0
		               : fail(code, why, CG_C_FHIR_FORMAT,
		                      "an instant is a full date and time with seconds and zone");
	case CG_PRIM_TIME:
		return time_part(s) == strlen(s)
		               ? 0
		               : fail(code, why, CG_C_FHIR_FORMAT, "a time is hh:mm:ss");
	case CG_PRIM_BASE64:
		return base64_ok(s) ? 0 : fail(code, why, CG_C_FHIR_FORMAT, "not base64");
	case CG_PRIM_XHTML:
		return strncmp(s, "<div", 4) == 0
		               ? 0
		               : fail(code, why, CG_C_FHIR_FORMAT, "narrative must be a <div>");
	default:
		return 0;
	}
}
