/*
 * transaction.h: one FHIR transaction Bundle that carries a whole batch, so
 * that a FHIR server takes the batch all or nothing, as the gateway does.
 *
 * The items' text is copied as it is, never parsed into a tree and printed
 * again: a transaction or batch Bundle gives its entries (they are requests
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

#endif
