/*
 * server.h: `cellgate serve`, the mutual-TLS gateway.
 *
 * libevent's evhttp over bufferevent_openssl, one event loop per worker
 * thread, each with its own listening socket on the same port
 * (SO_REUSEPORT), so the kernel spreads connections and no lock is taken
 * per request. This file runs the workers, their listeners and the control
 * loop's signals: SIGHUP loads the configuration, mappings and certificates
 * again (runtime.h) and swaps them in for new requests; SIGTERM stops
 * accepting, finishes what is in flight and exits 0. Connections below HTTP
 * are conn.h's, requests handler.h's.
 */
#ifndef CG_SERVER_H
#define CG_SERVER_H

struct cg_listen;

/* Runs until SIGTERM or SIGINT. listen, when not NULL, is where the first
 * listener goes instead of the configuration's address and port, at start
 * and at every reload. Returns the exit status (0 after a clean drain, 1
 * when the configuration or a listener cannot be used). */
int cg_serve(const char *config_path, const char *mappings_dir, const struct cg_listen *listen);

#endif
