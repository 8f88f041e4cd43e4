/* fhir_narrative.c: narrative XHTML as issues; see fhir_narrative.h. */
#include <string.h>

#include <cjson/cJSON.h>

#include "fhir_narrative.h"
#include "xhtml.h"

/* Characters (code points) before byte offset off: the position a reader
 * finds in an editor, the text being UTF-8. */
static size_t
chars_before(const char *s, size_t off)
{
	size_t i, n = 0;

	for (i = 0; i < off; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

void
cg_fhir_narrative_check(struct cg_check *c, const cJSON *val, const char *path)
{
	struct cg_xhtml_result r;
	const char *s = cJSON_GetStringValue(val);
	size_t k, kept_errors = 0;

	if (!s)
		return;
	cg_xhtml_check(s, strlen(s), &r);
	for (k = 0; k < r.n; k++) {
		kept_errors += !r.v[k].warning;
		cg_check_issue(c,
		               r.v[k].warning ? CG_C_FHIR_NARRATIVE_WARNING : CG_C_FHIR_NARRATIVE,
		               val, NULL, 0, "%s (%s, at character %zu of the XHTML)",
		               r.v[k].message, path, chars_before(s, r.v[k].offset) + 1);
	}
	/* The checker keeps the first few: one issue says how many more. */
	if (r.errors > kept_errors)
		cg_check_issue(c, CG_C_FHIR_NARRATIVE, val, NULL, 0,
		               "and %zu more narrative errors (%s)", r.errors - kept_errors, path);
}
