/*
 * fp_fn_encode.c: encode() and decode() (base64, urlbase64, hex), escape()
 * and unescape() (html, json).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fp_fn.h"

/* ---- encode, decode, escape, unescape ----------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(int ch, int url)
{
	const char *p;

	if (!ch)
		return -1;
	if (url && (ch == '+' || ch == '/'))
		return -1;
	if (url && ch == '-')
		return 62;
	if (url && ch == '_')
		return 63;
	p = strchr(b64, ch);
	return p ? (int)(p - b64) : -1;
}

static int
hex_value(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* encode('base64' | 'urlbase64' | 'hex') and decode(...): the string's
 * UTF-8 bytes; decoding to bytes that are not a string (a NUL) fails. */
FN(fp_fn_encode)
{
	int dec = call->node->fn->name[0] == 'd';
	const char *s, *how;
	size_t n, k, o = 0;
	char *r;
	int url;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &how));
	url = !strcmp(how, "urlbase64");
	n = strlen(s);
	if (!strcmp(how, "hex")) {
		if (!dec) {
			if (n > CG_FP_MAX_STRING / 2)
				return fp_too_long(c);
			if (!(r = cg_arena_alloc(ARENA, 2 * n + 1)))
				return CG_ENOMEM;
			for (k = 0; k < n; k++)
				o += (size_t)snprintf(r + o, 3, "%02x", (unsigned char)s[k]);
		} else {
			if (n % 2)
				return fp_fail(c, "decode('hex'): an odd number of digits");
			if (!(r = cg_arena_alloc(ARENA, n / 2 + 1)))
				return CG_ENOMEM;
			for (k = 0; k < n; k += 2) {
				int hi = hex_value((unsigned char)s[k]),
				    lo = hex_value((unsigned char)s[k + 1]);

				if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
					return fp_fail(c, "decode('hex'): not hexadecimal text");
				r[o++] = (char)(hi * 16 + lo);
			}
		}
	} else if (url || !strcmp(how, "base64")) {
		if (!dec) {
			const char *al = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy"
			                       "z0123456789-_"
			                     : b64;

			if (n > CG_FP_MAX_STRING / 4 * 3)
				return fp_too_long(c);
			if (!(r = cg_arena_alloc(ARENA, (n + 2) / 3 * 4 + 1)))
				return CG_ENOMEM;
			for (k = 0; k < n; k += 3) {
				unsigned v = (unsigned)(unsigned char)s[k] << 16;
				size_t m = n - k < 3 ? n - k : 3;

				if (m > 1)
					v |= (unsigned)(unsigned char)s[k + 1] << 8;
				if (m > 2)
					v |= (unsigned char)s[k + 2];
				r[o++] = al[(v >> 18) & 63];
				r[o++] = al[(v >> 12) & 63];
				r[o++] = m > 1 ? al[(v >> 6) & 63] : '=';
				r[o++] = m > 2 ? al[v & 63] : '=';
			}
		} else {
			unsigned v = 0;
			int bits = 0;

			if (!(r = cg_arena_alloc(ARENA, n / 4 * 3 + 4)))
				return CG_ENOMEM;
			for (k = 0; k < n && s[k] != '='; k++) {
				int d = b64_value((unsigned char)s[k], url);

				if (d < 0)
					return fp_fail(c, "decode('%s'): not %s text", how, how);
				v = (v << 6 | (unsigned)d) & 0xffffff;
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					r[o] = (char)((v >> bits) & 0xff);
					if (!r[o])
						return fp_fail(c, "decode('%s'): not a string",
						               how);
					o++;
				}
			}
			for (; k < n; k++)
				if (s[k] != '=')
					return fp_fail(c, "decode('%s'): not %s text", how, how);
		}
	} else {
		return fp_fail(c, "%s(): unknown encoding '%s'", call->node->fn->name, how);
	}
	r[o] = '\0';
	return fp_ret_str(c, r, o, out);
}

/* escape('html' | 'json') and unescape(...). */
FN(fp_fn_escape)
{
	int un = call->node->fn->name[0] == 'u', html;
	const char *s, *how;
	size_t n, k, o = 0;
	char *r;

	CHECK(fp_one_string(c, in, call, &s));
	CHECK(fp_arg_string(c, call, 0, &how));
	html = !strcmp(how, "html");
	if (!html && strcmp(how, "json"))
		return fp_fail(c, "%s(): unknown format '%s'", call->node->fn->name, how);
	n = strlen(s);
	if (n > CG_FP_MAX_STRING / 6)
		return fp_too_long(c);
	if (!(r = cg_arena_alloc(ARENA, 6 * n + 1)))
		return CG_ENOMEM;
	for (k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (!un && html) {
			const char *e = ch == '"'    ? "&quot;"
			                : ch == '<'  ? "&lt;"
			                : ch == '>'  ? "&gt;"
			                : ch == '&'  ? "&amp;"
			                : ch == '\'' ? "&#39;"
			                             : NULL;

			if (e) {
				memcpy(r + o, e, strlen(e));
				o += strlen(e);
			} else {
				r[o++] = (char)ch;
			}
		} else if (!un) {
			if (ch == '"' || ch == '\\') {
				r[o++] = '\\';
				r[o++] = (char)ch;
			} else if (ch < 0x20) {
				const char *e = ch == '\n'   ? "\\n"
				                : ch == '\r' ? "\\r"
				                : ch == '\t' ? "\\t"
				                             : NULL;

				if (e) {
					memcpy(r + o, e, 2);
					o += 2;
				} else {
					o += (size_t)snprintf(r + o, 7, "\\u%04x", ch);
				}
			} else {
				r[o++] = (char)ch;
			}
		} else if (html && ch == '&') {
			static const struct {
				const char *name;
				char ch;
			} ents[] = {{"&quot;", '"'}, {"&lt;", '<'},    {"&gt;", '>'},
			            {"&amp;", '&'},  {"&apos;", '\''}, {"&#39;", '\''}};
			size_t e;

			for (e = 0; e < sizeof(ents) / sizeof(ents[0]); e++)
				if (!strncmp(s + k, ents[e].name, strlen(ents[e].name)))
					break;
			if (e < sizeof(ents) / sizeof(ents[0])) {
				r[o++] = ents[e].ch;
				k += strlen(ents[e].name) - 1;
			} else {
				r[o++] = '&';
			}
		} else if (!html && ch == '\\' && s[k + 1]) {
			char nx = s[++k];

			r[o++] = nx == 'n' ? '\n' : nx == 'r' ? '\r' : nx == 't' ? '\t' : nx;
		} else {
			r[o++] = (char)ch;
		}
	}
	r[o] = '\0';
	return fp_ret_str(c, r, o, out);
}
