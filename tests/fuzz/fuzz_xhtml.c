/*
 * fuzz_xhtml.c: libFuzzer target over the narrative XHTML checker
 * (rules/xhtml.c): the input is the text of a div, checked as it is, with no
 * NUL after it (an exact-size copy, so that ASan sees any read past its
 * end). Invariants: no crash; at most CG_XHTML_MAX_ISSUES issues kept, no
 * more than were counted; every issue at an offset within the text and
 * with a message; a text that is not <div... always has an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xhtml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_xhtml_result r;
	char *text = malloc(size ? size : 1);
	size_t k;

	if (!text)
		return 0;
	memcpy(text, data, size);
	cg_xhtml_check(text, size, &r);
	if (r.n > CG_XHTML_MAX_ISSUES || r.n > r.errors + r.warnings)
		abort();
	for (k = 0; k < r.n; k++)
		if (r.v[k].offset > size || !r.v[k].message[0] ||
		    !memchr(r.v[k].message, '\0', sizeof(r.v[k].message)))
			abort();
	if ((size < 4 || memcmp(text, "<div", 4) != 0) && r.errors == 0)
		abort();
	free(text);
	return 0;
}
