/* server.c: the workers, their loops and listeners, signals; see server.h. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "fileio.h"
#include "arena.h"
#include "conn.h"
#include "worker.h"
#include "dest.h"
#include "dest_ndjson.h"
#include "handler.h"
#include "log.h"
#include "outbox.h"
#include "runtime.h"
#include "trail.h"
#include "server.h"
#include "settings.h"

static struct worker *workers;
static int nworkers;
static struct cg_outbox *outbox; /* or NULL: no queue-mode destination */
static atomic_int draining;

/* ---- the loops ------------------------------------------------------------ */

/* The drain: no new connections, Connection: close on every answer, and the
 * loop ends once nothing is being read or handled (or the grace time ran
 * out). Idle keep-alive connections are closed with the loop. */
static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timespec now;

	(void)fd;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (w->busy == 0 || now.tv_sec >= w->drain_deadline.tv_sec) {
		if (w->busy)
			cg_log(CG_LOG_WARN,
			       "worker %d: %zu requests still unfinished at the end of "
			       "the drain",
			       w->id, w->busy);
		event_base_loopexit(w->base, NULL);
	}
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tick = {0, 100000};
	size_t i;

	(void)fd;
	(void)what;
	w->draining = 1;
	for (i = 0; i < w->nfronts; i++)
		if (w->fronts[i].bound) {
			evhttp_del_accept_socket(w->fronts[i].http, w->fronts[i].bound);
			w->fronts[i].bound = NULL;
			w->fronts[i].lis = NULL; /* freed with bound */
		}
	clock_gettime(CLOCK_MONOTONIC, &w->drain_deadline);
	w->drain_deadline.tv_sec += 30;
	w->drain_tick = event_new(w->base, -1, EV_PERSIST, on_drain_tick, w);
	event_add(w->drain_tick, &tick);
	cg_worker_maybe_exit(w);
}

/* evhttp's side of the limits; the guard answers them first (with
 * OperationOutcomes), so evhttp's own, higher, are a backstop. */
static void
apply_limits(struct evhttp *http, const struct cg_settings *s)
{
	evhttp_set_max_headers_size(http, (ev_ssize_t)s->max_header * 2);
	evhttp_set_max_body_size(http, (ev_ssize_t)(s->max_body + s->max_body / 8 + 4096));
	evhttp_set_timeout(http, (int)((s->idle_timeout_ms + 999) / 1000));
}

/* After a reload, on the worker's own thread (evhttp is not thread-safe):
 * the new limits for the connections to come. */
static void
on_reconfigure(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct cg_runtime *rt = cg_runtime_acquire();
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < w->nfronts; i++)
		if (w->fronts[i].http)
			apply_limits(w->fronts[i].http, rt->s);
	w->max_conns = rt->s->max_connections / (size_t)nworkers + 1;
	w->max_handshaking = rt->s->max_handshakes / (size_t)nworkers + 1;
	cg_worker_resume_accepting(w);
	cg_runtime_release(rt);
}

static int
listen_on(struct front *f, const struct cg_listener_cfg *l, const struct cg_settings *s)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss), one = 1;
	char addr[300];
	evutil_socket_t fd;

	snprintf(addr, sizeof(addr), strchr(l->address, ':') ? "[%s]:%d" : "%s:%d", l->address,
	         l->port);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl)) {
		cg_log(CG_LOG_ERROR, "listener %s: not an address", addr);
		return -1;
	}
	f->lis = evconnlistener_new_bind(f->w->base, NULL, NULL,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                         LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
	                                 1024, (struct sockaddr *)&ss, sl);
	if (!f->lis) {
		cg_log(CG_LOG_ERROR, "listener %s: %s", addr, strerror(errno));
		return -1;
	}
	/* Accepted sockets inherit it: without it every TLS answer waits on
	 * Nagle and delayed ACKs (about 40 ms). */
	fd = evconnlistener_get_fd(f->lis);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	f->http = evhttp_new(f->w->base);
	if (!f->http)
		return -1;
	evhttp_set_bevcb(f->http, cg_conn_new, f);
	evhttp_set_gencb(f->http, cg_handle_request, f);
	apply_limits(f->http, s);
	evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                                            EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE |
	                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(f->http, "application/fhir+json");
	f->bound = evhttp_bind_listener(f->http, f->lis);
	return f->bound ? 0 : -1;
}

