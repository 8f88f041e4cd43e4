/*
 * fp_html.c: FHIR's htmlChecks() (alias htmlchecks(), as R4's own
 * definitions spell it in places), the function of the invariants txt-1 and
 * txt-2 on Narrative.div: true when the XHTML keeps R4's narrative rules,
 * false otherwise. The checking is rules/xhtml.c's, the same the structural
 * validator reports issues from, so the invariants and the validator never
 * disagree. Warnings (an image from outside the resource, a SHOULD) do not
 * make it false.
 */
#include <string.h>

#include "fp_internal.h"
#include "xhtml.h"

enum cg_err
fp_fn_htmlchecks(struct fp_ctx *c, const struct fp_call *call, const struct cg_fp_coll *in,
                 struct cg_fp_coll *out)
{
	struct cg_xhtml_result r;
	struct cg_fp_item it;
	const char *s;

	(void)call;
	if (in->n == 0) {
		out->items = NULL;
		out->n = 0;
		return CG_OK;
	}
	if (in->n > 1)
		return fp_fail(c, "htmlChecks() needs a single input item, found %zu", in->n);
	/* Anything but a string (an xhtml value is one) is not narrative. */
	if (in->items[0].kind != CG_FP_STRING) {
		fp_bool(&it, 0);
		return fp_single(c->env->arena, &it, out);
	}
	s = in->items[0].u.s;
	cg_xhtml_check(s, strlen(s), &r);
	fp_bool(&it, r.errors == 0);
	return fp_single(c->env->arena, &it, out);
}
