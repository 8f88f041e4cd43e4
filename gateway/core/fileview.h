/*
 * fileview.h: an input file's bytes, mapped rather than copied when large.
 *
 * `cellgate validate` of a 57 MB export spent a tenth of its time in read()
 * copying the file into fresh memory (page faults and a copy: 41 ms against
 * 8 ms mapped). A regular file of at least CG_FILE_VIEW_MAP_MIN bytes is
 * therefore mapped read-only; anything else (standard input, a pipe, a
 * small file) is read with cg_file_read.
 *
 * A mapped file that shrinks while it is read (another program truncates
 * an export being validated) would kill the process with SIGBUS on the
 * first page past its new end. Instead, a SIGBUS handler maps zeros over
 * the pages of the view that are gone, so the reader goes on and sees NUL
 * bytes (which the JSON scanner refuses), and cg_file_view_changed() tells
 * the caller, which must report the file as unreadable. A SIGBUS anywhere
 * else takes its default action, as before.
 *
 * One view is open at a time in a process (the command line validates its
 * files one after the other); the view's bytes are not NUL-terminated.
 */
#ifndef CG_FILEVIEW_H
#define CG_FILEVIEW_H

#include <stddef.h>

#include "err.h"

#define CG_FILE_VIEW_MAP_MIN ((size_t)1 << 20) /* 1 MiB */

struct cg_file_view {
	const char *p; /* the bytes */
	size_t len;
	void *map; /* the mapping, or NULL */
	size_t map_len;
	char *heap; /* what cg_file_read made, or NULL */
};

/* Opens path ("-": standard input) with the cap and the errors of
 * cg_file_read. CG_EINVAL when another view is open. */
enum cg_err cg_file_view_open(const char *path, size_t max, struct cg_file_view *v);
/* Whether v's file shrank while it was mapped (its lost pages read as
 * zeros): the input is not what the file held. */
int cg_file_view_changed(const struct cg_file_view *v);
void cg_file_view_close(struct cg_file_view *v);

#endif
