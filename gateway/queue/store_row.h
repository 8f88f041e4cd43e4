/*
 * store_row.h: a message read back, as both stores (store_sqlite.c,
 * store_pg.c) make one (internal to queue/): its texts are copied into the
 * store's read buffer at offsets, and pointed at once the buffer has
 * stopped moving.
 */
#ifndef CG_STORE_ROW_H
#define CG_STORE_ROW_H

#include "store.h"

/* The offsets of a row's texts in the read buffer, -1 for NULL. */
struct row_texts {
	long long txid, dest, key, client, record_id, type, body, reason, response, response_type;
};

/* Points m's texts into base (the read buffer) at t's offsets (store.c). */
void store_row_texts(const char *base, struct cg_msg *m, const struct row_texts *t);

#endif
