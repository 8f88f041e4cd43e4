/*
 * item.h: what a body becomes once it is checked, and what destinations
 * take: items, each a record or a FHIR resource as compact JSON text, in
 * one buffer. ingest (server/) makes them; the destinations (dest/) and the
 * transaction that joins them (transaction.h) read them.
 */
#ifndef CG_ITEM_H
#define CG_ITEM_H

#include <stddef.h>

#include "fhir_structure.h"
#include "uuid.h"

/* What an item's requests are: a client's transaction or batch Bundle
 * (its creates are given conditions when sent, transaction.h), or one of
 * the gateway's own mapping, whose creates carry theirs already. */
#define CG_ITEM_REQUESTS      1
#define CG_ITEM_REQUESTS_OURS 2

struct cg_item {
	size_t off, len;                  /* its JSON text in the batch's data (no newline) */
	char type[CG_FHIR_TYPE_NAME_MAX]; /* "record", "Bundle", "Procedure"... */
	char record_id[72]; /* the record's recordId (1-64), for the audit log, or "" */
	int requests; /* a transaction or batch Bundle: its entries are requests (CG_ITEM_...) */
	char key[CG_UUID_STRLEN + 1]; /* the patient's ordering key (order_key.h), or "" */
};

/* Items and the text they point into; the caller keeps both alive while a
 * destination works on them. */
struct cg_batch {
	const char *data;
	const struct cg_item *item;
	size_t n;
};

#endif
