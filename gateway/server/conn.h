/*
 * conn.h: a worker and its client connections, below HTTP.
 *
 * Each worker thread runs one event loop with its own listeners (fronts).
 * A connection is a TLS bufferevent that evhttp reads from; every byte the
 * client sends passes first through the guard (http_guard.h), which the
 * connection answers itself when it refuses a request, and a deadline
 * bounds how long a request may take to arrive (slowloris). The connection
 * also keeps what the client's certificate maps to, worked out once.
 *
 * What one client can make the gateway hold (docs/security.md has the
 * numbers):
 * - until its handshake completes, a connection is "handshaking": it has
 *   handshake_timeout_ms to finish, and at most max_handshakes of them are
 *   open at once (the oldest is closed for a new one), so that peers who
 *   never authenticate cannot take the max_connections slots, which count
 *   only connections past their handshake;
 * - its unread input is bounded by a read high-water mark: a client that
 *   sends requests and does not read the answers stops being read once
 *   that much waits (and its waiting request's deadline runs), instead of
 *   being buffered without end.
 * Shared by server.c (workers, listeners) and handler.c (requests); the
 * worker is worker.h's.
 */
#ifndef CG_CONN_H
#define CG_CONN_H

#include "err.h"

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http_guard.h"

struct worker;

enum conn_state { C_IDLE, C_READING, C_HANDLING };

struct conn {
	struct worker *w;
	struct bufferevent *bev;
	struct event *deadline;
	enum conn_state state;
	int authenticated;           /* past its TLS handshake */
	int evicted;                 /* closed for a newer handshake */
	struct conn *older, *newer;  /* the worker's handshaking list */
	long handshake_ms;           /* handshake_timeout_ms */
	long request_ms;             /* header + body timeout: a whole request's time */
	size_t read_high;            /* the input's usual high-water mark */
	size_t mark;                 /* the one set now */
	int was_cut;                 /* shut by the gateway: no mark any more */
	size_t listener;             /* which of the settings' listeners it came in on */
	unsigned long made_gen;      /* the configuration its handshake was checked by */
	struct cg_http_guard guard;  /* size limits, on the raw bytes */
	int refused;                 /* refused by the guard: further input is dropped */
	int refusal_due;             /* ...and answered once the requests before it are */
	int trimming;                /* drop_tail is rewriting the input: not new bytes */
	unsigned long long bytes_in; /* bytes of the connection read so far */
	/* The client names the certificate maps to, worked out once per
	 * connection and configuration (parsing the SAN costs microseconds). */
	unsigned long id_gen;    /* the runtime's gen they were worked out for */
	unsigned char *id_match; /* one flag per configured client */
};

/* Once per process, before any connection: the SSL ex_data slot that ties a
 * connection to its SSL, and the random prefix of request ids. CG_ENOMEM on
 * failure. */
enum cg_err cg_conn_setup(void);
/* evhttp's bufferevent callback (arg: the struct front): a new TLS
 * connection with its guard and deadline, or NULL. */
struct bufferevent *cg_conn_new(struct event_base *base, void *arg);
/* The connection a request arrived on, or NULL. */
struct conn *cg_conn_of(struct evhttp_request *req);
void cg_conn_set_state(struct conn *c, enum conn_state s);
/* evhttp has read a whole request and hands it to the handler: the
 * request's deadline stops; while it is handled, none runs. */
void cg_conn_dispatched(struct conn *c);
/* Its answer is handed to evhttp: the next request's deadline starts if its
 * bytes are already waiting (pipelined behind it, held until the client
 * reads the answer). */
void cg_conn_answering(struct conn *c);
/* The on-complete callback of every answer (arg: the conn): the connection
 * is idle again; a refusal waiting for the answers before it goes out. */
void cg_conn_sent(struct evhttp_request *req, void *arg);
/* A new request id: the process's random prefix and a counter. */
void cg_conn_request_id(char *out, size_t n);
/* Listeners paused for max_connections accept again once below it. */
void cg_worker_resume_accepting(struct worker *w);
/* A draining worker stops once no connection is reading or handling. */
void cg_worker_maybe_exit(struct worker *w);

#endif
