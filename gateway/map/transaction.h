/*
 * transaction.h: one FHIR transaction Bundle that carries a whole batch, so
 * that a FHIR server takes the batch all or nothing, as the gateway does.
 *
 * The items' text is copied as it is, never parsed into a tree and printed
 * again (create entries gain an ifNoneExist, spliced into their text): a transaction or batch Bundle gives its entries (they are requests
 * already); anything else (a lone resource, a List, whose entry is its own,
 * a collection or document Bundle) becomes one create entry of its own type.
 * The items must be what ingest writes: compact JSON, checked.
 */
#ifndef CG_TRANSACTION_H
#define CG_TRANSACTION_H

#include "buf.h"
#include "err.h"
#include "item.h"

/* Appends the transaction Bundle of b's items to out. CG_ENOMEM or CG_ELIMIT
 * when out cannot hold it (out is then freed, as every cg_buf append does);
 * CG_EINVAL when an item is not the JSON object it must be. */
enum cg_err cg_map_transaction(const struct cg_batch *b, struct cg_buf *out);

/* Appends a client's transaction or batch Bundle p[0..len) as it is, but
 * for its create entries without an ifNoneExist whose resource has an
 * identifier: they get one (conditional.h), so that a repeat is absorbed.
 * The same is done to the entries cg_map_transaction merges. */
enum cg_err cg_map_conditional_bundle(const char *p, size_t len, struct cg_buf *out);

/* The span of the top-level member name of the object text p[0..len) (checked
 * JSON, whitespace allowed, the name possibly written with escapes), when
 * its value starts with open ('[' or '{'): [*from, *to) is the value's
 * text. 0 when found, 1 when there is none, -1 when p is no object. */
int cg_map_member_span(const char *p, size_t len, const char *name, char open, size_t *from,
                       size_t *to);

#endif