/* The admin listener, plain HTTP, on the first worker's loop: /healthz,
 * /readyz and /metrics for probes and scrapers that cannot do mutual TLS.
 * Small limits: nothing it serves takes a body (a small one is let through,
 * so that the answer is our 404 or 405, not evhttp's page). */
static int
admin_on(struct worker *w, const struct cg_settings *s)
{
	w->admin = evhttp_new(w->base);
	if (!w->admin)
		return -1;
	evhttp_set_gencb(w->admin, cg_handle_admin_request, w);
	/* Every method reaches the handler, which answers 405 with Allow. */
	evhttp_set_allowed_methods(w->admin, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                                             EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE |
	                                             EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(w->admin, 8192);
	evhttp_set_max_body_size(w->admin, 65536);
	evhttp_set_timeout(w->admin, (int)((s->idle_timeout_ms + 999) / 1000));
	if (!evhttp_bind_socket_with_handle(w->admin, s->admin_address,
	                                    (ev_uint16_t)s->admin_port)) {
		cg_log(CG_LOG_ERROR, "admin listener %s:%d: %s", s->admin_address, s->admin_port,
		       strerror(errno));
		return -1;
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	cg_map_thread_done();
	cg_arena_thread_release();
	return NULL;
}

static int
worker_init(struct worker *w, int id, const struct cg_settings *s)
{
	size_t i;

	struct event_config *ec = event_config_new();

	w->id = id;
	w->outbox = outbox;
	/* Batch epoll_ctl calls: evhttp turns reading and writing on and off
	 * several times per request, often back to where they were. */
	if (ec)
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = ec ? event_base_new_with_config(ec) : NULL;
	if (ec)
		event_config_free(ec);
	w->max_conns = s->max_connections / (size_t)nworkers + 1;
	w->max_handshaking = s->max_handshakes / (size_t)nworkers + 1;
	w->nfronts = s->nlisteners;
	w->fronts = calloc(w->nfronts, sizeof(*w->fronts));
	if (!w->base || !w->fronts)
		return -1;
	w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
	w->reconfigure_ev = event_new(w->base, -1, 0, on_reconfigure, w);
	w->dests = cg_dest_loop_new(w->base);
	if (!w->stop_ev || !w->reconfigure_ev || !w->dests)
		return -1;
	for (i = 0; i < w->nfronts; i++) {
		w->fronts[i].w = w;
		w->fronts[i].index = i;
		if (listen_on(&w->fronts[i], &s->listeners[i], s))
			return -1;
	}
	if (id == 0 && s->admin_address && admin_on(w, s))
		return -1;
	return 0;
}

static void
worker_free(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nfronts; i++)
		if (w->fronts[i].http)
			evhttp_free(w->fronts[i].http); /* closes its connections too */
	free(w->fronts);
	if (w->admin)
		evhttp_free(w->admin);
	cg_dest_loop_free(w->dests);
	if (w->stop_ev)
		event_free(w->stop_ev);
	if (w->reconfigure_ev)
		event_free(w->reconfigure_ev);
	if (w->drain_tick)
		event_free(w->drain_tick);
	if (w->base)
		event_base_free(w->base);
}

/* ---- signals, reload ------------------------------------------------------ */

struct control {
	const char *config_path, *mappings_dir;
	const struct cg_listen *listen; /* --listen, applied to every load */
	struct event_base *base;
};

static void
reload(struct control *ctl)
{
	struct cg_runtime *fresh, *cur;
	size_t i;
	int moved = 0, moved_admin;

	/* --listen applies to the new configuration as to the first: without it
	 * every reload would look like a move of the first listener. */
	fresh = cg_runtime_load(ctl->config_path, ctl->mappings_dir, ctl->listen);
	if (!fresh) {
		cg_log(CG_LOG_ERROR, "reload: the new configuration has errors (above); "
		                     "still serving with the previous one");
		return;
	}
	/* Listening sockets are made at start; a reload that moves them would
	 * serve listener i's new certificate on its old address. Refuse it. */
	cur = cg_runtime_acquire();
	for (i = 0; i < fresh->s->nlisteners || i < cur->s->nlisteners; i++)
		moved |= i >= fresh->s->nlisteners || i >= cur->s->nlisteners ||
		         fresh->s->listeners[i].port != cur->s->listeners[i].port ||
		         strcmp(fresh->s->listeners[i].address, cur->s->listeners[i].address) != 0;
	moved_admin = (fresh->s->admin_address == NULL) != (cur->s->admin_address == NULL) ||
	              (fresh->s->admin_address &&
	               (fresh->s->admin_port != cur->s->admin_port ||
	                strcmp(fresh->s->admin_address, cur->s->admin_address) != 0));
	cg_runtime_release(cur);
	if (moved || moved_admin) {
		cg_runtime_free(fresh);
		cg_log(CG_LOG_ERROR,
		       "reload: the %s changed; restart to apply that. Still serving with the "
		       "previous configuration",
		       moved ? "listeners' addresses or ports"
		             : "admin listener's address or port (or whether there is one)");
		return;
	}
	/* The database's password is read again (a rotated Secret): the
	 * connections made from now on use it; those open stay as they are. */
	if (fresh->s->outbox.path) {
		char why[512];

		if (cg_outbox_store_options(&fresh->s->outbox, why, sizeof(why))) {
			cg_runtime_free(fresh);
			cg_log(CG_LOG_ERROR,
			       "reload: %s; still serving with the previous configuration", why);
			return;
		}
	}
	cg_log_set_level(fresh->s->level);
	if (cg_audit_open(fresh->s->audit))
		cg_log(CG_LOG_ERROR, "reload: audit log: %s", strerror(errno));
	cg_runtime_release(cg_runtime_install(fresh));
	for (i = 0; i < (size_t)nworkers; i++)
		event_active(workers[i].reconfigure_ev, EV_READ, 1);
	cg_log(CG_LOG_INFO, "reload: configuration, mappings and certificates loaded");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct control *ctl = arg;
	int i;

	(void)what;
	if (sig == SIGHUP) {
		reload(ctl);
		return;
	}
	if (atomic_exchange(&draining, 1))
		return;
	cg_log(CG_LOG_INFO, "%s: draining: no new connections, finishing requests in flight",
	       sig == SIGTERM ? "SIGTERM" : "SIGINT");
	for (i = 0; i < nworkers; i++)
		event_active(workers[i].stop_ev, EV_READ, 1);
	event_base_loopexit(ctl->base, NULL);
}

/* The forwarder's way to the current destinations: a runtime reference. */
static const struct cg_settings *
settings_acquire(void *arg, void **hold)
{
	struct cg_runtime *rt = cg_runtime_acquire();

	(void)arg;
	*hold = rt;
	return rt ? rt->s : NULL;
}

static void
settings_release(void *arg, void *hold)
{
	(void)arg;
	if (hold)
		cg_runtime_release(hold);
}

int
cg_serve(const char *config_path, const char *mappings_dir, const struct cg_listen *listen)
{
	struct control ctl = {config_path, mappings_dir, listen, NULL};
	struct event *sig[3] = {NULL, NULL, NULL};
	struct cg_runtime *rt; /* valid until the control loop runs (a reload frees it) */
	static const int sigs[3] = {SIGHUP, SIGTERM, SIGINT};
	sigset_t block, old;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int i, status = 0, started = 0;

	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit (ulimit -f) makes a write fail with EFBIG, which the
	 * outbox answers with 503, rather than end the process. */
	signal(SIGXFSZ, SIG_IGN);
	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* Trees built while a request's arena is active live in it (cJSON makes
	 * one allocation per value: glibc malloc would be the hot spot). */
	cg_arena_cjson_hooks();
	if (cg_conn_setup())
		return 1;
	rt = cg_runtime_load(config_path, mappings_dir, listen);
	if (!rt)
		return 1;
	cg_runtime_install(rt); /* the first: nothing to release */
	cg_log_set_level(rt->s->level);
	if (rt->s->audit) { /* its folder too is made if missing */
		char dir[4096], *slash;

		snprintf(dir, sizeof(dir), "%s", rt->s->audit);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			cg_file_make_folder(dir);
		}
	}
	if (cg_audit_open(rt->s->audit)) {
		cg_log(CG_LOG_ERROR, "audit log %s: %s", rt->s->audit, strerror(errno));
		cg_runtime_release(cg_runtime_install(NULL));
		return 1;
	}
	nworkers = rt->s->workers ? rt->s->workers : (int)(cores > 0 ? cores : 1);
	workers = calloc((size_t)nworkers, sizeof(*workers));
	/* Signals are for the control loop only: blocked before any thread is
	 * made (the ndjson writer, the workers), which inherit the mask and so
	 * never take them, and unblocked once the loop has its handlers. */
	sigemptyset(&block);
	for (i = 0; i < 3; i++)
		sigaddset(&block, sigs[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (!workers || cg_ndjson_start()) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		cg_runtime_release(cg_runtime_install(NULL));
		return 1;
	}
	if (rt->s->outbox.path) {
		static const struct cg_settings_source src = {settings_acquire, settings_release,
		                                              NULL};
		char why[512];

		/* A store that cannot be used is a refusal to serve: accepting
		 * what cannot be kept would break the one promise. */
		if (cg_outbox_start(&rt->s->outbox, &src, &outbox, why, sizeof(why))) {
			/* a database's connection string may hold its password */
			cg_log(CG_LOG_ERROR, "outbox %s: %s",
			       cg_store_is_postgres(rt->s->outbox.path) ? "(postgres)"
			                                                : rt->s->outbox.path,
			       why);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			cg_ndjson_stop();
			free(workers);
			cg_runtime_release(cg_runtime_install(NULL));
			return 1;
		}
		cg_log(CG_LOG_INFO, "outbox %s: open",
		       cg_store_is_postgres(rt->s->outbox.path) ? "(postgres)"
		                                                : rt->s->outbox.path);
	}
	for (i = 0; i < nworkers; i++) {
		if (worker_init(&workers[i], i, rt->s)) {
			status = 1;
			break;
		}
	}
	if (!status)
		for (i = 0; i < nworkers; i++)
			if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0)
				started++;
	if (!status && started == nworkers) {
		ctl.base = event_base_new();
		for (i = 0; i < 3 && ctl.base; i++) {
			sig[i] = evsignal_new(ctl.base, sigs[i], on_signal, &ctl);
			evsignal_add(sig[i], NULL);
		}
		/* Unblocked only now that they have their handlers: the
		 * listeners accept already, and a SIGHUP (a reload by a deploy
		 * script right after start) must not find the default action,
		 * which ends the process. One that came meanwhile waited. */
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rt->s->admin_address)
			cg_log(CG_LOG_INFO,
			       "admin listener on %s:%d (plain HTTP: /healthz, /readyz, /metrics)",
			       rt->s->admin_address, rt->s->admin_port);
		for (i = 0; i < (int)rt->s->nlisteners; i++)
			cg_log(CG_LOG_INFO,
			       "listening on %s:%d (TLS, client certificate %s), %d workers",
			       rt->s->listeners[i].address, rt->s->listeners[i].port,
			       rt->s->listeners[i].require_client ? "required" : "optional",
			       nworkers);
		if (ctl.base)
			event_base_dispatch(ctl.base);
	} else {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		status = 1;
		atomic_store(&draining, 1);
		for (i = 0; i < nworkers; i++)
			if (workers[i].stop_ev)
				event_active(workers[i].stop_ev, EV_READ, 1);
	}
	for (i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	/* Every request answered: what was accepted is committed; batches in
	 * flight get a few seconds, the rest is sent after the next start. */
	cg_outbox_stop(outbox, 5000);
	outbox = NULL;
	cg_ndjson_stop();
	for (i = 0; i < nworkers; i++)
		worker_free(&workers[i]);
	for (i = 0; i < 3; i++)
		if (sig[i])
			event_free(sig[i]);
	if (ctl.base)
		event_base_free(ctl.base);
	free(workers);
	cg_runtime_release(cg_runtime_install(NULL));
	cg_audit_open(NULL);
	curl_global_cleanup();
	if (!status)
		cg_log(CG_LOG_INFO, "stopped");
	return status;
}
