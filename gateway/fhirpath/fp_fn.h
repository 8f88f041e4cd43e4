/*
 * fp_fn.h: what the files of the function library (fp_fn_*.c) share: the
 * helpers a function uses to read its input and arguments and to return, and
 * the declaration of every function the table in fp_funcs.c names. Nothing
 * outside gateway/fhirpath/ sees it.
 */
#ifndef CG_FP_FN_H
#define CG_FP_FN_H

#include "fp_internal.h"

/* A function of the table: c, call (its node and arguments), in (the focus)
 * and out (the result, in the evaluation's arena). */
#define FN(name)                                                                                   \
	enum cg_err name(struct fp_ctx *c, const struct fp_call *call,                             \
	                 const struct cg_fp_coll *in, struct cg_fp_coll *out)

#define ARENA (c->env->arena)

/* Returns from a function on the result of fp_one() and its kind: an error
 * (-1, already recorded) is CG_EINVAL, an empty input (0) an empty result. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		int r_ = (x);                                                                      \
		if (r_ < 0)                                                                        \
			return CG_EINVAL;                                                          \
		if (r_ == 0)                                                                       \
			return CG_OK;                                                              \
	} while (0)

/* A collection of one string, a copy of s[0..n). */
enum cg_err fp_ret_str(struct fp_ctx *c, const char *s, size_t n, struct cg_fp_coll *out);
/* The one item of the input: 1 and *it, 0 when empty, -1 (error recorded)
 * when there are more. */
int fp_one(struct fp_ctx *c, const struct cg_fp_coll *in, const struct fp_call *call,
           const struct cg_fp_item **it);
/* The input as a single string (FHIR strings and codes included). */
int fp_one_string(struct fp_ctx *c, const struct cg_fp_coll *in, const struct fp_call *call,
                  const char **s);
/* Argument k as a single string or integer, as fp_one() answers. */
int fp_arg_string(struct fp_ctx *c, const struct fp_call *call, int k, const char **s);
int fp_arg_int(struct fp_ctx *c, const struct fp_call *call, int k, long long *v);
/* Records that a computed string would pass CG_FP_MAX_STRING. */
enum cg_err fp_too_long(struct fp_ctx *c);

/* The functions of the table, by the file that holds them. */
/* fp_fn_coll.c */
FN(fp_fn_empty);
FN(fp_fn_exists);
FN(fp_fn_all);
FN(fp_fn_alltrue);
FN(fp_fn_anytrue);
FN(fp_fn_allfalse);
FN(fp_fn_anyfalse);
FN(fp_fn_subsetof);
FN(fp_fn_supersetof);
FN(fp_fn_count);
FN(fp_fn_distinct);
FN(fp_fn_isdistinct);
FN(fp_fn_where);
FN(fp_fn_select);
FN(fp_fn_repeat);
FN(fp_fn_oftype);
FN(fp_fn_is);
FN(fp_fn_as);
FN(fp_fn_first);
FN(fp_fn_last);
FN(fp_fn_tail);
FN(fp_fn_skip);
FN(fp_fn_take);
FN(fp_fn_single);
FN(fp_fn_combine);
FN(fp_fn_union);
FN(fp_fn_intersect);
FN(fp_fn_exclude);
/* fp_fn_util.c */
FN(fp_fn_iif);
FN(fp_fn_not);
FN(fp_fn_trace);
FN(fp_fn_now);
FN(fp_fn_children);
FN(fp_fn_descendants);
FN(fp_fn_aggregate);
FN(fp_fn_sort);
/* fp_fn_conv.c */
FN(fp_fn_to);
FN(fp_fn_convertsto);
/* fp_fn_string.c */
FN(fp_fn_indexof);
FN(fp_fn_substring);
FN(fp_fn_startswith);
FN(fp_fn_endswith);
FN(fp_fn_contains);
FN(fp_fn_case);
FN(fp_fn_length);
FN(fp_fn_tochars);
FN(fp_fn_replace);
FN(fp_fn_matches);
FN(fp_fn_replacematches);
FN(fp_fn_trim);
FN(fp_fn_split);
FN(fp_fn_join);
/* fp_fn_math.c */
FN(fp_fn_math);
FN(fp_fn_comparable);
/* fp_fn_bound.c */
FN(fp_fn_precision);
FN(fp_fn_boundary);
/* fp_fn_fhir.c */
FN(fp_fn_hasvalue);
FN(fp_fn_extension);
FN(fp_fn_resolve);
FN(fp_fn_type);
FN(fp_fn_conformsto);
/* fp_fn_encode.c */
FN(fp_fn_encode);
FN(fp_fn_escape);

#endif
