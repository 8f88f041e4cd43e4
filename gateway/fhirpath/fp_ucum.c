/*
 * fp_ucum.c: UCUM unit expressions (cm2, m/s, mg/dL, 10*3/uL, mm[Hg],
 * [in_i]) read into a factor times powers of the base units, so that
 * quantities in commensurable units compare, convert and multiply. The
 * units and prefixes are data: mappings/ucum-units.json, compiled in as
 * ucum_units.h. Reading an expression allocates nothing: a unit defined by
 * other units is read again, recursively, each time it is used.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fp_internal.h"

enum { UCUM_METRIC = 1, UCUM_SPECIAL = 2, UCUM_ARBITRARY = 4 };

struct ucum_prefix {
	const char *sym;
	double factor;
};

struct ucum_atom {
	const char *sym;
	double value;    /* of def; 1 for a base, special or arbitrary unit */
	const char *def; /* "" for those */
	int flags;
};

#include "ucum_units.h"

#define NBASE ((int)(sizeof(ucum_base) / sizeof(ucum_base[0])))
_Static_assert(NBASE == FP_UCUM_DIMS, "mappings/ucum-units.json has FP_UCUM_DIMS base units");
#define MAX_DEPTH 12

/* What the parser reads a unit expression into. */
struct unit {
	double factor;
	int dim[FP_UCUM_DIMS];
	const struct ucum_atom *arb; /* the arbitrary unit in it, or NULL */
	int arb_pow;
	int bad; /* unknown, special, or two arbitrary units */
};

struct parser {
	const char *s, *end;
	int depth;
};

static void
unit_one(struct unit *u)
{
	memset(u, 0, sizeof(*u));
	u->factor = 1;
}

/* a times b to the power sign (1 or -1) */
static void
unit_mul(struct unit *a, const struct unit *b, int sign)
{
	int k;

	a->factor = sign > 0 ? a->factor * b->factor : a->factor / b->factor;
	for (k = 0; k < FP_UCUM_DIMS; k++)
		a->dim[k] += sign * b->dim[k];
	if (b->arb) {
		if (a->arb && a->arb != b->arb)
			a->bad = 1;
		a->arb = b->arb;
		a->arb_pow += sign * b->arb_pow;
	}
	a->bad |= b->bad;
}

static void
unit_pow(struct unit *u, int e)
{
	int k;

	u->factor = pow(u->factor, e);
	for (k = 0; k < FP_UCUM_DIMS; k++)
		u->dim[k] *= e;
	u->arb_pow *= e;
}

static int parse_term(struct parser *p, const char *s, const char *end, struct unit *u);

static const struct ucum_atom *
find_atom(const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < sizeof(ucum_atoms) / sizeof(ucum_atoms[0]); k++)
		if (strlen(ucum_atoms[k].sym) == n && !memcmp(ucum_atoms[k].sym, s, n))
			return &ucum_atoms[k];
	return NULL;
}

static int
base_index(const char *s, size_t n)
{
	int k;

	for (k = 0; k < NBASE; k++)
		if (strlen(ucum_base[k]) == n && !memcmp(ucum_base[k], s, n))
			return k;
	return -1;
}

/* An atom without prefix: a base unit, or one defined by others. */
static int
atom_unit(struct parser *p, const char *s, size_t n, int need_metric, struct unit *u)
{
	const struct ucum_atom *a;
	int b = base_index(s, n);

	unit_one(u);
	if (b >= 0) {
		u->dim[b] = 1;
		return 0;
	}
	a = find_atom(s, n);
	if (!a || (need_metric && !(a->flags & UCUM_METRIC)))
		return -1;
	if (a->flags & UCUM_SPECIAL) {
		u->bad = 1;
		return 0;
	}
	if (a->flags & UCUM_ARBITRARY) {
		u->arb = a;
		u->arb_pow = 1;
		return 0;
	}
	if (parse_term(p, a->def, a->def + strlen(a->def), u))
		return -1;
	u->factor *= a->value;
	return 0;
}

