/*
 * store_fill.c: a test tool, not part of cellgate: makes the outbox store
 * that tests/integration/queue_cli.sh reads, as a gateway would have left it
 * (no gateway writes one yet), or holds a store's write lock for a while, as
 * the gateway's writer does, to show that `cellgate queue` waits it out.
 *
 *   store_fill PATH              a new store at PATH with the six messages below
 *   store_fill --hold PATH MS    takes the write lock, creates PATH.held,
 *                                keeps the lock MS milliseconds, commits, then
 *                                creates PATH.released
 *
 * The six messages, their times relative to now (ids in this order):
 *   1 registry p1 ehr tx-1 rec-1  accepted 10 days ago, delivered 9 days ago
 *   2 registry p2 ehr tx-1 rec-2  accepted 10 days ago, dead (422, with an
 *                                 OperationOutcome as the upstream's answer)
 *   3 registry p3 lab tx-2 rec-3  accepted 2 hours ago, queued (503 once)
 *   4 registry p4 ehr tx-2 rec-1  accepted 2 hours ago, delivered 1 hour ago
 *   5 archive  p1 ehr tx-1 rec-1  accepted 10 days ago, in flight
 *   6 archive  p5 lab tx-3 rec-5  accepted 2 hours ago, dead (502, with a
 *                                 proxy's page that is not UTF-8 and holds a
 *                                 NUL and a terminal escape)
 * Each body holds BODY-SECRET-<id>: the test checks it is never shown
 * unless asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define HOUR (3600 * (int64_t)1000)
#define DAY  (24 * HOUR)

static const char outcome[] = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":"
                              "\"error\",\"code\":\"code-invalid\",\"diagnostics\":\"unknown "
                              "code\"}]}";

static const char proxy_page[] = "<h1>Bad \xff gateway</h1>\0\x1b[31m";

static int
check(enum cg_err err, const char *what)
{
	if (err)
		fprintf(stderr, "store_fill: %s: %s\n", what, cg_strerror(err));
	return err != CG_OK;
}

static struct cg_msg_in
msg(const char *dest, const char *key, const char *client, const char *tx, const char *rec,
    const char *body)
{
	struct cg_msg_in m = {.txid = tx,
	                      .dest = dest,
	                      .key = key,
	                      .client = client,
	                      .record_id = rec,
	                      .type = "record",
	                      .body = body,
	                      .len = strlen(body)};

	return m;
}

static int
fill(const char *path, int64_t now)
{
	struct cg_msg_in a[2] = {
	        msg("registry", "p1", "ehr", "tx-1", "rec-1", "{\"name\":\"BODY-SECRET-1\"}"),
	        msg("registry", "p2", "ehr", "tx-1", "rec-2", "{\"name\":\"BODY-SECRET-2\"}")};
	struct cg_msg_in b[2] = {
	        msg("registry", "p3", "lab", "tx-2", "rec-3", "{\"name\":\"BODY-SECRET-3\"}"),
	        msg("registry", "p4", "ehr", "tx-2", "rec-1", "{\"name\":\"BODY-SECRET-4\"}")};
	struct cg_msg_in c =
	        msg("archive", "p1", "ehr", "tx-1", "rec-1", "{\"name\":\"BODY-SECRET-5\"}");
	struct cg_msg_in d =
	        msg("archive", "p5", "lab", "tx-3", "rec-5", "{\"name\":\"BODY-SECRET-6\"}");
	struct cg_store *s;
	struct cg_msg out[4];
	char why[256];
	size_t n;
	int bad;

	if (cg_store_open(path, &s, why, sizeof(why))) {
		fprintf(stderr, "store_fill: %s\n", why);
		return 1;
	}
	bad = check(cg_store_put(s, a, 2, now - 10 * DAY, NULL), "put") ||
	      check(cg_store_put(s, b, 2, now - 2 * HOUR, NULL), "put") ||
	      check(cg_store_put(s, &c, 1, now - 10 * DAY, NULL), "put") ||
	      check(cg_store_put(s, &d, 1, now - 2 * HOUR, NULL), "put") ||
	      check(cg_store_claim(s, "registry", now, 4, SIZE_MAX, out, &n, NULL), "claim") ||
	      check(n == 4 ? CG_OK : CG_EINVAL, "claim registry") ||
	      check(cg_store_delivered(s, 1, 201, now - 9 * DAY), "delivered") ||
	      check(cg_store_dead(s, 2, 422, "refused: unknown code", outcome, strlen(outcome),
	                          "application/fhir+json", now - 9 * DAY),
	            "dead") ||
	      check(cg_store_retry_at(s, 3, 503, "upstream busy", now + HOUR), "retry at") ||
	      check(cg_store_delivered(s, 4, 201, now - HOUR), "delivered") ||
	      check(cg_store_claim(s, "archive", now, 4, SIZE_MAX, out, &n, NULL), "claim") ||
	      check(n == 2 ? CG_OK : CG_EINVAL, "claim archive") ||
	      check(cg_store_dead(s, 6, 502, "bad gateway", proxy_page, sizeof(proxy_page) - 1,
	                          "text/html", now - HOUR),
	            "dead");
	cg_store_close(s);
	return bad;
}

/* Creates PATH.suffix, a sign for the test; 0 when it could. */
static int
sign(const char *path, const char *suffix)
{
	char name[512];
	FILE *f;

	snprintf(name, sizeof(name), "%s.%s", path, suffix);
	f = fopen(name, "w");
	if (!f || fclose(f) != 0) {
		fprintf(stderr, "store_fill: cannot create %s\n", name);
		return 1;
	}
	return 0;
}

static int
hold(const char *path, long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	struct cg_store *s;
	char why[256];
	int bad;

	if (cg_store_open_existing(path, &s, why, sizeof(why))) {
		fprintf(stderr, "store_fill: %s\n", why);
		return 1;
	}
	if (check(cg_store_begin(s), "begin")) {
		cg_store_close(s);
		return 1;
	}
	bad = sign(path, "held");
	nanosleep(&ts, NULL);
	bad |= check(cg_store_commit(s), "commit");
	bad = bad || sign(path, "released");
	cg_store_close(s);
	return bad;
}

int
main(int argc, char **argv)
{
	struct timespec now;

	if (argc == 2 && argv[1][0] != '-') {
		clock_gettime(CLOCK_REALTIME, &now);
		return fill(argv[1], (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	}
	if (argc == 4 && strcmp(argv[1], "--hold") == 0)
		return hold(argv[2], strtol(argv[3], NULL, 10));
	fprintf(stderr, "usage: store_fill PATH | store_fill --hold PATH MS\n");
	return 2;
}
