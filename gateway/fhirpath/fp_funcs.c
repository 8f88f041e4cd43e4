/*
 * fp_funcs.c: the FHIRPath function table (name, arguments, whether they are
 * evaluated lazily, and the function) and the helpers its functions share.
 * The functions live in fp_fn_<family>.c, one file a family; fp_fn.h
 * declares them.
 */
#include <string.h>

#include "fp_fn.h"

enum cg_err
fp_ret_bool(struct fp_ctx *c, int b, struct cg_fp_coll *out)
{
	struct cg_fp_item it;

	fp_bool(&it, b);
	return fp_single(ARENA, &it, out);
}

enum cg_err
fp_ret_item(struct fp_ctx *c, const struct cg_fp_item *it, struct cg_fp_coll *out)
{
	return fp_single(ARENA, it, out);
}

/* The one item of the input: 1 and *it, 0 when empty, -1 (error recorded)
 * when there are more. */
int
fp_one(struct fp_ctx *c, const struct cg_fp_coll *in, const struct fp_call *call,
       const struct cg_fp_item **it)
{
	if (in->n == 0)
		return 0;
	if (in->n > 1) {
		fp_fail(c, "%s() needs a single input item, found %zu", call->node->fn->name,
		        in->n);
		return -1;
	}
	*it = &in->items[0];
	return 1;
}

/* The input as a single string (FHIR strings and codes included). */
int
fp_one_string(struct fp_ctx *c, const struct cg_fp_coll *in, const struct fp_call *call,
              const char **s)
{
	const struct cg_fp_item *it;
	int r = fp_one(c, in, call, &it);

	if (r <= 0)
		return r;
	if (it->kind != CG_FP_STRING) {
		fp_fail(c, "%s() needs a string", call->node->fn->name);
		return -1;
	}
	*s = it->u.s;
	return 1;
}

int
fp_arg_string(struct fp_ctx *c, const struct fp_call *call, int k, const char **s)
{
	return fp_one_string(c, &call->args[k], call, s);
}

int
fp_arg_int(struct fp_ctx *c, const struct fp_call *call, int k, long long *v)
{
	const struct cg_fp_item *it;
	int r = fp_one(c, &call->args[k], call, &it);

	if (r <= 0)
		return r;
	if (it->kind != CG_FP_INTEGER) {
		fp_fail(c, "%s() needs an integer argument", call->node->fn->name);
		return -1;
	}
	*v = it->u.i;
	return 1;
}

enum cg_err
fp_too_long(struct fp_ctx *c)
{
	fp_fail(c, "a string longer than %zu bytes", CG_FP_MAX_STRING);
	return CG_ELIMIT;
}

enum cg_err
fp_ret_str(struct fp_ctx *c, const char *s, size_t n, struct cg_fp_coll *out)
{
	struct cg_fp_item it;
	char *p = fp_strndup(ARENA, s, n);

	if (!p)
		return CG_ENOMEM;
	fp_str(&it, p);
	return fp_ret_item(c, &it, out);
}

/* ---- the table ---------------------------------------------------------- */

