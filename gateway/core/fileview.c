/* fileview.c: large inputs mapped, safe from truncation; see fileview.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "fileview.h"

/* The open view, as the SIGBUS handler sees it. */
static struct {
	char *volatile base;
	volatile size_t len; /* of the mapping: whole pages */
	volatile size_t page;
	volatile sig_atomic_t changed;
} mapped;

static struct sigaction saved_bus;

/* A SIGBUS in the view: its file lost the pages from the one touched on,
 * which are replaced by zeros, and the access is made again. Any other goes
 * to the default action (mmap and sigaction are system calls: nothing here
 * takes a lock). */
static void
on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr, *base = mapped.base;

	(void)uc;
	if (base && a >= base && a < base + mapped.len) {
		char *from = (char *)((uintptr_t)a & ~(uintptr_t)(mapped.page - 1));

		if (mmap(from, (size_t)(base + mapped.len - from), PROT_READ,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
			mapped.changed = 1;
			return;
		}
	}
	{
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(sig, &dfl, NULL);
	}
}

enum cg_err
cg_file_view_open(const char *path, size_t max, struct cg_file_view *v)
{
	struct sigaction sa;
	struct stat st;
	void *map;
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	memset(v, 0, sizeof(*v));
	if (mapped.base)
		return CG_EINVAL; /* one at a time */
	if (strcmp(path, "-") == 0)
		goto read;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CG_ENOENT : CG_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || page <= 0 ||
	    (unsigned long long)st.st_size < CG_FILE_VIEW_MAP_MIN ||
	    (unsigned long long)st.st_size > max) {
		close(fd); /* cg_file_read says what is wrong, or reads it */
		goto read;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		goto read;
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	v->map = map;
	v->map_len = ((size_t)st.st_size + (size_t)page - 1) & ~((size_t)page - 1);
	v->p = map;
	v->len = (size_t)st.st_size;
	mapped.page = (size_t)page;
	mapped.len = v->map_len;
	mapped.changed = 0;
	mapped.base = map;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &saved_bus) != 0) {
		mapped.base = NULL;
		munmap(map, v->map_len);
		memset(v, 0, sizeof(*v));
		goto read;
	}
	return CG_OK;
read : {
	enum cg_err result = cg_file_read(path, max, &v->heap, &v->len);

	v->p = v->heap;
	return result;
}
}

int
cg_file_view_changed(const struct cg_file_view *v)
{
	return v->map && (char *)v->map == mapped.base && mapped.changed;
}

void
cg_file_view_close(struct cg_file_view *v)
{
	if (v->map) {
		if ((char *)v->map == mapped.base) {
			sigaction(SIGBUS, &saved_bus, NULL);
			mapped.base = NULL;
			mapped.changed = 0;
		}
		munmap(v->map, v->map_len);
	}
	free(v->heap);
	memset(v, 0, sizeof(*v));
}
