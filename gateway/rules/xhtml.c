/*
 * xhtml.c: the XHTML of FHIR narrative, checked in one pass; see xhtml.h.
 *
 * The element and attribute lists are those of the HL7 reference validator
 * (XhtmlValidator: HTML_ELEMENTS, HTML_ATTRIBUTES, HTML_COMBO_LIST), so that
 * cellgate rejects what it rejects; they are R4's "basic HTML formatting
 * elements" (chapters 7-11 and 15 of HTML 4.0) without deprecated ones.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xhtml.h"

#define XHTML_NS "http://www.w3.org/1999/xhtml"

struct span {
	size_t off, len;
};

struct scan {
	const char *s;
	size_t len, pos;
	struct cg_xhtml_result *r;
	int fatal;     /* well-formedness broken: nothing after it is looked at */
	int content;   /* non-whitespace text or an image seen */
	unsigned in_p; /* open <p> elements */
	int root_done; /* the root element has been closed */
	struct span open[CG_XHTML_MAX_DEPTH];
	size_t depth;
};

static const char *const elements[] = {
        "p",     "br",   "div",   "h1",      "h2",       "h3",     "h4",         "h5",   "h6",
        "a",     "span", "b",     "em",      "i",        "strong", "small",      "big",  "tt",
        "dfn",   "q",    "var",   "abbr",    "acronym",  "cite",   "blockquote", "hr",   "address",
        "bdo",   "kbd",  "sub",   "sup",     "ul",       "ol",     "li",         "dl",   "dt",
        "dd",    "pre",  "table", "caption", "colgroup", "col",    "thead",      "tr",   "tfoot",
        "tbody", "th",   "td",    "code",    "samp",     "img",    "map",        "area", NULL};

/* Allowed on every element. */
static const char *const attributes[] = {
        "title",    "style",   "class", "id",      "lang",    "xml:lang",  "dir",     "accesskey",
        "tabindex", "span",    "width", "align",   "valign",  "char",      "charoff", "abbr",
        "axis",     "headers", "scope", "rowspan", "colspan", "xml:space", NULL};

/* Allowed on one element only, written element.attribute. */
static const char *const combos[] = {"a.href",
                                     "a.name",
                                     "a.charset",
                                     "a.type",
                                     "a.hreflang",
                                     "a.rel",
                                     "a.rev",
                                     "a.shape",
                                     "a.coords",
                                     "img.src",
                                     "img.border",
                                     "img.alt",
                                     "img.longdesc",
                                     "img.height",
                                     "img.width",
                                     "img.usemap",
                                     "img.ismap",
                                     "div.xmlns",
                                     "blockquote.cite",
                                     "q.cite",
                                     "map.name",
                                     "area.shape",
                                     "area.coords",
                                     "area.href",
                                     "area.nohref",
                                     "area.alt",
                                     "table.summary",
                                     "table.width",
                                     "table.border",
                                     "table.frame",
                                     "table.rules",
                                     "table.cellspacing",
                                     "table.cellpadding",
                                     "pre.space",
                                     "td.nowrap",
                                     NULL};

/* Block elements, which a <p> may not hold. */
static const char *const blocks[] = {"div", "blockquote", "table", "ol", "ul", "p", NULL};

static void report(struct scan *sc, int warning, size_t off, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
report(struct scan *sc, int warning, size_t off, const char *fmt, ...)
{
	struct cg_xhtml_result *r = sc->r;
	va_list ap;

	if (warning)
		r->warnings++;
	else
		r->errors++;
	if (r->n >= CG_XHTML_MAX_ISSUES)
		return;
	r->v[r->n].warning = warning;
	r->v[r->n].offset = off;
	va_start(ap, fmt);
	vsnprintf(r->v[r->n].message, sizeof(r->v[r->n].message), fmt, ap);
	va_end(ap);
	r->n++;
}

/* A well-formedness error: the structure after it cannot be trusted. */
#define FATAL(sc, off, ...)                                                                        \
	do {                                                                                       \
		report((sc), 0, (off), __VA_ARGS__);                                               \
		(sc)->fatal = 1;                                                                   \
	} while (0)

static int
in_list(const char *const *list, const char *p, size_t n)
{
	size_t k;

	for (k = 0; list[k]; k++)
		if (strlen(list[k]) == n && !memcmp(list[k], p, n))
			return 1;
	return 0;
}

static int
eq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(p, lit, n);
}

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* XML names, with any non-ASCII byte taken as a name character (the text
 * came through the UTF-8 check of the JSON scanner). */
