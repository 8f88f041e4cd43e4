/*
 * fileio.h: reading whole inputs into memory, with a cap.
 *
 * Inputs are validated as a whole (a JSON array of records needs the whole
 * text), so they are read at once. The cap keeps a mistaken multi-gigabyte
 * file or an endless pipe from taking the machine's memory.
 */
#ifndef CG_FILEIO_H
#define CG_FILEIO_H

#include <stddef.h>

#include "err.h"

#define CG_FILE_DEFAULT_MAX ((size_t)1 << 30) /* 1 GiB */

/* Reads path ("-" for standard input) into a new NUL-terminated buffer.
 * CG_ELIMIT when it holds more than max bytes; CG_EIO or CG_ENOENT with errno
 * set when it cannot be read. *out is the caller's to free. */
enum cg_err cg_file_read(const char *path, size_t max, char **out, size_t *len);

/* Makes folder and its missing parents (0750): ndjson folders, the audit
 * log's, the outbox's. CG_EIO with errno. A file where a folder should be
 * is not an error here (EEXIST): a caller that needs the folder checks. */
enum cg_err cg_file_make_folder(const char *folder);

#endif
