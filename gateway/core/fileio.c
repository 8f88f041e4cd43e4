/* fileio.c: whole-file reads, folders made; see fileio.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

enum cg_err
cg_file_read(const char *path, size_t max, char **out, size_t *len)
{
	int fd = 0;
	struct stat st;
	char *buf = NULL;
	size_t cap = 64 * 1024, used = 0;
	enum cg_err result = CG_OK;

	*out = NULL;
	*len = 0;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? CG_ENOENT : CG_EIO;
	}
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			result = CG_EIO;
			goto fail;
		}
		if (S_ISREG(st.st_mode)) {
			if ((unsigned long long)st.st_size > max) {
				result = CG_ELIMIT;
				goto fail;
			}
			/* One spare byte so that the read which sees EOF needs no growth. */
			cap = (size_t)st.st_size + 2;
		}
	}
	buf = malloc(cap);
	if (!buf) {
		result = CG_ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			size_t ncap = cap * 2;
			char *nbuf;

			if (cap > max + 1) {
				result = CG_ELIMIT;
				goto fail;
			}
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				result = CG_ENOMEM;
				goto fail;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			result = CG_EIO;
			goto fail;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			result = CG_ELIMIT;
			goto fail;
		}
	}
	buf[used] = '\0';
	if (fd != 0)
		close(fd);
	*out = buf;
	*len = used;
	return CG_OK;
fail:
	if (fd != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	free(buf);
	return result;
}

enum cg_err
cg_file_make_folder(const char *folder)
{
	char path[PATH_MAX];
	size_t i, n = strlen(folder);

	if (n == 0 || n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return CG_EIO;
	}
	memcpy(path, folder, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST)
			return CG_EIO;
		path[i] = i < n ? '/' : '\0';
	}
	return CG_OK;
}
