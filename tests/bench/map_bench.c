/*
 * map_bench.c: mapping throughput alone, in process, for tests/bench/fhir.sh:
 * records already parsed and validated, Bundles already parsed; only
 * cg_map_record_to_fhir (writing the text) and cg_map_fhir_to_record
 * (building the record tree and validating it) are timed.
 *   map_bench MAPPINGS_DIR RECORDS.ndjson
 * Prints {"records": N, "to_fhir_per_second": A, "to_record_per_second": B},
 * each the best of three passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "fileio.h"
#include "map.h"
#include "mappings.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct cg_mappings *m;
	struct cg_arena *arena;
	char *why = NULL, *text, *line, *save = NULL;
	size_t len, n = 0, cap = 1024, i;
	cJSON **recs, **bundles;
	struct cg_buf out;
	double t0, t1, t2, fwd = 1e9, back = 1e9;
	int pass;

	if (argc != 3 || cg_mappings_load(argv[1], &m, &why) ||
	    cg_file_read(argv[2], (size_t)1 << 31, &text, &len)) {
		fprintf(stderr, "usage: map_bench MAPPINGS_DIR RECORDS.ndjson (%s)\n",
		        why ? why : "");
		return 2;
	}
	recs = malloc(cap * sizeof(*recs));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (n == cap)
			recs = realloc(recs, (cap *= 2) * sizeof(*recs));
		recs[n++] = cJSON_Parse(line);
	}
	bundles = calloc(n, sizeof(*bundles));
	cg_buf_init(&out, CG_BUF_MAX_ITEMS);
	/* Forward: the text of each Bundle, kept to time the way back. Best of
	 * three passes: this machine is shared, and a pass is short. */
	for (pass = 0; pass < 3; pass++) {
		t0 = now();
		for (i = 0; i < n; i++) {
			cg_buf_reset(&out);
			if (cg_map_record_to_fhir(recs[i], m, NULL, &out))
				return 1;
			if (pass == 0)
				bundles[i] = (cJSON *)(void *)strdup(out.p);
		}
		t1 = now();
		if (t1 - t0 < fwd)
			fwd = t1 - t0;
	}
	for (i = 0; i < n; i++) {
		char *b = (char *)(void *)bundles[i];

		bundles[i] = cJSON_Parse(b);
		free(b);
	}
	/* Back, with the record trees in an arena as cellgate map does. */
	cg_arena_cjson_hooks();
	arena = cg_arena_new(1 << 20);
	for (pass = 0; pass < 3; pass++) {
		t2 = now();
		for (i = 0; i < n; i++) {
			struct cg_diag d;
			cJSON *rec = NULL;

			cg_diag_init(&d, 100);
			cg_arena_activate(arena);
			if (cg_map_fhir_to_record(bundles[i], m, NULL, &rec, &d) || !rec)
				return 1;
			cg_arena_activate(NULL);
			cg_arena_reset(arena);
			cg_diag_free(&d);
		}
		if (now() - t2 < back)
			back = now() - t2;
	}
	printf("{\"records\": %zu, \"to_fhir_per_second\": %.0f, \"to_record_per_second\": %.0f}\n",
	       n, (double)n / fwd, (double)n / back);
	return 0;
}