/* A simple unit: an atom, or a metric atom after a prefix. */
static int
simple_unit(struct parser *p, const char *s, size_t n, struct unit *u)
{
	size_t k;

	if (n == 1 && *s == '1') {
		unit_one(u);
		return 0;
	}
	if (atom_unit(p, s, n, 0, u) == 0)
		return 0;
	for (k = 0; k < sizeof(ucum_prefixes) / sizeof(ucum_prefixes[0]); k++) {
		size_t lp = strlen(ucum_prefixes[k].sym);

		if (lp < n && !memcmp(s, ucum_prefixes[k].sym, lp) &&
		    atom_unit(p, s + lp, n - lp, 1, u) == 0) {
			u->factor *= ucum_prefixes[k].factor;
			return 0;
		}
	}
	return -1;
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* One component: (term), an annotation {..}, an integer factor, or a simple
 * unit with an optional exponent (m2, s-1, 10*3) and annotation. */
static int
parse_component(struct parser *p, const char **sp, const char *end, struct unit *u)
{
	const char *s = *sp, *t, *x;
	long e = 1;

	if (s < end && *s == '(') {
		int depth = 1;

		for (t = s + 1; t < end && depth; t++)
			depth += *t == '(' ? 1 : *t == ')' ? -1 : 0;
		if (depth || parse_term(p, s + 1, t - 1, u))
			return -1;
		*sp = t;
		return 0;
	}
	/* the unit's text: up to an operator or an annotation, brackets whole */
	for (t = s; t < end && *t != '.' && *t != '/' && *t != '(' && *t != ')' && *t != '{';) {
		if (*t == '[') {
			while (t < end && *t != ']')
				t++;
			if (t == end)
				return -1;
		}
		t++;
	}
	*sp = t;
	if (t < end && *t == '{') {
		while (*sp < end && **sp != '}')
			(*sp)++;
		if (*sp == end)
			return -1;
		(*sp)++;
	}
	if (t == s) {
		unit_one(u); /* an annotation alone is the unit 1 */
		return t < end && *t == '{' ? 0 : -1;
	}
	for (x = s; x < t && is_digit(*x);)
		x++;
	if (x == t) { /* an integer factor */
		unit_one(u);
		u->factor = strtod(s, NULL);
		return 0;
	}
	/* a trailing exponent, its sign included (m2, s-1, 10*3, 10*-3) */
	for (x = t; x > s && is_digit(x[-1]);)
		x--;
	if (x < t && x - 1 > s && (x[-1] == '-' || x[-1] == '+'))
		x--;
	if (x < t) {
		e = strtol(x, NULL, 10);
		if (e < -99 || e > 99)
			return -1;
	}
	if (simple_unit(p, s, (size_t)(x - s), u))
		return -1;
	if (e != 1)
		unit_pow(u, (int)e);
	return 0;
}

/* term: component (('.' | '/') component)*, or '/' component first. */
static int
parse_term(struct parser *p, const char *s, const char *end, struct unit *u)
{
	struct unit c;
	int sign = 1;

	if (++p->depth > MAX_DEPTH) {
		p->depth--;
		return -1;
	}
	unit_one(u);
	if (s < end && *s == '/') {
		sign = -1;
		s++;
	}
	for (;;) {
		if (s == end || parse_component(p, &s, end, &c)) {
			p->depth--;
			return -1;
		}
		unit_mul(u, &c, sign);
		if (s == end)
			break;
		if (*s != '.' && *s != '/') {
			p->depth--;
			return -1;
		}
		sign = *s == '.' ? 1 : -1;
		s++;
	}
	p->depth--;
	return 0;
}

const char *
fp_ucum_code(const char *unit)
{
	static const char *const cal[][2] = {
	        {"year", "a"},   {"years", "a"},   {"month", "mo"},       {"months", "mo"},
	        {"week", "wk"},  {"weeks", "wk"},  {"day", "d"},          {"days", "d"},
	        {"hour", "h"},   {"hours", "h"},   {"minute", "min"},     {"minutes", "min"},
	        {"second", "s"}, {"seconds", "s"}, {"millisecond", "ms"}, {"milliseconds", "ms"},
	};
	size_t k;

	for (k = 0; k < sizeof(cal) / sizeof(cal[0]); k++)
		if (!strcmp(unit, cal[k][0]))
			return cal[k][1];
	return unit;
}

int
fp_ucum_parse(const char *unit, struct fp_ucum *out)
{
	struct parser p = {0};
	struct unit u;
	const char *code = fp_ucum_code(unit);
	size_t n = strlen(code);

	memset(out, 0, sizeof(*out));
	if (n == 0 || n > 256 || parse_term(&p, code, code + n, &u) || u.bad)
		return -1;
	if (u.arb && u.arb_pow == 0)
		u.arb = NULL;
	out->factor = u.factor;
	memcpy(out->dim, u.dim, sizeof(out->dim));
	out->arb = u.arb ? u.arb->sym : NULL;
	out->arb_pow = u.arb_pow;
	return isfinite(u.factor) && u.factor != 0 ? 0 : -1;
}

int
fp_ucum_comparable(const struct fp_ucum *a, const struct fp_ucum *b)
{
	return !memcmp(a->dim, b->dim, sizeof(a->dim)) && a->arb == b->arb &&
	       a->arb_pow == b->arb_pow;
}

int
fp_ucum_convert(double v, const char *from, const char *to, double *out)
{
	struct fp_ucum a, b;

	if (!strcmp(fp_ucum_code(from), fp_ucum_code(to))) {
		*out = v;
		return 0;
	}
	if (fp_ucum_parse(from, &a) || fp_ucum_parse(to, &b) || !fp_ucum_comparable(&a, &b))
		return -1;
	*out = v * a.factor / b.factor;
	return 0;
}
