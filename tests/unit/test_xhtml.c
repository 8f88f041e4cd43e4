/*
 * test_xhtml.c: the narrative XHTML checker (rules/xhtml.c), rule by rule:
 * for each, a text that breaks it (with a word of the expected message) and
 * texts that keep it, published narrative among them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xhtml.h"

#define NS  "xmlns=\"http://www.w3.org/1999/xhtml\""
#define DIV "<div " NS ">"

struct xcase {
	const char *name;
	const char *text;
	int errors;      /* 0: none; 1: at least one */
	int warnings;    /* 0: none; 1: at least one */
	const char *why; /* a part of the first message, or NULL */
};

static const struct xcase cases[] = {
        /* kept */
        {"plain text", DIV "This is a simple example with only plain text</div>", 0, 0, NULL},
        {"formatting",
         DIV "<p>This is an <i>example</i> with some <b>xhtml</b> formatting.</p></div>", 0, 0,
         NULL},
        {"table",
         DIV "<table class=\"grid\"><tbody><tr><td colspan=\"2\">a</td></tr></tbody></table></div>",
         0, 0, NULL},
        {"entities and references", DIV "a &lt; b &amp;&amp; c &#160; &#x41;&quot;&apos;&gt;</div>",
         0, 0, NULL},
        {"comment and CDATA", DIV "<!-- note --><![CDATA[x < y]]></div>", 0, 0, NULL},
        {"contained image", DIV "<img src=\"#pic1\" alt=\"x\"/></div>", 0, 0, NULL},
        {"data image", DIV "<img src=\"data:image/gif;base64,R0lGOD==\"/></div>", 0, 0, NULL},
        {"link and anchor",
         DIV "<a href=\"http://example.org/x?a=1&amp;b=2#f\">x</a><a name=\"n\"/></div>", 0, 0,
         NULL},
        {"single quotes and white space", "<div " NS " lang='en' >x</div>\n  ", 0, 0, NULL},
        {"inner xmlns", DIV "<p xmlns=\"http://www.w3.org/1999/xhtml\">x</p></div>", 0, 0, NULL},
        {"style attribute", DIV "<span style=\"color: red\">x</span></div>", 0, 0, NULL},
        {"image is content", DIV "<img src=\"#a\"/></div>", 0, 0, NULL},

        /* well-formedness */
        {"not a div", "<p>x</p>", 1, 0, "start with <div"},
        {"div-like root", "<divx " NS ">x</divx>", 1, 0, "not <divx>"},
        {"unclosed", DIV "<p>x</div>", 1, 0, "nest"},
        {"unclosed root", DIV "x", 1, 0, "not closed"},
        {"stray end tag", DIV "x</div></p>", 1, 0, "no element open"},
        {"text after root", DIV "x</div>y", 1, 0, "after the closing"},
        {"element after root", DIV "x</div><p>y</p>", 1, 0, "one root"},
        {"unquoted attribute", "<div " NS " class=x>y</div>", 1, 0, "not quoted"},
        {"attribute without value", "<div " NS " hidden>y</div>", 1, 0, "without a value"},
        {"attribute twice", "<div " NS " class=\"a\" class=\"b\">y</div>", 1, 0, "twice"},
        {"attributes run together", "<div " NS " class=\"a\"id=\"b\">y</div>", 1, 0,
         "malformed attribute"},
        {"bare ampersand", DIV "a & b</div>", 1, 0, "reference"},
        {"HTML entity", DIV "a&nbsp;b</div>", 1, 0, "&#160;"},
        {"bad character reference", DIV "&#0;</div>", 1, 0, "does not allow"},
        {"surrogate reference", DIV "&#xD800;</div>", 1, 0, "does not allow"},
        {"less-than in text", DIV "a < b</div>", 1, 0, "&lt;"},
        {"less-than in attribute", "<div " NS " title=\"a<b\">x</div>", 1, 0, "'<'"},
        {"control character", DIV "a\x01 b</div>", 1, 0, "control character"},
        {"CDATA end in text", DIV "a ]]> b</div>", 1, 0, "]]>"},
        {"bad comment", DIV "<!-- a -- b -->x</div>", 1, 0, "comment"},
        {"unterminated comment", DIV "<!-- a</div>", 1, 0, "comment"},
        {"processing instruction", DIV "<?php echo 1 ?>x</div>", 1, 0, "processing instruction"},
        {"doctype", DIV "<!DOCTYPE html>x</div>", 1, 0, "DOCTYPE"},
        {"unterminated tag", "<div " NS, 1, 0, "does not end"},
        {"unterminated value", "<div " NS " title=\"x", 1, 0, "does not end"},

        /* namespace and root */
        {"no namespace", "<div>x</div>", 1, 0, "xmlns"},
        {"wrong namespace", "<div xmlns=\"http://www.w3.org/1999/html\">x</div>", 1, 0,
         "namespace"},
        {"wrong inner namespace", DIV "<p xmlns=\"urn:x\">x</p></div>", 1, 0, "namespace"},

        /* content */
        {"empty", DIV "</div>", 1, 0, "non-whitespace"},
        {"white space only", DIV " \n\t<p> </p><!-- c --></div>", 1, 0, "non-whitespace"},
        {"self-closed root", "<div " NS "/>", 1, 0, "non-whitespace"},

        /* elements and attributes */
        {"script", DIV "<script>alert(1)</script></div>", 1, 0, "active content"},
        {"form", DIV "<form>x</form></div>", 1, 0, "active content"},
        {"iframe", DIV "<iframe>x</iframe></div>", 1, 0, "active content"},
        {"object", DIV "<object>x</object></div>", 1, 0, "active content"},
        {"head", DIV "<head>x</head></div>", 1, 0, "not allowed"},
        {"body", DIV "<body>x</body></div>", 1, 0, "not allowed"},
        {"base", DIV "<base href=\"http://x\"/>x</div>", 1, 0, "not allowed"},
        {"link", DIV "<link rel=\"stylesheet\" href=\"x.css\"/>x</div>", 1, 0, "not allowed"},
        {"style element", DIV "<style>p{}</style>x</div>", 1, 0, "not allowed"},
        {"deprecated font", DIV "<font>x</font></div>", 1, 0, "not allowed"},
        {"upper-case element", DIV "<P>x</P></div>", 1, 0, "not allowed"},
        {"prefixed element", DIV "<x:p xmlns:x=\"urn:x\">x</x:p></div>", 1, 0, "not allowed"},
        {"event attribute", DIV "<p onclick=\"x()\">x</p></div>", 1, 0, "event attribute"},
        {"event attribute upper-case", DIV "<p ONMOUSEOVER=\"x()\">x</p></div>", 1, 0,
         "event attribute"},
        {"attribute of another element", DIV "<p href=\"x\">x</p></div>", 1, 0, "on <p>"},
        {"xlink", DIV "<a xlink:href=\"x\">x</a></div>", 1, 0, "not allowed"},
        {"block in a paragraph", DIV "<p>a<div>b</div></p></div>", 1, 0, "inside a <p>"},
        {"list in a paragraph", DIV "<p>a<span><ul><li>b</li></ul></span></p></div>", 1, 0,
         "inside a <p>"},

        /* URLs */
        {"javascript link", DIV "<a href=\"javascript:alert(1)\">x</a></div>", 1, 0,
         "active content"},
        {"javascript link, upper-case and spaced", DIV "<a href=\" JavaScript:x()\">x</a></div>", 1,
         0, "active content"},
        {"javascript link with a tab", DIV "<a href=\"java&#9;script:x\">x</a></div>", 1, 0,
         "reference"},
        {"vbscript image", DIV "<img src=\"vbscript:x\"/></div>", 1, 0, "active content"},
        {"empty link", DIV "<a href=\"\">x</a></div>", 1, 0, "empty URL"},
        {"link with a space", DIV "<a href=\"http://x/a b\">x</a></div>", 1, 0, "character"},
        {"data URL without a comma", DIV "<img src=\"data:image/gif\"/></div>", 1, 0, "','"},
        {"external image", DIV "<img src=\"https://example.org/a.png\"/></div>", 0, 1, "SHOULD"},
        {"relative image", DIV "<img src=\"Binary/1\"/></div>", 0, 0, NULL},
};

