/*
 * trail.h: what became of what a client sent to a queue-mode destination
 * (issue 11), read from the outbox's store:
 *
 *   GET /transactions/{id}       the messages of one transaction (202's id)
 *   GET /transactions?record=ID  the messages of one record id
 *   GET /transactions?state=dead (or queued, in-flight, delivered)
 *
 * A client sees only the messages it sent (any of the client names its
 * certificate matches): another's transaction is 404, as one that does not
 * exist. Each message says its state, destination, type, record id,
 * attempts, times, the upstream's last status and why it is dead or waiting;
 * never its body. The store is read on the outbox's reader thread
 * (reader.h), never on the worker's loop: a database's round trip or a scan
 * of 5,000 rows would hold every connection the loop serves. Internal to
 * server/.
 */
#ifndef CG_TRAIL_H
#define CG_TRAIL_H

struct request;

/* rest: "" or "/{id}" after /transactions; the query is the request's. */
void cg_trail(struct request *r, const char *rest);

#endif
