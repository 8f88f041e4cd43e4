/*
 * handler.h: one HTTP request, from routing to the answer.
 *
 * The route and method, the client's identity from its certificate, the
 * body through ingest (ingest.h, no sockets), the destination (the ndjson
 * writer thread, or an upstream over libcurl on the worker's loop), and the
 * answer: an OperationOutcome whenever it is not a success, X-Request-Id
 * always, one audit line for what came in. Also the operations endpoints
 * (/healthz, /readyz, /metrics) and our FHIR conformance resources.
 */
#ifndef CG_HANDLER_H
#define CG_HANDLER_H

#include <event2/http.h>

/* evhttp's general callback (arg: the struct front the request came in on). */
void cg_handle_request(struct evhttp_request *req, void *arg);
/* The admin listener's (arg: the struct worker): the operations endpoints
 * only, over plain HTTP, no client identity. */
void cg_handle_admin_request(struct evhttp_request *req, void *arg);

#endif
