/*
 * metrics.h: the gateway's counters, shown on /metrics (Prometheus text).
 *
 * Plain atomic counters with fixed labels (endpoints, statuses, issue codes,
 * destination types), so that counting costs a few nanoseconds on any thread
 * and a hostile client cannot grow the label sets.
 */
#ifndef CG_METRICS_H
#define CG_METRICS_H

#include "buf.h"
#include "diag.h"

enum cg_endpoint {
	CG_EP_INGEST,
	CG_EP_VALIDATE,
	CG_EP_METADATA,
	CG_EP_STRUCTURE,
	CG_EP_HEALTH,
	CG_EP_READY,
	CG_EP_METRICS,
	CG_EP_OTHER,
	CG_EP__COUNT
};

enum cg_upstream_result {
	CG_UP_OK,          /* 2xx, or written and fsynced */
	CG_UP_REJECTED,    /* 4xx */
	CG_UP_FAILED,      /* 5xx or a write error */
	CG_UP_UNREACHABLE, /* no connection */
	CG_UP_TIMEOUT,
	CG_UP__COUNT
};

/* route is the configured route's path, or NULL for none (ops endpoints,
 * unknown paths). Routes come from the configuration, so the label set is
 * bounded; past 64 distinct paths over reloads they count as "other". */
void cg_metrics_request(enum cg_endpoint ep, const char *route, int status, double seconds);
void cg_metrics_issue(enum cg_code code);
void cg_metrics_upstream(int dest_type, enum cg_upstream_result r);
void cg_metrics_connections(int delta);
/* A connection's first TLS handshake failed (tls.c says why in the log). */
void cg_metrics_tls_handshake_failed(void);

/* Why the gateway closed a client connection itself. */
enum cg_conn_close {
	CG_CLOSE_HANDSHAKE_TIMEOUT, /* no TLS handshake within handshake_timeout_ms */
	CG_CLOSE_HANDSHAKE_EVICTED, /* the oldest handshake, past max_handshakes */
	CG_CLOSE_REQUEST_TIMEOUT,   /* a request not whole within its time */
	CG_CLOSE__COUNT
};
void cg_metrics_conn_closed(enum cg_conn_close why);
/* Connections still in their TLS handshake (not yet authenticated). */
void cg_metrics_handshaking(int delta);
/* An upstream answer over the cap, not passed on (dest_http.c). */
void cg_metrics_upstream_truncated(void);
/* A destination's OAuth2 token request (dest/auth.c): a token, the
 * credentials refused, or the endpoint down or answering nonsense. */
enum cg_token_outcome { CG_TOKEN_ISSUED, CG_TOKEN_REFUSED, CG_TOKEN_FAILED, CG_TOKEN__COUNT };
void cg_metrics_token(enum cg_token_outcome o);
/* Appends the Prometheus text exposition. */
enum cg_err cg_metrics_render(struct cg_buf *b);

#endif