static int
name_start(unsigned char c)
{
	return is_alpha(c) || c == '_' || c == ':' || c >= 0x80;
}

static int
name_char(unsigned char c)
{
	return name_start(c) || is_digit(c) || c == '-' || c == '.';
}

/* Control characters other than tab, LF and CR are not XML characters. */
static int
bad_char(unsigned char c)
{
	return c < 0x20 && !is_ws(c);
}

static int
at(const struct scan *sc, const char *lit)
{
	size_t n = strlen(lit);

	return sc->len - sc->pos >= n && !memcmp(sc->s + sc->pos, lit, n);
}

static void
skip_ws(struct scan *sc)
{
	while (sc->pos < sc->len && is_ws((unsigned char)sc->s[sc->pos]))
		sc->pos++;
}

/* A name at pos, or 0 when there is none. */
static size_t
scan_name(struct scan *sc)
{
	size_t start = sc->pos;

	if (sc->pos >= sc->len || !name_start((unsigned char)sc->s[sc->pos]))
		return 0;
	while (sc->pos < sc->len && name_char((unsigned char)sc->s[sc->pos]))
		sc->pos++;
	return sc->pos - start;
}

/* A name clipped for a message (names are markup, never patient data, but
 * may be long). */
static int
clip(size_t n)
{
	return n > 40 ? 40 : (int)n;
}

/* An entity or character reference at pos ('&'). Returns the code point,
 * or -1 after reporting. */
static long
scan_ref(struct scan *sc)
{
	size_t start = sc->pos, end;
	const char *p;
	long cp = 0;

	for (end = start + 1; end < sc->len && end - start < 12 && sc->s[end] != ';'; end++)
		;
	if (end >= sc->len || sc->s[end] != ';' || end == start + 1) {
		FATAL(sc, start, "'&' that does not start a reference (write &amp;)");
		return -1;
	}
	p = sc->s + start + 1;
	sc->pos = end + 1;
	if (*p == '#') {
		size_t i = 1, n = end - start - 1;
		int hex = n > 1 && p[1] == 'x';

		if (hex)
			i = 2;
		if (i >= n) {
			FATAL(sc, start, "an empty character reference");
			return -1;
		}
		for (; i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			int d = is_digit(c)                   ? c - '0'
			        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
			                                      : -1;

			if (d < 0 || cp > 0x10FFFF) {
				FATAL(sc, start, "a malformed character reference");
				return -1;
			}
			cp = cp * (hex ? 16 : 10) + d;
		}
		if ((cp < 0x20 && !is_ws((unsigned char)cp)) || (cp >= 0xD800 && cp <= 0xDFFF) ||
		    cp == 0xFFFE || cp == 0xFFFF || cp > 0x10FFFF) {
			FATAL(sc, start, "a character reference to a character XML does not allow");
			return -1;
		}
		return cp;
	}
	if (eq(p, end - start - 1, "lt"))
		return '<';
	if (eq(p, end - start - 1, "gt"))
		return '>';
	if (eq(p, end - start - 1, "amp"))
		return '&';
	if (eq(p, end - start - 1, "quot"))
		return '"';
	if (eq(p, end - start - 1, "apos"))
		return '\'';
	/* Not fatal: the structure around it is still sound. */
	report(sc, 0, start,
	       "HTML entity &%.*s; is not XML: write the character itself (&#160; for &nbsp;)",
	       clip(end - start - 1), p);
	return '?';
}

/* Character data up to the next '<'. */
static void
scan_text(struct scan *sc)
{
	while (!sc->fatal && sc->pos < sc->len && sc->s[sc->pos] != '<') {
		unsigned char c = (unsigned char)sc->s[sc->pos];

		if (c == '&') {
			long cp;

			if (sc->depth == 0) {
				FATAL(sc, sc->pos, "text after the closing </div>");
				return;
			}
			cp = scan_ref(sc);

			if (cp > 0 && !is_ws((unsigned char)(cp < 0x80 ? cp : 'x')))
				sc->content = 1;
			continue;
		}
		if (bad_char(c)) {
			FATAL(sc, sc->pos, "a control character, which XML does not allow");
			return;
		}
		if (c == ']' && at(sc, "]]>")) {
			FATAL(sc, sc->pos, "']]>' in text (write ]]&gt;)");
			return;
		}
		if (sc->depth == 0 && !is_ws(c)) {
			FATAL(sc, sc->pos, "text after the closing </div>");
			return;
		}
		if (!is_ws(c))
			sc->content = 1;
		sc->pos++;
	}
}

/* RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static int
scheme_ok(const char *p)
{
	if (!is_alpha((unsigned char)*p))
		return 0;
	for (p++; *p; p++)
		if (!is_alpha((unsigned char)*p) && !is_digit((unsigned char)*p) &&
		    !strchr("+-.", *p))
			return 0;
	return 1;
}

/* A URL in href, src, cite or longdesc (value: the raw attribute value). */
static void
check_url(struct scan *sc, const char *v, size_t n, size_t off, int image)
{
	char scheme[16];
	size_t i, k = 0;

	if (n == 0) {
		report(sc, 0, off, "an empty URL");
		return;
	}
	/* The scheme as a browser reads it: white space and control characters
	 * dropped, letters folded, entities such as &#58; decoded enough to
	 * catch "javascript&#58;". */
	for (i = 0; i < n && k < sizeof(scheme) - 1; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20)
			continue;
		if (c == '&' && i + 1 < n && v[i + 1] == '#') {
			report(sc, 0, off, "a character reference in a URL's scheme");
			return;
		}
		if (c == ':')
			break;
		scheme[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	scheme[k] = '\0';
	if (i < n && v[i] == ':' && scheme_ok(scheme)) {
		if (!strcmp(scheme, "javascript") || !strcmp(scheme, "vbscript")) {
			report(sc, 0, off,
			       "a %s: URL is active content, which narrative may not hold", scheme);
			return;
		}
		if (!strcmp(scheme, "data")) {
			const char *comma = memchr(v, ',', n);

			if (!comma || memchr(comma + 1, ',', n - (size_t)(comma + 1 - v)))
				report(sc, 0, off, "a data: URL needs exactly one ','");
			return;
		}
		if (image)
			report(sc, 1, off,
			       "an image from outside the resource: R4 says it SHOULD be a data: "
			       "URL "
			       "or a contained resource (#id)");
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!(is_alpha(c) || is_digit(c) || c >= 0x80 ||
		      strchr(";?:@&=+$.,/%-_~#[]!'()*|", c)) ||
		    c == '\0') {
			report(sc, 0, off, "a URL with a character URLs do not have (0x%02x)", c);
			return;
		}
	}
}

static int
is_url_attr(const char *el, size_t en, const char *an, size_t n)
{
	return ((eq(el, en, "a") || eq(el, en, "area")) && eq(an, n, "href")) ||
	       (eq(el, en, "img") && (eq(an, n, "src") || eq(an, n, "longdesc"))) ||
	       ((eq(el, en, "blockquote") || eq(el, en, "q")) && eq(an, n, "cite"));
}

/* One attribute's name against the lists, for the element el. */
static void
check_attr_name(struct scan *sc, const char *el, size_t en, const char *an, size_t n, size_t off)
{
	char combo[64];

	if (n >= 5 && !memcmp(an, "xmlns", 5))
		return;
	if (in_list(attributes, an, n))
		return;
	if (en + 1 + n < sizeof(combo)) {
		memcpy(combo, el, en);
		combo[en] = '.';
		memcpy(combo + en + 1, an, n);
		if (in_list(combos, combo, en + 1 + n))
			return;
	}
	if (n > 2 && (an[0] == 'o' || an[0] == 'O') && (an[1] == 'n' || an[1] == 'N'))
		report(sc, 0, off,
		       "event attribute %.*s is not allowed: narrative holds no active content",
		       clip(n), an);
	else
		report(sc, 0, off, "attribute %.*s is not allowed on <%.*s> in narrative", clip(n),
		       an, clip(en), el);
}

static void
check_element_name(struct scan *sc, const char *el, size_t n, size_t off)
{
	if (sc->depth == 0) {
		if (!eq(el, n, "div"))
			report(sc, 0, off, "narrative is a <div>, not <%.*s>", clip(n), el);
		return;
	}
	if (!in_list(elements, el, n)) {
		if (eq(el, n, "script") || eq(el, n, "form") || eq(el, n, "object") ||
		    eq(el, n, "iframe") || eq(el, n, "frame") || eq(el, n, "embed") ||
		    eq(el, n, "input") || eq(el, n, "button"))
			report(sc, 0, off,
			       "<%.*s> is not allowed: narrative holds no active content or forms",
			       clip(n), el);
		else
			report(sc, 0, off,
			       "<%.*s> is not allowed in narrative (only basic HTML formatting)",
			       clip(n), el);
		return;
	}
	if (sc->in_p && in_list(blocks, el, n))
		report(sc, 0, off, "<%.*s> inside a <p>: a paragraph holds no block elements",
		       clip(n), el);
}

