/*
 * fp_parse.c: FHIRPath expressions to an AST held in the program's arena,
 * by precedence climbing over the grammar's levels (lowest first): implies;
 * or, xor; and; in, contains; = ~ != !~; < > <= >=; |; is, as; + - &;
 * * / div mod; unary + -; then . and [] on terms.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp_internal.h"

#define MAX_DEPTH 200

struct parser {
	const char *s;
	size_t pos;
	struct fp_tok tok; /* the current token */
	struct cg_arena *arena;
	struct cg_fp_syntax *err;
	int depth;
	int failed;
	int nomem;
};

static int perr(struct parser *p, size_t off, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		p->failed = 1;
		p->err->column = off + 1;
		va_start(ap, fmt);
		vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
advance(struct parser *p)
{
	if (fp_lex_next(p->s, &p->pos, &p->tok, p->err)) {
		p->failed = 1;
		return -1;
	}
	return 0;
}

static int
is_punct(const struct parser *p, const char *op)
{
	return p->tok.kind == T_PUNCT && p->tok.len == strlen(op) &&
	       !strncmp(p->s + p->tok.off, op, p->tok.len);
}

static int
is_word(const struct parser *p, const char *w)
{
	return p->tok.kind == T_IDENT && !p->tok.quoted && p->tok.len == strlen(w) &&
	       !strncmp(p->s + p->tok.off, w, p->tok.len);
}

static struct fp_node *
node(struct parser *p, enum fp_node_kind kind, size_t off)
{
	struct fp_node *n = cg_arena_alloc(p->arena, sizeof(*n));

	if (!n) {
		p->nomem = p->failed = 1;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->column = off + 1;
	return n;
}

/* The current identifier's name, unquoted. */
static char *
ident_name(struct parser *p)
{
	char *s = p->tok.quoted ? fp_unescape(p->arena, p->s + p->tok.off + 1, p->tok.len - 2)
	                        : fp_strndup(p->arena, p->s + p->tok.off, p->tok.len);

	if (!s)
		perr(p, p->tok.off, "%s", "bad escape in identifier");
	return s;
}

static struct fp_node *expr(struct parser *p, int minbp);

/* A type specifier: a qualified identifier (FHIR.Patient, System.String). */
static const char *
type_spec(struct parser *p)
{
	char buf[128];
	size_t n = 0;

	for (;;) {
		char *part;
		size_t len;

		if (p->tok.kind != T_IDENT)
			return perr(p, p->tok.off, "%s", "a type name expected"), NULL;
		part = ident_name(p);
		if (!part)
			return NULL;
		len = strlen(part);
		if (n + len + 2 > sizeof(buf))
			return perr(p, p->tok.off, "%s", "type name too long"), NULL;
		memcpy(buf + n, part, len);
		n += len;
		if (advance(p))
			return NULL;
		if (!is_punct(p, "."))
			break;
		buf[n++] = '.';
		if (advance(p))
			return NULL;
	}
	return fp_strndup(p->arena, buf, n);
}

/* Arguments of a call, the current token being '('. */
static int
call_args(struct parser *p, struct fp_node *call)
{
	struct fp_node *args[16];
	int n = 0;

	if (advance(p))
		return -1;
	if (!is_punct(p, ")")) {
		for (;;) {
			if (n == 16)
				return perr(p, p->tok.off, "%s", "too many arguments");
			args[n] = expr(p, 0);
			if (!args[n++])
				return -1;
			if (is_punct(p, ","))
				if (advance(p))
					return -1;
				else
					continue;
			else
				break;
		}
	}
	if (!is_punct(p, ")"))
		return perr(p, p->tok.off, "%s", "')' expected");
	if (advance(p))
		return -1;
	call->nargs = n;
	if (n) {
		call->args = cg_arena_alloc(p->arena, (size_t)n * sizeof(*call->args));
		if (!call->args) {
			p->nomem = p->failed = 1;
			return -1;
		}
		memcpy(call->args, args, (size_t)n * sizeof(*args));
	}
	if (call->nargs < call->fn->min || call->nargs > call->fn->max)
		return perr(p, call->column - 1, "wrong number of arguments to %s()",
		            call->fn->name);
	return 0;
}

/* An identifier after '.' or at the start of a term: a member or a call. */
static struct fp_node *
invocation(struct parser *p, struct fp_node *left)
{
	size_t off = p->tok.off, len = p->tok.len;
	int quoted = p->tok.quoted;
	struct fp_node *n;
	char *name;

	if (p->tok.kind == T_SPECIAL && !left) {
		n = node(p, N_THIS, off);
		if (!n)
			return NULL;
		if (len == 5 && !strncmp(p->s + off, "$this", 5))
			n->kind = N_THIS;
		else if (len == 6 && !strncmp(p->s + off, "$index", 6))
			n->kind = N_INDEX;
		else if (len == 6 && !strncmp(p->s + off, "$total", 6))
			n->kind = N_TOTAL;
		else
			return perr(p, off, "%s", "unknown special variable"), NULL;
		return advance(p) ? NULL : n;
	}
	if (p->tok.kind != T_IDENT)
		return perr(p, off, "%s", "a name expected"), NULL;
	name = ident_name(p);
	if (!name || advance(p))
		return NULL;
	if (is_punct(p, "(") && !quoted) {
		n = node(p, N_CALL, off);
		if (!n)
			return NULL;
		n->fn = fp_func_find(p->s + off, len);
		n->name = name;
		n->left = left;
		if (!n->fn)
			return perr(p, off, "unknown function %s()", name), NULL;
		return call_args(p, n) ? NULL : n;
	}
	n = node(p, N_MEMBER, off);
	if (!n)
		return NULL;
	n->name = name;
	n->left = left;
	return n;
}

static const struct {
	const char *word;
	int unit_plural; /* calendar durations */
} calendar[] = {{"year", 1},   {"month", 1},  {"week", 1},        {"day", 1}, {"hour", 1},
                {"minute", 1}, {"second", 1}, {"millisecond", 1}, {NULL, 0}};

/* A calendar word (year, years, ...): its singular, or NULL. */
static const char *
calendar_unit(const struct parser *p)
{
	int k;

	if (p->tok.kind != T_IDENT || p->tok.quoted)
		return NULL;
	for (k = 0; calendar[k].word; k++) {
		size_t w = strlen(calendar[k].word);

		if ((p->tok.len == w || (p->tok.len == w + 1 && p->s[p->tok.off + w] == 's')) &&
		    !strncmp(p->s + p->tok.off, calendar[k].word, w))
			return calendar[k].word;
	}
	return NULL;
}

static struct fp_node *
number(struct parser *p)
{
	size_t off = p->tok.off, len = p->tok.len;
	const char *text = p->s + off;
	struct fp_node *n = node(p, N_LITERAL, off);
	const char *unit;

	if (!n)
		return NULL;
	if (memchr(text, '.', len)) {
		fp_dec(&n->lit, strtod(text, NULL), fp_scale_of(text, len));
	} else {
		long long v;

		errno = 0;
		v = strtoll(text, NULL, 10);
		if (errno || v > 2147483647LL)
			return perr(p, off, "%s", "integer out of range"), NULL;
		fp_int(&n->lit, v);
	}
	if (advance(p))
		return NULL;
	unit = calendar_unit(p);
	if (p->tok.kind == T_STRING || unit) {
		double v = n->lit.kind == CG_FP_INTEGER ? (double)n->lit.u.i : n->lit.u.d.v;
		int scale = n->lit.kind == CG_FP_INTEGER ? 0 : n->lit.u.d.scale;

		n->lit.kind = CG_FP_QUANTITY;
		n->lit.u.d.v = v;
		n->lit.u.d.scale = scale;
		n->lit.u.d.unit =
		        unit ? unit : fp_unescape(p->arena, p->s + p->tok.off + 1, p->tok.len - 2);
		if (!n->lit.u.d.unit)
			return perr(p, p->tok.off, "%s", "bad escape in unit"), NULL;
		if (advance(p))
			return NULL;
	}
	return n;
}

/* A time literal written with a zone (@T14:34:28Z, @T14:34:28+10:00): the
 * grammar reads it, but a time has no zone, so evaluating it is an error
 * (the R4 suite's invalid="execution", not a syntax error). The literal is
 * the time with has_tz set, which fp_eval.c refuses. 0, or -1 when d is not
 * a time and a zone. */
static int
zoned_time(const char *d, size_t len, struct cg_fp_item *lit)
{
	size_t z = len;
	enum cg_fp_kind k;

	if (len && d[len - 1] == 'Z') {
		z = len - 1;
	} else if (len > 6 && (d[len - 6] == '+' || d[len - 6] == '-') &&
	           isdigit((unsigned char)d[len - 5]) && isdigit((unsigned char)d[len - 4]) &&
	           d[len - 3] == ':' && isdigit((unsigned char)d[len - 2]) &&
	           isdigit((unsigned char)d[len - 1])) {
		z = len - 6;
	}
	if (z == len || z == 0 || fp_dt_parse(d, z, 1, &k, &lit->u.dt) || k != CG_FP_TIME)
		return -1;
	lit->kind = CG_FP_TIME;
	lit->u.dt.has_tz = 1;
	return 0;
}

static struct fp_node *
term(struct parser *p)
{
	size_t off = p->tok.off;
	struct fp_node *n;

	switch (p->tok.kind) {
	case T_EOF:
		return perr(p, off, "%s", "unexpected end of expression"), NULL;
	case T_NUMBER:
		return number(p);
	case T_STRING:
		n = node(p, N_LITERAL, off);
		if (!n)
			return NULL;
		n->lit.kind = CG_FP_STRING;
		n->lit.u.s = fp_unescape(p->arena, p->s + off + 1, p->tok.len - 2);
		if (!n->lit.u.s)
			return perr(p, off, "%s", "bad escape in string"), NULL;
		return advance(p) ? NULL : n;
	case T_DATE: {
		const char *d = p->s + off + 1;
		size_t len = p->tok.len - 1;
		int want_time = d[0] == 'T';

		n = node(p, N_LITERAL, off);
		if (!n)
			return NULL;
		if (want_time) {
			d++;
			len--;
		}
		if (fp_dt_parse(d, len, want_time, &n->lit.kind, &n->lit.u.dt) &&
		    (!want_time || zoned_time(d, len, &n->lit)))
			return perr(p, off, "%s", "not a valid date, date-time or time"), NULL;
		if (n->lit.kind == CG_FP_DATETIME && n->lit.u.dt.prec <= 3 && d[len - 1] != 'T' &&
		    !n->lit.u.dt.has_tz)
			n->lit.kind = CG_FP_DATE;
		return advance(p) ? NULL : n;
	}
	case T_EXTVAR: {
		const char *v = p->s + off + 1;
		size_t len = p->tok.len - 1;

		n = node(p, N_VAR, off);
		if (!n)
			return NULL;
		n->name = (v[0] == '`' || v[0] == '\'') ? fp_unescape(p->arena, v + 1, len - 2)
		                                        : fp_strndup(p->arena, v, len);
		if (!n->name)
			return perr(p, off, "%s", "bad variable name"), NULL;
		return advance(p) ? NULL : n;
	}
	case T_SPECIAL:
		return invocation(p, NULL);
	case T_IDENT:
		if (is_word(p, "true") || is_word(p, "false")) {
			n = node(p, N_LITERAL, off);
			if (!n)
				return NULL;
			fp_bool(&n->lit, is_word(p, "true"));
			return advance(p) ? NULL : n;
		}
		return invocation(p, NULL);
	case T_PUNCT:
		if (is_punct(p, "(")) {
			if (advance(p))
				return NULL;
			n = expr(p, 0);
			if (!n)
				return NULL;
			if (!is_punct(p, ")"))
				return perr(p, p->tok.off, "%s", "')' expected"), NULL;
			return advance(p) ? NULL : n;
		}
		if (is_punct(p, "{")) {
			if (advance(p))
				return NULL;
			if (!is_punct(p, "}"))
				return perr(p, p->tok.off, "%s", "'}' expected"), NULL;
			n = node(p, N_EMPTY, off);
			return !n || advance(p) ? NULL : n;
		}
		break;
	}
	return perr(p, off, "%s", "unexpected token"), NULL;
}

static const struct {
	const char *text;
	int word;
	int bp;
	enum fp_binop op;
} binops[] = {
        {"implies", 1, 1, OP_IMPLIES},
        {"or", 1, 2, OP_OR},
        {"xor", 1, 2, OP_XOR},
        {"and", 1, 3, OP_AND},
        {"in", 1, 4, OP_IN},
        {"contains", 1, 4, OP_CONTAINS},
        {"=", 0, 5, OP_EQ},
        {"~", 0, 5, OP_EQUIV},
        {"!=", 0, 5, OP_NE},
        {"!~", 0, 5, OP_NEQUIV},
        {"<", 0, 6, OP_LT},
        {">", 0, 6, OP_GT},
        {"<=", 0, 6, OP_LE},
        {">=", 0, 6, OP_GE},
        {"|", 0, 7, OP_UNION},
        {"+", 0, 9, OP_ADD},
        {"-", 0, 9, OP_SUB},
        {"&", 0, 9, OP_CONCAT},
        {"*", 0, 10, OP_MUL},
        {"/", 0, 10, OP_DIV},
        {"div", 1, 10, OP_IDIV},
        {"mod", 1, 10, OP_MOD},
};

#define BP_TYPE   8
#define BP_UNARY  11
#define BP_POSTFX 12

static struct fp_node *
expr(struct parser *p, int minbp)
{
	struct fp_node *left, *n;
	size_t k;

	if (++p->depth > MAX_DEPTH) {
		perr(p, p->tok.off, "%s", "expression nested too deeply");
		return NULL;
	}
	if (is_punct(p, "-") || is_punct(p, "+")) {
		int neg = is_punct(p, "-");

		n = node(p, N_NEG, p->tok.off);
		if (!n || advance(p))
			return NULL;
		n->left = expr(p, BP_UNARY);
		if (!n->left)
			return NULL;
		left = neg ? n : n->left;
	} else {
		left = term(p);
	}
	while (left) {
		size_t off = p->tok.off;

		if (is_punct(p, ".")) {
			if (advance(p))
				return NULL;
			left = invocation(p, left);
			continue;
		}
		if (is_punct(p, "[")) {
			n = node(p, N_INDEXER, off);
			if (!n || advance(p))
				return NULL;
			n->left = left;
			n->right = expr(p, 0);
			if (!n->right)
				return NULL;
			if (!is_punct(p, "]"))
				return perr(p, p->tok.off, "%s", "']' expected"), NULL;
			if (advance(p))
				return NULL;
			left = n;
			continue;
		}
		if ((is_word(p, "is") || is_word(p, "as")) && BP_TYPE > minbp) {
			n = node(p, is_word(p, "is") ? N_IS : N_AS, off);
			if (!n || advance(p))
				return NULL;
			n->left = left;
			n->name = type_spec(p);
			if (!n->name)
				return NULL;
			left = n;
			continue;
		}
		for (k = 0; k < sizeof(binops) / sizeof(binops[0]); k++)
			if (binops[k].word ? is_word(p, binops[k].text)
			                   : is_punct(p, binops[k].text))
				break;
		if (k == sizeof(binops) / sizeof(binops[0])) {
			if (p->tok.kind == T_EOF || is_punct(p, ")") || is_punct(p, "]") ||
			    is_punct(p, ",") || is_word(p, "is") || is_word(p, "as"))
				break;
			return perr(p, off, "%s", "an operator or the end expected"), NULL;
		}
		if (binops[k].bp <= minbp)
			break;
		n = node(p, N_BINARY, off);
		if (!n || advance(p))
			return NULL;
		n->op = binops[k].op;
		n->left = left;
		n->right = expr(p, binops[k].bp);
		if (!n->right)
			return NULL;
		left = n;
	}
	p->depth--;
	return left;
}

enum cg_err
cg_fp_compile(const char *src, struct cg_fp_program **out, struct cg_fp_syntax *err)
{
	struct cg_fp_program *prog;
	struct parser p;
	struct cg_fp_syntax scratch;

	*out = NULL;
	if (!err)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	prog = calloc(1, sizeof(*prog));
	if (!prog)
		return CG_ENOMEM;
	prog->arena = cg_arena_new(4096);
	if (!prog->arena) {
		free(prog);
		return CG_ENOMEM;
	}
	memset(&p, 0, sizeof(p));
	p.s = src;
	p.arena = prog->arena;
	p.err = err;
	if (!advance(&p)) {
		if (p.tok.kind == T_EOF)
			perr(&p, 0, "%s", "empty expression");
		else
			prog->root = expr(&p, 0);
	}
	if (!p.failed && p.tok.kind != T_EOF)
		perr(&p, p.tok.off, "%s", "unexpected token");
	if (p.failed || !prog->root) {
		int nomem = p.nomem;

		cg_fp_program_free(prog);
		if (nomem)
			return CG_ENOMEM;
		if (!err->column)
			perr(&p, p.tok.off, "%s", "syntax error");
		return CG_EINVAL;
	}
	*out = prog;
	return CG_OK;
}

void
cg_fp_program_free(struct cg_fp_program *p)
{
	if (!p)
		return;
	cg_arena_free(p->arena);
	free(p);
}
