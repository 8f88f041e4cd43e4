/*
 * enqueue.h: a request for a queue-mode destination: its items into the
 * outbox, and 202 Accepted only once they are durable.
 *
 * The answer names the transaction (X-Transaction-Id, Location:
 * /transactions/{id}, and in the OperationOutcome) where the client follows
 * what became of it (trail.h). Refused with 503 and Retry-After, nothing
 * kept, when the outbox is over its depth, the disk under its free space, or
 * the commit fails: never a 2xx for what is not stored. Internal to server/.
 */
#ifndef CG_ENQUEUE_H
#define CG_ENQUEUE_H

struct request;

/* r has its items (r->out), its route a queue-mode destination. Ends r. */
void cg_enqueue(struct request *r);

/* r was refused (422) with records whose consent refuses the destination's
 * registry (r->out.withdraw): their patients' messages still queued for it
 * are withdrawn, durably, then r gets its 422, with X-Cellgate-Withdrawn
 * saying how many. Ends r. */
void cg_enqueue_withdraw(struct request *r);

#endif
