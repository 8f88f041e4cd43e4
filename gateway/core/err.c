/* err.c: descriptions of enum cg_err. */
#include "err.h"

const char *
cg_strerror(enum cg_err err)
{
	switch (err) {
	case CG_OK:
		return "no error";
	case CG_ENOMEM:
		return "out of memory";
	case CG_EIO:
		return "input/output error";
	case CG_ELIMIT:
		return "size limit reached";
	case CG_EINVAL:
		return "invalid argument";
	case CG_ENOENT:
		return "not found";
	case CG_EMAPPINGS:
		return "code tables unusable";
	}
	return "unknown error";
}
