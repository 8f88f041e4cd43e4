/* metrics.c: counters and their Prometheus text; see metrics.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

static const char *const endpoints[] = {"ingest",  "validate", "metadata", "structure_definition",
                                        "healthz", "readyz",   "metrics",  "other"};
static const int statuses[] = {200, 201, 202, 400, 401, 403, 404, 405, 406, 411,
                               413, 415, 422, 431, 500, 502, 503, 504, 0};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1,    2.5,   5};
#define NBUCKET (sizeof(buckets) / sizeof(buckets[0]))
static const char *const dest_types[] = {"fhir", "records", "ndjson"};
static const char *const results[] = {"ok", "rejected", "failed", "unreachable", "timeout"};

/* Route labels: index 0 is "none", the last "other"; paths are interned
 * once (under a lock) and read without one (the count is published after
 * the path is written). */
#define NROUTE 66
static char route_path[NROUTE][128];
static atomic_int nroutes = 1;
static pthread_mutex_t route_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong requests[CG_EP__COUNT][NROUTE][NSTATUS];
static atomic_ulong latency[NBUCKET + 1];
static atomic_ulong latency_us_sum;
static atomic_ulong issues[CG_C__COUNT];
static atomic_ulong upstream[3][CG_UP__COUNT];
static atomic_long connections;
static atomic_ulong handshake_failures;
static atomic_long handshaking;
static atomic_ulong closed[CG_CLOSE__COUNT];
static const char *const close_reasons[] = {"handshake_timeout", "handshake_evicted",
                                            "request_timeout"};
static atomic_ulong upstream_truncated;
static atomic_ulong tokens[CG_TOKEN__COUNT]; /* token requests by outcome */

static int
route_index(const char *route)
{
	int n = atomic_load_explicit(&nroutes, memory_order_acquire), i;

	if (!route)
		return 0;
	for (i = 1; i < n; i++)
		if (strcmp(route_path[i], route) == 0)
			return i;
	pthread_mutex_lock(&route_lock);
	n = atomic_load_explicit(&nroutes, memory_order_relaxed);
	for (i = 1; i < n && strcmp(route_path[i], route) != 0; i++)
		;
	if (i == n && n < NROUTE - 1 && strlen(route) < sizeof(route_path[0])) {
		memcpy(route_path[n], route, strlen(route) + 1);
		atomic_store_explicit(&nroutes, n + 1, memory_order_release);
	} else if (i == n) {
		i = NROUTE - 1; /* other */
	}
	pthread_mutex_unlock(&route_lock);
	return i;
}

void
cg_metrics_request(enum cg_endpoint ep, const char *route, int status, double seconds)
{
	size_t i;

	for (i = 0; i < NSTATUS - 1 && statuses[i] != status; i++)
		;
	atomic_fetch_add(&requests[ep][route_index(route)][i], 1);
	for (i = 0; i < NBUCKET && seconds > buckets[i]; i++)
		;
	atomic_fetch_add(&latency[i], 1);
	atomic_fetch_add(&latency_us_sum, (unsigned long)(seconds * 1e6));
}

void
cg_metrics_issue(enum cg_code code)
{
	if ((int)code >= 0 && code < CG_C__COUNT)
		atomic_fetch_add(&issues[code], 1);
}

void
cg_metrics_upstream(int dest_type, enum cg_upstream_result r)
{
	if (dest_type >= 0 && dest_type < 3)
		atomic_fetch_add(&upstream[dest_type][r], 1);
}

void
cg_metrics_token(enum cg_token_outcome o)
{
	if ((unsigned)o < CG_TOKEN__COUNT)
		atomic_fetch_add(&tokens[o], 1);
}

void
cg_metrics_upstream_truncated(void)
{
	atomic_fetch_add(&upstream_truncated, 1);
}

void
cg_metrics_connections(int delta)
{
	atomic_fetch_add(&connections, delta);
}

void
cg_metrics_tls_handshake_failed(void)
{
	atomic_fetch_add(&handshake_failures, 1);
}

void
cg_metrics_handshaking(int delta)
{
	atomic_fetch_add(&handshaking, delta);
}

void
cg_metrics_conn_closed(enum cg_conn_close why)
{
	if ((unsigned)why < CG_CLOSE__COUNT)
		atomic_fetch_add(&closed[why], 1);
}

/* Appends like cg_buf_printf unless an earlier append failed: err keeps the
 * first error (a failed append frees b, and what came after would start it
 * over), so that a run of appends is checked once, at its end. */
