/*
 * worker.h: a worker thread of `cellgate serve`: its event loop, its
 * listeners (fronts), its HTTP client for destinations and what it counts
 * of its connections. server.c makes and runs them; conn.c counts and
 * pauses; handler.c reads the loop and whether it is draining.
 */
#ifndef CG_WORKER_H
#define CG_WORKER_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

struct conn;
struct event;
struct event_base;
struct evhttp;
struct evconnlistener;
struct evhttp_bound_socket;
struct cg_dest_loop;
struct cg_outbox;

struct front { /* one listener on one worker */
	struct worker *w;
	size_t index; /* into the settings' listeners */
	struct evhttp *http;
	struct evconnlistener *lis;
	struct evhttp_bound_socket *bound;
};

struct worker {
	int id;
	pthread_t thread;
	struct event_base *base;
	struct front *fronts;
	size_t nfronts;
	struct evhttp *admin; /* the admin listener's (worker 0 only), or NULL */
	struct event *stop_ev, *drain_tick;
	struct event *reconfigure_ev; /* a reload: apply the new limits */
	struct cg_dest_loop *dests;   /* the loop's way to destinations */
	struct cg_outbox *outbox;     /* the process's, or NULL: no queue-mode destination */
	size_t conns, max_conns;      /* connections past their handshake */
	size_t handshaking, max_handshaking;
	struct conn *oldest, *newest; /* the handshaking ones, in accept order */
	size_t busy;                  /* connections reading or handling a request */
	int paused;                   /* listeners off: too many connections */
	int draining;
	struct timespec drain_deadline;
};

#endif
