/*
 * err.h: the one error type threaded through cellgate, after curl's CURLcode.
 *
 * Functions that can fail return enum cg_err; CG_OK is 0 so that callers write
 *	result = f(); if(result) return result;
 * and every call is checked (CG_MUST_CHECK has the compiler say so where it
 * matters most: the appends of buf.h). A function that answers a yes/no
 * question returns bool instead. These are program-level failures (memory,
 * I/O, limits). What is wrong with a user's record is not an error of the
 * program: it goes into a diagnostics list (diag.h) and the call still
 * returns CG_OK.
 */
#ifndef CG_ERR_H
#define CG_ERR_H

enum cg_err {
	CG_OK = 0,
	CG_ENOMEM,   /* an allocation failed */
	CG_EIO,      /* a read or write failed; errno says more */
	CG_ELIMIT,   /* a hard size cap was reached */
	CG_EINVAL,   /* bad argument or bad data that the caller must not retry */
	CG_ENOENT,   /* a file or table entry does not exist */
	CG_EMAPPINGS /* the code tables in mappings/ are unusable */
};

/* On a function returning enum cg_err whose result must not be dropped: the
 * compiler warns at a call that ignores it (and gcc takes no (void) for an
 * answer, so the result has to be used). */
#define CG_MUST_CHECK __attribute__((warn_unused_result))

/* A short English description of an error code; never NULL. */
const char *cg_strerror(enum cg_err err);

#endif
