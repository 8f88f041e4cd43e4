/*
 * xhtml.h: the XHTML of FHIR narrative (Narrative.div, and any element of
 * type xhtml), checked as R4 says it must be (narrative.html) and as the HL7
 * reference validator checks it:
 *
 * - well-formed XML, in one pass: one root element, every element closed in
 *   order, attribute values quoted and unique per element, only the five XML
 *   entities and character references (no HTML entities such as &nbsp;), no
 *   DOCTYPE, no processing instruction, no control characters;
 * - the root is a <div> with xmlns="http://www.w3.org/1999/xhtml", and an
 *   inner xmlns, when given, is the same namespace;
 * - only the basic HTML formatting elements and attributes of the HL7
 *   validator's lists (no script, style, form, head, body, base, link,
 *   iframe, object...; no event-handler attribute on*), and no block element
 *   (div, p, table, ul, ol, blockquote) inside a <p>;
 * - links and image sources well-formed, and never javascript: or
 *   vbscript: (active content); an image from an absolute URL other than
 *   data: is a warning, since R4 says images SHOULD be embedded (data: URL,
 *   attachment or contained resource);
 * - some non-whitespace content: text, or an image.
 *
 * Nothing is allocated: the checker walks the text once with a fixed stack
 * of open elements (CG_XHTML_MAX_DEPTH deep; deeper is an error). Messages
 * name elements and attributes but never quote text or attribute values,
 * which may hold patient data.
 */
#ifndef CG_XHTML_H
#define CG_XHTML_H

#include <stddef.h>

#define CG_XHTML_MAX_DEPTH  128
#define CG_XHTML_MAX_ISSUES 4

struct cg_xhtml_issue {
	int warning;   /* 1: a SHOULD of R4 not met; 0: an error */
	size_t offset; /* byte offset in the text where the problem is */
	char message[128];
};

struct cg_xhtml_result {
	size_t errors, warnings;
	size_t n; /* issues kept in v: the first CG_XHTML_MAX_ISSUES */
	struct cg_xhtml_issue v[CG_XHTML_MAX_ISSUES];
};

/* Checks the len bytes at s (no NUL needed) and fills *r. After a
 * well-formedness error the rest of the text is not looked at. */
void cg_xhtml_check(const char *s, size_t len, struct cg_xhtml_result *r);

#endif