static void
run_case(void **state)
{
	const struct xcase *c = *state;
	struct cg_xhtml_result r;
	size_t k;

	cg_xhtml_check(c->text, strlen(c->text), &r);
	for (k = 0; k < r.n; k++)
		fprintf(stderr, "  %s at %zu: %s\n", r.v[k].warning ? "warning" : "error",
		        r.v[k].offset, r.v[k].message);
	assert_int_equal(r.errors > 0, c->errors);
	assert_int_equal(r.warnings > 0, c->warnings);
	if (c->why) {
		assert_true(r.n > 0);
		assert_non_null(strstr(r.v[0].message, c->why));
		assert_true(r.v[0].offset <= strlen(c->text));
	}
}

/* Many problems: all counted, the first CG_XHTML_MAX_ISSUES kept. */
static void
issues_capped(void **state)
{
	static const char t[] = DIV "<u>a</u><u>b</u><u>c</u><u>d</u><u>e</u><u>f</u></div>";
	struct cg_xhtml_result r;

	(void)state;
	cg_xhtml_check(t, sizeof(t) - 1, &r);
	assert_int_equal(r.errors, 6);
	assert_int_equal(r.n, CG_XHTML_MAX_ISSUES);
}

/* Nesting past the stack is an error, not an overflow; up to it is fine. */
static void
depth_limit(void **state)
{
	char *t = malloc(64 + (CG_XHTML_MAX_DEPTH + 2) * 8);
	struct cg_xhtml_result r;
	size_t n, i;

	(void)state;
	assert_non_null(t);
	for (n = CG_XHTML_MAX_DEPTH; n <= CG_XHTML_MAX_DEPTH + 1; n++) {
		char *p = t + sprintf(t, DIV);

		for (i = 0; i < n - 1; i++)
			p += sprintf(p, "<b>");
		p += sprintf(p, "x");
		for (i = 0; i < n - 1; i++)
			p += sprintf(p, "</b>");
		p += sprintf(p, "</div>");
		cg_xhtml_check(t, (size_t)(p - t), &r);
		/* <b> in <b> is allowed: only the depth can fail */
		assert_int_equal(r.errors, n > CG_XHTML_MAX_DEPTH ? 1 : 0);
	}
	free(t);
}

/* The checker reads len bytes and no further: no NUL needed. */
static void
not_nul_terminated(void **state)
{
	static const char t[] = DIV "x</div>";
	char *copy = malloc(sizeof(t) - 1);
	struct cg_xhtml_result r;

	(void)state;
	assert_non_null(copy);
	memcpy(copy, t, sizeof(t) - 1);
	cg_xhtml_check(copy, sizeof(t) - 1, &r);
	assert_int_equal(r.errors, 0);
	cg_xhtml_check(copy, sizeof(t) - 3, &r); /* cut inside </div> */
	assert_int_equal(r.errors, 1);
	free(copy);
}

int
main(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]), i;
	struct CMUnitTest *tests = calloc(n + 3, sizeof(*tests));
	int failed;

	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)(uintptr_t)&cases[i];
	}
	tests[n].name = "issues capped";
	tests[n].test_func = issues_capped;
	tests[n + 1].name = "depth limit";
	tests[n + 1].test_func = depth_limit;
	tests[n + 2].name = "not NUL-terminated";
	tests[n + 2].test_func = not_nul_terminated;
	failed = _cmocka_run_group_tests("XHTML narrative", tests, n + 3, NULL, NULL);
	free(tests);
	return failed;
}
