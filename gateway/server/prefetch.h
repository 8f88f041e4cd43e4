/*
 * prefetch.h: the random pseudonyms a request needs that memory does not
 * have (patients seen for the first time, or long ago), found or made on
 * the outbox's reader thread (reader.h), after which the request is
 * ingested again with them: a worker's loop never waits for the store (a
 * database's round trip, its connect timeout when it is away). Ingest is
 * deterministic, so the second pass makes the same items, with the real
 * pseudonyms. Internal to server/.
 */
#ifndef CG_PREFETCH_H
#define CG_PREFETCH_H

struct request;

/* Takes r->out.missing (ingest's, with defer_pseudonyms) into r->known,
 * fetches them and then calls again(r) on r's loop; or answers 503 (the
 * store failed, or the reader is overloaded), ending r. A second call for
 * one request (its second pass missed again) answers 503 too. */
void cg_prefetch_pseudonyms(struct request *r, void (*again)(struct request *r));

#endif
