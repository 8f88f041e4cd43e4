/*
 * test_fileview.c: a large file is mapped, a small one read; a mapped file
 * truncated while it is read gives zeros and says it changed instead of
 * killing the process with SIGBUS; a SIGBUS outside the view still kills.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileview.h"

/* A temporary file of n bytes of c; its name in path. */
static void
make_file(char *path, size_t cap, size_t n, char c)
{
	char *buf = malloc(n ? n : 1);
	FILE *f;
	int fd;

	snprintf(path, cap, "/tmp/cg-fileview-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_non_null(buf);
	memset(buf, c, n);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(buf);
}

static void
small_files_are_read(void **state)
{
	char path[64];
	struct cg_file_view v;

	(void)state;
	make_file(path, sizeof(path), 1000, 'x');
	assert_int_equal(cg_file_view_open(path, 1u << 20, &v), CG_OK);
	assert_null(v.map);
	assert_int_equal(v.len, 1000);
	assert_int_equal(v.p[999], 'x');
	assert_false(cg_file_view_changed(&v));
	cg_file_view_close(&v);
	unlink(path);
	assert_int_equal(cg_file_view_open("/nonexistent/cg-view", 1u << 20, &v), CG_ENOENT);
}

static void
large_files_are_mapped_within_the_cap(void **state)
{
	const size_t n = 3 * CG_FILE_VIEW_MAP_MIN;
	char path[64];
	struct cg_file_view v, w;

	(void)state;
	make_file(path, sizeof(path), n, 'y');
	assert_int_equal(cg_file_view_open(path, n - 1, &v), CG_ELIMIT);
	assert_int_equal(cg_file_view_open(path, n, &v), CG_OK);
	assert_non_null(v.map);
	assert_int_equal(v.len, n);
	assert_int_equal(v.p[0], 'y');
	assert_int_equal(v.p[n - 1], 'y');
	/* one at a time */
	assert_int_equal(cg_file_view_open(path, n, &w), CG_EINVAL);
	cg_file_view_close(&v);
	unlink(path);
}

static void
a_truncated_file_reads_as_zeros(void **state)
{
	const size_t n = 3 * CG_FILE_VIEW_MAP_MIN;
	char path[64];
	struct cg_file_view v;
	size_t i, sum = 0;

	(void)state;
	make_file(path, sizeof(path), n, 'z');
	assert_int_equal(cg_file_view_open(path, n, &v), CG_OK);
	assert_non_null(v.map);
	assert_int_equal(v.p[10], 'z');
	/* another program cuts the file to a third while it is read */
	assert_int_equal(truncate(path, (off_t)CG_FILE_VIEW_MAP_MIN), 0);
	for (i = 0; i < n; i += 4096)
		sum += (unsigned char)v.p[i];
	assert_int_equal(v.p[CG_FILE_VIEW_MAP_MIN - 1], 'z');
	assert_int_equal(v.p[2 * CG_FILE_VIEW_MAP_MIN], 0);
	assert_int_equal(v.p[n - 1], 0);
	assert_true(sum > 0);
	assert_true(cg_file_view_changed(&v));
	cg_file_view_close(&v);
	unlink(path);
}

static void
other_sigbus_still_kills(void **state)
{
	const size_t n = 3 * CG_FILE_VIEW_MAP_MIN;
	char path[64], other[64];
	struct cg_file_view v;
	pid_t pid;
	int status;

	(void)state;
	make_file(path, sizeof(path), n, 'a');
	make_file(other, sizeof(other), 2 * 4096, 'b');
	assert_int_equal(cg_file_view_open(path, n, &v), CG_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a mapping of the child's own, truncated under it: not the
		 * view's, so the handler must not swallow the fault */
		FILE *f = fopen(other, "rb");
		const volatile char *m;

		if (!f)
			_exit(3);
		m = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE, fileno(f), 0);
		if (m == MAP_FAILED || truncate(other, 0) != 0)
			_exit(4);
		(void)m[4096 + 1];
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
	assert_false(cg_file_view_changed(&v));
	cg_file_view_close(&v);
	unlink(path);
	unlink(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(small_files_are_read),
	        cmocka_unit_test(large_files_are_mapped_within_the_cap),
	        cmocka_unit_test(a_truncated_file_reads_as_zeros),
	        cmocka_unit_test(other_sigbus_still_kills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