/* A start tag at pos ('<' and a name start). */
static void
scan_start_tag(struct scan *sc)
{
	struct span attrs[32];
	size_t start = sc->pos, el, en, na = 0, k;
	int xmlns = 0, root = sc->depth == 0; /* xmlns: 0 none, 1 right, 2 wrong */

	sc->pos++;
	el = sc->pos;
	en = scan_name(sc);
	if (sc->root_done) {
		FATAL(sc, start, "an element after the closing </div>: one root only");
		return;
	}
	check_element_name(sc, sc->s + el, en, start);
	for (;;) {
		size_t ws = sc->pos, an, n, vstart;
		char q;

		skip_ws(sc);
		if (sc->pos >= sc->len) {
			FATAL(sc, start, "a start tag that does not end");
			return;
		}
		if (sc->s[sc->pos] == '>' || at(sc, "/>"))
			break;
		an = sc->pos;
		n = scan_name(sc);
		if (n == 0 || ws == an) {
			FATAL(sc, sc->pos, "a malformed attribute in <%.*s>", clip(en), sc->s + el);
			return;
		}
		for (k = 0; k < na; k++)
			if (attrs[k].len == n && !memcmp(sc->s + attrs[k].off, sc->s + an, n)) {
				FATAL(sc, an, "attribute %.*s twice on one element", clip(n),
				      sc->s + an);
				return;
			}
		if (na == sizeof(attrs) / sizeof(attrs[0])) {
			FATAL(sc, an, "more than 32 attributes on one element");
			return;
		}
		attrs[na].off = an;
		attrs[na++].len = n;
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != '=') {
			FATAL(sc, an, "attribute %.*s without a value", clip(n), sc->s + an);
			return;
		}
		sc->pos++;
		skip_ws(sc);
		if (sc->pos >= sc->len || (sc->s[sc->pos] != '"' && sc->s[sc->pos] != '\'')) {
			FATAL(sc, an, "the value of %.*s is not quoted", clip(n), sc->s + an);
			return;
		}
		q = sc->s[sc->pos++];
		vstart = sc->pos;
		while (sc->pos < sc->len && sc->s[sc->pos] != q) {
			unsigned char c = (unsigned char)sc->s[sc->pos];

			if (c == '<' || bad_char(c)) {
				FATAL(sc, sc->pos,
				      "'<' or a control character in an attribute value");
				return;
			}
			if (c == '&') {
				if (scan_ref(sc) < 0)
					return;
				continue;
			}
			sc->pos++;
		}
		if (sc->pos >= sc->len) {
			FATAL(sc, vstart, "an attribute value that does not end");
			return;
		}
		check_attr_name(sc, sc->s + el, en, sc->s + an, n, an);
		if (eq(sc->s + an, n, "xmlns")) {
			xmlns = eq(sc->s + vstart, sc->pos - vstart, XHTML_NS) ? 1 : 2;
			if (xmlns == 2)
				report(sc, 0, an, "the namespace of narrative is " XHTML_NS);
		} else if (is_url_attr(sc->s + el, en, sc->s + an, n)) {
			check_url(sc, sc->s + vstart, sc->pos - vstart, vstart,
			          eq(sc->s + an, n, "src"));
		}
		sc->pos++; /* the closing quote */
	}
	if (root && !xmlns)
		report(sc, 0, start, "the root <div> needs xmlns=\"" XHTML_NS "\"");
	if (eq(sc->s + el, en, "img"))
		sc->content = 1;
	if (sc->s[sc->pos] == '/') {
		sc->pos += 2;
		if (root)
			sc->root_done = 1;
		return;
	}
	sc->pos++;
	if (sc->depth == CG_XHTML_MAX_DEPTH) {
		FATAL(sc, start, "elements nested deeper than %d", CG_XHTML_MAX_DEPTH);
		return;
	}
	sc->open[sc->depth].off = el;
	sc->open[sc->depth++].len = en;
	if (eq(sc->s + el, en, "p"))
		sc->in_p++;
}

