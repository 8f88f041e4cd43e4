/*
 * parse_baseline.c: the peer that `cellgate validate` is measured against in
 * tests/bench/validate.sh: plain cJSON_ParseWithLength + cJSON_Delete of
 * every line of an NDJSON file, with glibc malloc, nothing else. It reads the
 * whole file first, like cellgate, and reports records per second of the
 * parsing loop alone.
 *   parse_baseline FILE.ndjson
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

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
	FILE *f;
	char *buf;
	long size;
	size_t n = 0, bad = 0;
	double t0, t1;
	char *p, *end;

	if (argc != 2) {
		fprintf(stderr, "usage: parse_baseline FILE.ndjson\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		perror(argv[1]);
		return 2;
	}
	buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		perror(argv[1]);
		return 2;
	}
	fclose(f);
	buf[size] = '\0';
	t0 = now();
	for (p = buf, end = buf + size; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		cJSON *j;

		if (len) {
			j = cJSON_ParseWithLength(p, len);
			if (!j)
				bad++;
			cJSON_Delete(j);
			n++;
		}
		p += len + 1;
	}
	t1 = now();
	printf("{\"records\": %zu, \"failed\": %zu, \"seconds\": %.4f, \"records_per_second\": "
	       "%.0f}\n",
	       n, bad, t1 - t0, (double)n / (t1 - t0));
	free(buf);
	return bad ? 1 : 0;
}
