/*
 * fp_lex.c: FHIRPath tokens with their offsets, so that a syntax error can
 * name its column. Comments (// to the end of the line, and /+ ... +/ with
 * stars) are white space.
 */
#include <stdio.h>
#include <string.h>

#include "fp_internal.h"

static int
is_ident_start(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
fail(struct cg_fp_syntax *err, size_t off, const char *msg)
{
	err->column = off + 1;
	snprintf(err->message, sizeof(err->message), "%s", msg);
	return -1;
}

/* A quoted body ending at the first unescaped q; *pos on the opening one. */
static int
quoted(const char *s, size_t *pos, char q, struct cg_fp_syntax *err)
{
	size_t i = *pos + 1;

	for (; s[i] && s[i] != q; i++)
		if (s[i] == '\\' && s[i + 1])
			i++;
	if (!s[i])
		return fail(err, *pos, "unterminated string or identifier");
	*pos = i + 1;
	return 0;
}

int
fp_lex_next(const char *s, size_t *pos, struct fp_tok *t, struct cg_fp_syntax *err)
{
	size_t i = *pos;
	static const char *const two[] = {"!=", "!~", "<=", ">=", NULL};
	int k;

	for (;;) {
		while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			i++;
		if (s[i] == '/' && s[i + 1] == '/') {
			while (s[i] && s[i] != '\n')
				i++;
			continue;
		}
		if (s[i] == '/' && s[i + 1] == '*') {
			const char *end = strstr(s + i + 2, "*/");

			if (!end)
				return fail(err, i, "unterminated comment");
			i = (size_t)(end - s) + 2;
			continue;
		}
		break;
	}
	memset(t, 0, sizeof(*t));
	t->off = i;
	if (!s[i]) {
		t->kind = T_EOF;
		*pos = i;
		return 0;
	}
	if (is_ident_start((unsigned char)s[i])) {
		while (is_ident_start((unsigned char)s[i]) || is_digit((unsigned char)s[i]))
			i++;
		t->kind = T_IDENT;
	} else if (s[i] == '`') {
		if (quoted(s, &i, '`', err))
			return -1;
		t->kind = T_IDENT;
		t->quoted = 1;
	} else if (s[i] == '\'') {
		if (quoted(s, &i, '\'', err))
			return -1;
		t->kind = T_STRING;
	} else if (is_digit((unsigned char)s[i])) {
		while (is_digit((unsigned char)s[i]))
			i++;
		if (s[i] == '.' && is_digit((unsigned char)s[i + 1])) {
			i++;
			while (is_digit((unsigned char)s[i]))
				i++;
		}
		t->kind = T_NUMBER;
	} else if (s[i] == '@') {
		i++;
		/* a '.' belongs to the literal only before a digit (milliseconds):
		 * @2015.is(Date) is a date and a call */
		while (is_digit((unsigned char)s[i]) || (s[i] && strchr("-:T+Z", s[i])) ||
		       (s[i] == '.' && is_digit((unsigned char)s[i + 1])))
			i++;
		if (i == t->off + 1)
			return fail(err, t->off, "a date or time after @ expected");
		t->kind = T_DATE;
	} else if (s[i] == '%') {
		i++;
		if (s[i] == '`' || s[i] == '\'') {
			if (quoted(s, &i, s[i], err))
				return -1;
		} else if (is_ident_start((unsigned char)s[i])) {
			while (is_ident_start((unsigned char)s[i]) ||
			       is_digit((unsigned char)s[i]) || s[i] == '-')
				i++;
		} else {
			return fail(err, t->off, "a name after % expected");
		}
		t->kind = T_EXTVAR;
	} else if (s[i] == '$') {
		i++;
		while (is_ident_start((unsigned char)s[i]))
			i++;
		t->kind = T_SPECIAL;
	} else {
		t->kind = T_PUNCT;
		for (k = 0; two[k]; k++)
			if (!strncmp(s + i, two[k], 2))
				break;
		if (two[k]) {
			i += 2;
		} else if (strchr(".[](),+-*/&|=~<>{}", s[i])) {
			i++;
		} else {
			return fail(err, i, "unexpected character");
		}
	}
	t->len = i - t->off;
	*pos = i;
	return 0;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Appends code point cp as UTF-8. */
static size_t
put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	o[0] = (char)(0xE0 | (cp >> 12));
	o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

char *
fp_unescape(struct cg_arena *a, const char *p, size_t len)
{
	char *out = cg_arena_alloc(a, len + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (p[i] != '\\') {
			*o++ = p[i];
			continue;
		}
		if (++i >= len)
			return NULL;
		switch (p[i]) {
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'u': {
			unsigned cp = 0;
			int k, h;

			for (k = 1; k <= 4; k++) {
				h = i + (size_t)k < len ? hexval((unsigned char)p[i + (size_t)k])
				                        : -1;
				if (h < 0)
					return NULL;
				cp = cp * 16 + (unsigned)h;
			}
			if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
				return NULL;
			i += 4;
			o += put_utf8(o, cp);
			break;
		}
		default: /* \' \" \` \\ \/ and any other character as itself */
			*o++ = p[i];
			break;
		}
	}
	*o = '\0';
	return out;
}
