/*
 * fuzz_http_differential.c: libFuzzer target that gives the same bytes to
 * the guard (http_guard.h) and to the real evhttp over a socket
 * (http_differential.h) and aborts where they frame the requests otherwise:
 * a request evhttp serves that the guard read as body bytes, a body of
 * another length, or an answer evhttp gives itself (an HTML page) to bytes
 * the guard let through. Slower than the other fuzzers: a connection per
 * input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "http_differential.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diff_result res;
	int r = diff_run(data, size, &res);

	if (r < 0) {
		fprintf(stderr, "fuzz_http_differential: evhttp could not be run\n");
		abort();
	}
	if (r > 0) {
		fprintf(stderr, "guard and evhttp disagree: %s\n", res.why);
		abort();
	}
	return 0;
}
