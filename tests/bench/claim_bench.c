/*
 * claim_bench.c: the claim's latency on a PostgreSQL store (issue 14), on a
 * fresh table and after a million delivered messages: a claim must not
 * grow with the table's history (dead rows, delivered rows kept, purges).
 *
 *   claim_bench WHERE MILLIONS
 *
 * Phases, each measured the same way (2,000 messages of 2,000 patients put
 * through the store, then claimed 50 at a time and each delivered, every
 * claim timed; p50, p99, max):
 *   fresh      an empty table;
 *   history    MILLIONS x 1,000,000 messages taken through the states as
 *              the forwarder does (put queued, marked in flight, delivered:
 *              three row versions each, in batches of 10,000 rows per
 *              statement so that the setup takes minutes, not hours) and
 *              kept, as keep_delivered_s keeps them;
 *   purged     those deleted by cg_store_purge_delivered (batches of 2,000,
 *              as the forwarder's prune), before vacuum has run: the dead
 *              rows are there;
 *   vacuumed   after VACUUM (what autovacuum does by itself).
 * Also printed: the table's dead and live rows (cg_store_health) and its
 * size with its indexes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "store.h"

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static PGconn *db;

static void
sql(const char *q)
{
	PGresult *r = PQexec(db, q);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "claim_bench: %s: %s", q, PQresultErrorMessage(r));
		exit(1);
	}
	PQclear(r);
}

static const char *
size_of_table(void)
{
	static char out[64];
	PGresult *r = PQexec(db, "SELECT pg_size_pretty(pg_total_relation_size('message'))");

	snprintf(out, sizeof(out), "%s",
	         PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
	PQclear(r);
	return out;
}

/* Puts 2,000 messages, claims and delivers them all; prints the claims'
 * latency. */
static void
measure(struct cg_store *s, const char *phase, int64_t *clock_ms)
{
	static double lat[1000];
	struct cg_msg_in in[200];
	struct cg_msg *out = calloc(50, sizeof(*out));
	struct cg_store_health h;
	char keys[200][16], body[] = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\"}";
	size_t n, i, k = 0, got = 0;
	int round;

	for (round = 0; round < 10; round++) {
		for (i = 0; i < 200; i++) {
			snprintf(keys[i], sizeof(keys[i]), "p%d-%zu", round, i);
			in[i] = (struct cg_msg_in){.txid = "bench",
			                           .dest = "registry",
			                           .key = keys[i],
			                           .client = "ehr",
			                           .record_id = keys[i],
			                           .type = "Bundle",
			                           .body = body,
			                           .len = sizeof(body) - 1};
		}
		if (cg_store_put(s, in, 200, (*clock_ms)++, NULL)) {
			fprintf(stderr, "claim_bench: put failed\n");
			exit(1);
		}
	}
	while (got < 2000 && k < 1000) {
		double t0 = now_s();

		if (cg_store_claim(s, "registry", *clock_ms, 50, 1 << 22, out, &n, NULL)) {
			fprintf(stderr, "claim_bench: claim failed\n");
			exit(1);
		}
		lat[k++] = now_s() - t0;
		if (!n)
			break;
		for (i = 0; i < n; i++)
			if (cg_store_delivered(s, out[i].id, 201, (*clock_ms)++)) {
				fprintf(stderr, "claim_bench: delivered failed\n");
				exit(1);
			}
		got += n;
	}
	qsort(lat, k, sizeof(lat[0]), cmp);
	if (cg_store_health(s, &h))
		h.known = false;
	printf("%-9s claims %zu (%zu messages): p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
	       "table %s, rows live %lld, dead %lld\n",
	       phase, k, got, lat[k / 2] * 1e3, lat[k * 99 / 100] * 1e3, lat[k - 1] * 1e3,
	       size_of_table(), (long long)h.live_tuples, (long long)h.dead_tuples);
	fflush(stdout);
	free(out);
}

int
main(int argc, char **argv)
{
	struct cg_store *s;
	char why[512], q[1024];
	int64_t clock_ms = 1000, purged = 0;
	long millions, batch;
	double t0;

	if (argc != 3) {
		fprintf(stderr, "usage: claim_bench WHERE MILLIONS\n");
		return 2;
	}
	millions = atol(argv[2]);
	if (cg_store_open(argv[1], &s, why, sizeof(why))) {
		fprintf(stderr, "claim_bench: %s\n", why);
		return 1;
	}
	/* as the forwarder's connection: commits not waited for (store.h) */
	if (cg_store_relax(s)) {
		fprintf(stderr, "claim_bench: relax failed\n");
		return 1;
	}
	db = PQconnectdb(strncmp(argv[1], "postgres:", 9) == 0 && argv[1][9] != '/' ? argv[1] + 9
	                                                                            : argv[1]);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "claim_bench: %s", PQerrorMessage(db));
		return 1;
	}
	sql("VACUUM ANALYZE message");
	measure(s, "fresh", &clock_ms);

	/* A million messages through the states, as rows: put (queued, a
	 * head), claimed (in flight under a lease), delivered (its head handed
	 * on, done). Timestamps older than the measured ones. */
	t0 = now_s();
	for (batch = 0; batch < millions * 100; batch++) {
		snprintf(q, sizeof(q),
		         "WITH m AS (INSERT INTO message (txid, dest, okey, client, record_id, "
		         "type, "
		         "accepted_ms, next_ms, head) SELECT 'hist', 'registry', 'h' || g, 'ehr', "
		         "'h' || g, 'Bundle', 500, 500, true FROM generate_series(%ld, %ld) g "
		         "RETURNING "
		         "id) INSERT INTO message_body (id, body) SELECT id, '\\x7b7d' FROM m",
		         batch * 10000, batch * 10000 + 9999);
		sql(q);
		sql("UPDATE message SET state = 1, attempts = 1, owner = 'bench', lease = "
		    "nextval('message_lease'), lease_until = 999 WHERE txid = 'hist' AND state = "
		    "0");
		sql("UPDATE message SET state = 2, status = 201, done_ms = 600, head = false, "
		    "lease_until = NULL WHERE txid = 'hist' AND state = 1");
	}
	fprintf(stderr, "claim_bench: %ld,000,000 messages through the states in %.0f s\n",
	        millions, now_s() - t0);
	measure(s, "history", &clock_ms);
	t0 = now_s();
	if (cg_store_purge_delivered(s, 700, 2000, &purged)) {
		fprintf(stderr, "claim_bench: purge failed\n");
		return 1;
	}
	fprintf(stderr, "claim_bench: %lld delivered messages purged in %.0f s\n",
	        (long long)purged, now_s() - t0);
	measure(s, "purged", &clock_ms);
	sql("VACUUM message");
	sql("VACUUM message_body");
	measure(s, "vacuumed", &clock_ms);
	PQfinish(db);
	cg_store_close(s);
	return 0;
}
