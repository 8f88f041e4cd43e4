/*
 * ingest_bench.c: the gateway's own work on one request body, in process,
 * for tests/bench/proxy.sh: cg_ingest (the function the server calls: split,
 * parse, validate, and map or copy out) run COUNT times on one body, one
 * thread, no sockets, no TLS, no HTTP. Three ways, as the benchmark's routes:
 * validate only, validate and copy the record out (the `records`
 * destination), validate and map it to a FHIR transaction Bundle (the `fhir`
 * destination). Prints the CPU time of each, in microseconds per request, the
 * best of three passes:
 *   {"validate_us": A, "validate_copy_us": B, "validate_map_us": C}
 *   ingest_bench MAPPINGS_DIR BODY.json COUNT
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "arena.h"
#include "fileio.h"
#include "ingest.h"
#include "mappings.h"

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The best of three passes of COUNT requests, in microseconds per request. */
static double
per_request(struct cg_ingest_in *in, const char *body, size_t len, long count)
{
	double best = 1e9;
	int pass;

	for (pass = 0; pass < 3; pass++) {
		double t0 = cpu_now(), t;
		long i;

		for (i = 0; i < count; i++) {
			struct cg_ingest_out out;

			cg_ingest_out_init(&out);
			if (cg_ingest(in, body, len, &out) || out.status != 200) {
				fprintf(stderr, "ingest_bench: the body is not accepted (%d)\n",
				        out.status);
				exit(1);
			}
			cg_ingest_out_free(&out);
		}
		t = (cpu_now() - t0) * 1e6 / (double)count;
		if (t < best)
			best = t;
	}
	return best;
}

int
main(int argc, char **argv)
{
	struct cg_mappings *m;
	struct cg_ingest_in in = {0};
	char *why = NULL, *body;
	size_t len;
	long count;
	double v, c, f;

	if (argc != 4 || cg_mappings_load(argv[1], &m, &why) ||
	    cg_file_read(argv[2], (size_t)1 << 26, &body, &len) || (count = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: ingest_bench MAPPINGS_DIR BODY.json COUNT (%s)\n",
		        why ? why : "");
		return 2;
	}
	cg_arena_cjson_hooks(); /* as the server does */
	in.m = m;
	in.canonical_base = "https://cellgate.example/fhir";
	in.accept = CG_PAYLOAD_RECORD;
	in.format = CG_FORMAT_JSON;
	in.max_items = 10000;
	in.validate_only = 1;
	v = per_request(&in, body, len, count);
	in.validate_only = 0;
	in.want = CG_PAYLOAD_RECORD;
	c = per_request(&in, body, len, count);
	in.want = CG_PAYLOAD_FHIR;
	f = per_request(&in, body, len, count);
	printf("{\"validate_us\": %.1f, \"validate_copy_us\": %.1f, \"validate_map_us\": %.1f}\n",
	       v, c, f);
	cg_arena_thread_release();
	free(body);
	cg_mappings_free(m);
	return 0;
}