static const struct fp_func funcs[] = {
        {"empty", 0, 0, 0, fp_fn_empty},
        {"exists", 0, 1, 1, fp_fn_exists},
        {"all", 1, 1, 1, fp_fn_all},
        {"allTrue", 0, 0, 0, fp_fn_alltrue},
        {"anyTrue", 0, 0, 0, fp_fn_anytrue},
        {"allFalse", 0, 0, 0, fp_fn_allfalse},
        {"anyFalse", 0, 0, 0, fp_fn_anyfalse},
        {"subsetOf", 1, 1, 0, fp_fn_subsetof},
        {"supersetOf", 1, 1, 0, fp_fn_supersetof},
        {"count", 0, 0, 0, fp_fn_count},
        {"distinct", 0, 0, 0, fp_fn_distinct},
        {"isDistinct", 0, 0, 0, fp_fn_isdistinct},
        {"where", 1, 1, 1, fp_fn_where},
        {"select", 1, 1, 1, fp_fn_select},
        {"repeat", 1, 1, 1, fp_fn_repeat},
        {"ofType", 1, 1, 1, fp_fn_oftype},
        {"is", 1, 1, 1, fp_fn_is},
        {"as", 1, 1, 1, fp_fn_as},
        {"first", 0, 0, 0, fp_fn_first},
        {"last", 0, 0, 0, fp_fn_last},
        {"tail", 0, 0, 0, fp_fn_tail},
        {"skip", 1, 1, 0, fp_fn_skip},
        {"take", 1, 1, 0, fp_fn_take},
        {"single", 0, 0, 0, fp_fn_single},
        {"union", 1, 1, 0, fp_fn_union},
        {"combine", 1, 1, 0, fp_fn_combine},
        {"intersect", 1, 1, 0, fp_fn_intersect},
        {"exclude", 1, 1, 0, fp_fn_exclude},
        {"iif", 2, 3, 1, fp_fn_iif},
        {"not", 0, 0, 0, fp_fn_not},
        {"trace", 1, 2, 0, fp_fn_trace},
        {"now", 0, 0, 0, fp_fn_now},
        {"today", 0, 0, 0, fp_fn_now},
        {"timeOfDay", 0, 0, 0, fp_fn_now},
        {"toInteger", 0, 0, 0, fp_fn_to},
        {"toDecimal", 0, 0, 0, fp_fn_to},
        {"toBoolean", 0, 0, 0, fp_fn_to},
        {"toString", 0, 0, 0, fp_fn_to},
        {"toDate", 0, 0, 0, fp_fn_to},
        {"toDateTime", 0, 0, 0, fp_fn_to},
        {"toTime", 0, 0, 0, fp_fn_to},
        {"toQuantity", 0, 1, 0, fp_fn_to},
        {"convertsToInteger", 0, 0, 0, fp_fn_convertsto},
        {"convertsToDecimal", 0, 0, 0, fp_fn_convertsto},
        {"convertsToBoolean", 0, 0, 0, fp_fn_convertsto},
        {"convertsToString", 0, 0, 0, fp_fn_convertsto},
        {"convertsToDate", 0, 0, 0, fp_fn_convertsto},
        {"convertsToDateTime", 0, 0, 0, fp_fn_convertsto},
        {"convertsToTime", 0, 0, 0, fp_fn_convertsto},
        {"convertsToQuantity", 0, 1, 0, fp_fn_convertsto},
        {"indexOf", 1, 1, 0, fp_fn_indexof},
        {"substring", 1, 2, 0, fp_fn_substring},
        {"startsWith", 1, 1, 0, fp_fn_startswith},
        {"endsWith", 1, 1, 0, fp_fn_endswith},
        {"contains", 1, 1, 0, fp_fn_contains},
        {"upper", 0, 0, 0, fp_fn_case},
        {"lower", 0, 0, 0, fp_fn_case},
        {"replace", 2, 2, 0, fp_fn_replace},
        {"matches", 1, 1, 0, fp_fn_matches},
        {"replaceMatches", 2, 2, 0, fp_fn_replacematches},
        {"length", 0, 0, 0, fp_fn_length},
        {"trim", 0, 0, 0, fp_fn_trim},
        {"split", 1, 1, 0, fp_fn_split},
        {"join", 0, 1, 0, fp_fn_join},
        {"toChars", 0, 0, 0, fp_fn_tochars},
        {"abs", 0, 0, 0, fp_fn_math},
        {"ceiling", 0, 0, 0, fp_fn_math},
        {"floor", 0, 0, 0, fp_fn_math},
        {"round", 0, 1, 0, fp_fn_math},
        {"sqrt", 0, 0, 0, fp_fn_math},
        {"ln", 0, 0, 0, fp_fn_math},
        {"log", 1, 1, 0, fp_fn_math},
        {"exp", 0, 0, 0, fp_fn_math},
        {"power", 1, 1, 0, fp_fn_math},
        {"truncate", 0, 0, 0, fp_fn_math},
        {"children", 0, 0, 0, fp_fn_children},
        {"descendants", 0, 0, 0, fp_fn_descendants},
        {"hasValue", 0, 0, 0, fp_fn_hasvalue},
        {"extension", 1, 1, 0, fp_fn_extension},
        {"resolve", 0, 0, 0, fp_fn_resolve},
        {"aggregate", 1, 2, 1, fp_fn_aggregate},
        {"precision", 0, 0, 0, fp_fn_precision},
        {"sort", 0, 16, 1, fp_fn_sort},
        {"encode", 1, 1, 0, fp_fn_encode},
        {"decode", 1, 1, 0, fp_fn_encode},
        {"escape", 1, 1, 0, fp_fn_escape},
        {"unescape", 1, 1, 0, fp_fn_escape},
        {"matchesFull", 1, 1, 0, fp_fn_matches},
        {"lowBoundary", 0, 1, 0, fp_fn_boundary},
        {"highBoundary", 0, 1, 0, fp_fn_boundary},
        {"comparable", 1, 1, 0, fp_fn_comparable},
        {"type", 0, 0, 0, fp_fn_type},
        {"conformsTo", 1, 1, 0, fp_fn_conformsto},
        {"htmlChecks", 0, 0, 0, fp_fn_htmlchecks},
        {"htmlchecks", 0, 0, 0, fp_fn_htmlchecks},
};

const struct fp_func *
fp_func_find(const char *name, size_t len)
{
	size_t k;

	for (k = 0; k < sizeof(funcs) / sizeof(funcs[0]); k++)
		if (strlen(funcs[k].name) == len && !strncmp(funcs[k].name, name, len))
			return &funcs[k];
	return NULL;
}
