/* test_arena.c: arenas, and cJSON trees built in them. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "arena.h"

/* A tree built in the active arena and deleted in it: nothing goes to
 * free(), the arena takes it back at reset. */
static void
tree_in_its_arena(void **state)
{
	struct cg_arena *a = cg_arena_new(4096);
	cJSON *o;

	(void)state;
	cg_arena_cjson_hooks();
	cg_arena_activate(a);
	o = cJSON_CreateObject();
	assert_non_null(cJSON_AddStringToObject(o, "resourceType", "Procedure"));
	cJSON_Delete(o);
	assert_true(cg_arena_used(a) > 0);
	cg_arena_activate(NULL);
	cg_arena_free(a);
	/* With no arena active, cJSON uses malloc again. */
	o = cJSON_CreateArray();
	cJSON_Delete(o);
}

/* The mistake the debug build stops: a tree from arena a deleted while b is
 * active would be handed to free(). Run in a child, which must abort saying
 * so (under AddressSanitizer, free() of arena memory would abort too, with
 * ASan's report: the message tells the two apart). */
static void
tree_freed_under_another_arena_aborts(void **state)
{
	char said[4096] = "";
	size_t got = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	(void)state;
#ifdef NDEBUG
	skip();
#endif
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		struct cg_arena *a = cg_arena_new(4096), *b = cg_arena_new(4096);
		cJSON *o;

		cg_arena_cjson_hooks();
		cg_arena_activate(a);
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "n", 1);
		cg_arena_activate(b);
		cJSON_Delete(o); /* must abort here */
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(said) - 1 && (n = read(fds[0], said + got, sizeof(said) - 1 - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_non_null(strstr(said, "a cJSON tree from one arena freed while another"));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(tree_in_its_arena),
	        cmocka_unit_test(tree_freed_under_another_arena_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
