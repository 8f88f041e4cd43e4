/*
 * order_key.h: the key a message is delivered in order with: the patient.
 *
 * The outbox delivers one patient's messages in the order they were
 * accepted (a later record may withdraw consent or correct an earlier one)
 * and other patients' past a waiting one. The key is a name-based UUID of
 * the patient's first identifier ("system|value"), so that the queue's
 * tables and `cellgate queue` never show the identifier itself, and the
 * same patient has the same key whether a record or FHIR named them.
 */
#ifndef CG_ORDER_KEY_H
#define CG_ORDER_KEY_H

#include "err.h"
#include "uuid.h"

struct cJSON;

/* The key of an item's parsed input: a record (patient.identifiers[0]), a
 * Patient (identifier[0]), a resource with a subject or patient reference
 * (its identifier, else its reference), a Bundle (its first entry that
 * gives one). CG_ENOENT when it names no patient: the caller picks a key of
 * its own (the transaction's, keeping that request's items in order). */
enum cg_err cg_order_key(const struct cJSON *root, char out[CG_UUID_STRLEN + 1]);

#endif