static void put(enum cg_err *err, struct cg_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void
put(enum cg_err *err, struct cg_buf *b, const char *fmt, ...)
{
	va_list ap;

	if (*err)
		return;
	va_start(ap, fmt);
	*err = cg_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

enum cg_err
cg_metrics_render(struct cg_buf *b)
{
	unsigned long cum = 0, n;
	size_t i, j, r;
	enum cg_err err = CG_OK;

	put(&err, b,
	    "# HELP cellgate_requests_total Requests answered, by endpoint, route and "
	    "status.\n"
	    "# TYPE cellgate_requests_total counter\n");
	for (i = 0; i < CG_EP__COUNT; i++)
		for (r = 0; r < NROUTE; r++)
			for (j = 0; j < NSTATUS; j++) {
				char st[16];

				if ((n = atomic_load(&requests[i][r][j])) == 0)
					continue;
				snprintf(st, sizeof(st), "%d", statuses[j]);
				put(&err, b, "cellgate_requests_total{endpoint=\"%s\",route=\"",
				    endpoints[i]);
				/* a path from the configuration, escaped as a label value */
				if (!err)
					err = cg_buf_add_json_string(b, r == 0 ? "none"
					                                : r == NROUTE - 1
					                                        ? "other"
					                                        : route_path[r]);
				put(&err, b, "\",status=\"%s\"} %lu\n", statuses[j] ? st : "other",
				    n);
			}
	put(&err, b,
	    "# HELP cellgate_request_duration_seconds Time from the whole request "
	    "read to the answer.\n"
	    "# TYPE cellgate_request_duration_seconds histogram\n");
	for (i = 0; i <= NBUCKET; i++) {
		cum += atomic_load(&latency[i]);
		if (i < NBUCKET)
			put(&err, b, "cellgate_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
			    buckets[i], cum);
		else
			put(&err, b, "cellgate_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n",
			    cum);
	}
	put(&err, b, "cellgate_request_duration_seconds_sum %.6f\n",
	    (double)atomic_load(&latency_us_sum) / 1e6);
	put(&err, b, "cellgate_request_duration_seconds_count %lu\n", cum);
	put(&err, b,
	    "# HELP cellgate_validation_issues_total Issues found in request bodies, "
	    "by code.\n"
	    "# TYPE cellgate_validation_issues_total counter\n");
	for (i = 0; i < CG_C__COUNT; i++)
		if ((n = atomic_load(&issues[i])) != 0)
			put(&err, b, "cellgate_validation_issues_total{code=\"%s\"} %lu\n",
			    cg_code_name((enum cg_code)i), n);
	put(&err, b,
	    "# HELP cellgate_upstream_total Deliveries to destinations, by type and "
	    "result.\n"
	    "# TYPE cellgate_upstream_total counter\n");
	for (i = 0; i < 3; i++)
		for (j = 0; j < CG_UP__COUNT; j++)
			if ((n = atomic_load(&upstream[i][j])) != 0)
				put(&err, b,
				    "cellgate_upstream_total{type=\"%s\",result=\"%s\"} %lu\n",
				    dest_types[i], results[j], n);
	put(&err, b,
	    "# HELP cellgate_upstream_answer_truncated_total Upstream answers over "
	    "the 1 MB cap, not passed on.\n"
	    "# TYPE cellgate_upstream_answer_truncated_total counter\n"
	    "cellgate_upstream_answer_truncated_total %lu\n",
	    atomic_load(&upstream_truncated));
	put(&err, b,
	    "# HELP cellgate_auth_token_requests_total OAuth2 token requests of destinations, "
	    "by outcome (refused: the credentials).\n"
	    "# TYPE cellgate_auth_token_requests_total counter\n"
	    "cellgate_auth_token_requests_total{outcome=\"issued\"} %lu\n"
	    "cellgate_auth_token_requests_total{outcome=\"refused\"} %lu\n"
	    "cellgate_auth_token_requests_total{outcome=\"failed\"} %lu\n",
	    atomic_load(&tokens[CG_TOKEN_ISSUED]), atomic_load(&tokens[CG_TOKEN_REFUSED]),
	    atomic_load(&tokens[CG_TOKEN_FAILED]));
	put(&err, b,
	    "# HELP cellgate_tls_handshake_failures_total Handshakes that failed.\n"
	    "# TYPE cellgate_tls_handshake_failures_total counter\n"
	    "cellgate_tls_handshake_failures_total %lu\n"
	    "# HELP cellgate_open_connections Client connections open now.\n"
	    "# TYPE cellgate_open_connections gauge\n"
	    "cellgate_open_connections %ld\n",
	    atomic_load(&handshake_failures), atomic_load(&connections));
	put(&err, b,
	    "# HELP cellgate_tls_handshakes_in_progress Connections still in their TLS "
	    "handshake.\n"
	    "# TYPE cellgate_tls_handshakes_in_progress gauge\n"
	    "cellgate_tls_handshakes_in_progress %ld\n"
	    "# HELP cellgate_connections_closed_total Client connections the gateway "
	    "closed itself, by reason.\n"
	    "# TYPE cellgate_connections_closed_total counter\n",
	    atomic_load(&handshaking));
	for (i = 0; i < CG_CLOSE__COUNT; i++)
		put(&err, b, "cellgate_connections_closed_total{reason=\"%s\"} %lu\n",
		    close_reasons[i], atomic_load(&closed[i]));
	return err;
}
