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
 * never its body. Reads go to a store connection of the worker's own, on
 * its loop: indexed reads of a WAL file, which writers do not block.
 * Internal to server/.
 */
#ifndef CG_TRAIL_H
#define CG_TRAIL_H

struct request;

/* rest: "" or "/{id}" after /transactions; the query is the request's. */
void cg_trail(struct request *r, const char *rest);

/* Closes the worker's store connection (at its end). */
struct worker;
void cg_trail_close(struct worker *w);

#endif