static void
scan_end_tag(struct scan *sc)
{
	size_t start = sc->pos, n;
	const struct span *top;

	sc->pos += 2;
	n = scan_name(sc);
	skip_ws(sc);
	if (n == 0 || sc->pos >= sc->len || sc->s[sc->pos] != '>') {
		FATAL(sc, start, "a malformed end tag");
		return;
	}
	sc->pos++;
	if (sc->depth == 0) {
		FATAL(sc, start, "an end tag with no element open");
		return;
	}
	top = &sc->open[sc->depth - 1];
	if (top->len != n || memcmp(sc->s + top->off, sc->s + start + 2, n)) {
		FATAL(sc, start, "</%.*s> closes <%.*s>: elements must nest", clip(n),
		      sc->s + start + 2, clip(top->len), sc->s + top->off);
		return;
	}
	if (eq(sc->s + top->off, top->len, "p"))
		sc->in_p--;
	if (--sc->depth == 0)
		sc->root_done = 1;
}

/* <!-- -->, <![CDATA[ ]]>, <!DOCTYPE>, <? ?>. */
static void
scan_markup(struct scan *sc)
{
	size_t start = sc->pos;
	const char *end;

	if (at(sc, "<!--")) {
		end = NULL;
		for (sc->pos += 4; sc->pos + 1 < sc->len; sc->pos++)
			if (sc->s[sc->pos] == '-' && sc->s[sc->pos + 1] == '-') {
				end = sc->s + sc->pos;
				break;
			}
		if (!end || sc->pos + 2 >= sc->len || sc->s[sc->pos + 2] != '>') {
			FATAL(sc, start, "a comment that does not end with -->, or holds --");
			return;
		}
		sc->pos += 3;
		return;
	}
	if (at(sc, "<![CDATA[")) {
		if (sc->depth == 0) {
			FATAL(sc, start, "CDATA outside the root <div>");
			return;
		}
		for (sc->pos += 9; sc->pos < sc->len && !at(sc, "]]>"); sc->pos++) {
			unsigned char c = (unsigned char)sc->s[sc->pos];

			if (bad_char(c)) {
				FATAL(sc, sc->pos, "a control character, which XML does not allow");
				return;
			}
			if (!is_ws(c))
				sc->content = 1;
		}
		if (sc->pos >= sc->len) {
			FATAL(sc, start, "a CDATA section that does not end");
			return;
		}
		sc->pos += 3;
		return;
	}
	if (at(sc, "<?"))
		FATAL(sc, start, "a processing instruction, which narrative may not hold");
	else if (at(sc, "<!DOCTYPE"))
		FATAL(sc, start, "a DOCTYPE, which narrative may not hold");
	else
		FATAL(sc, start, "malformed markup after '<!'");
}

void
cg_xhtml_check(const char *s, size_t len, struct cg_xhtml_result *r)
{
	struct scan sc;

	memset(r, 0, sizeof(*r));
	sc.s = s;
	sc.len = len;
	sc.pos = 0;
	sc.r = r;
	sc.fatal = 0;
	sc.content = 0;
	sc.in_p = 0;
	sc.root_done = 0;
	sc.depth = 0;
	if (len < 4 || memcmp(s, "<div", 4) != 0) {
		report(&sc, 0, 0, "narrative must start with <div");
		return;
	}
	while (!sc.fatal && sc.pos < len) {
		if (s[sc.pos] != '<') {
			scan_text(&sc);
			continue;
		}
		if (sc.pos + 1 < len && s[sc.pos + 1] == '/')
			scan_end_tag(&sc);
		else if (sc.pos + 1 < len && (s[sc.pos + 1] == '!' || s[sc.pos + 1] == '?'))
			scan_markup(&sc);
		else if (sc.pos + 1 < len && name_start((unsigned char)s[sc.pos + 1]))
			scan_start_tag(&sc);
		else
			FATAL(&sc, sc.pos, "'<' that does not start a tag (write &lt;)");
	}
	if (sc.fatal)
		return;
	if (sc.depth > 0) {
		report(&sc, 0, len, "<%.*s> is not closed", clip(sc.open[sc.depth - 1].len),
		       s + sc.open[sc.depth - 1].off);
		return;
	}
	if (!sc.content)
		report(&sc, 0, 0, "narrative needs some non-whitespace content (text or an image)");
}
