/*
 * gate.h: who writes to the store next, between the outbox's two writers in
 * one process: the writer thread (commits of accepted requests) and the
 * forwarder (claims, outcomes). SQLite lets one connection write at a time,
 * and its busy handler polls: the writer, which starts its next commit the
 * moment the last one ends, took the lock again and again while the
 * forwarder slept between polls (a benchmark delivered 731 of 182,434
 * messages during a 30 s load). The forwarder's writes are short and free
 * the store: it goes first; the writer waits at most for one of them.
 */
#ifndef CG_GATE_H
#define CG_GATE_H

#include <stdbool.h>

struct cg_store_gate;

struct cg_store_gate *cg_store_gate_new(void);
void cg_store_gate_free(struct cg_store_gate *g);
/* Waits for the store: first, when priority, before any that has none. */
void cg_store_gate_enter(struct cg_store_gate *g, bool priority);
void cg_store_gate_leave(struct cg_store_gate *g);

#endif
