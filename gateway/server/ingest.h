/*
 * ingest.h: a request body, checked and turned into what a destination takes.
 *
 * The server's whole handling of a body, without sockets, so that the fuzzer
 * and the unit tests drive exactly what the gateway runs: split the body into
 * items (one JSON value, a JSON array or NDJSON), validate each (record or
 * FHIR, told apart by resourceType), check it is what the route accepts, map
 * it to what the destination wants, and write either the items' JSON text
 * (one per line) or an OperationOutcome listing every issue of every item.
 * A batch is all or nothing: one invalid item and no item is handed out.
 */
#ifndef CG_INGEST_H
#define CG_INGEST_H

#include <stddef.h>

#include "buf.h"
#include "diag.h"
#include "err.h"
#include "item.h"
#include "map.h"
#include "mappings.h"
#include "policy.h"
#include "pseudonyms.h"
#include "provenance.h"
#include "settings.h"
#include "split.h"
#include "uuid.h"

struct cg_ingest_in {
	const struct cg_mappings *m;
	const char *canonical_base; /* for the outcome's code system and extensions */
	enum cg_payload accept;     /* what the body must hold */
	int accept_any;             /* or records and FHIR alike (cellgate deidentify) */
	const char *resource_type;  /* FHIR: the one resourceType allowed, or NULL */
	enum cg_payload want;       /* what the destination takes */
	enum cg_format format;      /* from the Content-Type */
	size_t max_items;           /* items in one body (0: no limit) */
	size_t max_record;          /* bytes in one item (0: the default) */
	int validate_only;          /* $validate: the outcome, never items */
	int to_files;               /* the destination stores resources (ndjson), not requests */
	const char *consent_for;    /* research consent for this registry id required, or NULL */
	/* identity and de-identification (policy.h), or NULL: when active, every
	 * item goes out as the record it maps to with the policy applied */
	const struct cg_policy *policy;
	struct cg_pseudonyms *pseudonyms; /* random pseudonyms (identity random), or NULL */
	/* On an event loop: a pseudonym not in memory is not looked up in the
	 * store (a round trip) but noted in out->missing, and the items made
	 * are not to be used: the caller has the missing ones fetched off the
	 * loop, then ingests again with them as known. */
	int defer_pseudonyms;
	const struct cg_pseudonym_use *known; /* fetched for this request */
	size_t nknown;
	/* A FHIR destination's: each mapped record's Bundle, and each client
	 * transaction or batch Bundle, ends with a Provenance entry (issue 12,
	 * provenance.h); NULL: none. */
	const struct cg_provenance_in *provenance;
	/* a FHIR destination's ways (settings.h): its tags on every mapped
	 * resource, its Bundle caps (a record's Bundle split into parts), or NULL */
	const struct cg_fhir_rules *rules;
	/* the R4 invariants evaluated on FHIR items (fhir_invariants.h), loaded
	 * once with the configuration; NULL: structure only */
	const struct cg_fhir_invariants *invariants;
};

struct cg_ingest_out {
	int status; /* 200: items ready; 400: unreadable; 422: invalid */
	size_t errors, warnings;
	struct cg_buf outcome; /* the OperationOutcome (always written) */
	struct cg_buf data;    /* the items' text, each followed by '\n' */
	struct cg_item *item;
	size_t n, cap;
	const char *first_code; /* the first error's code, for logs and metrics */
	/* consent_for: the patients (ordering keys) of records whose consent
	 * refuses this registry: what is queued for them is withdrawn */
	char (*withdraw)[CG_UUID_STRLEN + 1];
	size_t nwithdraw;
	/* the random pseudonyms the items carry, for the writer to keep with them */
	struct cg_pseudonym_use *pseudonyms;
	size_t npseudonyms;
	/* defer_pseudonyms: the ones to fetch (no pseudonym yet); when there
	 * are any, the items are not the request's answer */
	struct cg_pseudonym_use *missing;
	size_t nmissing;
	unsigned long code_count[CG_C__COUNT]; /* issues by code, for metrics */
};

/* Fills out (initialise it with cg_ingest_out_init). Returns CG_ENOMEM or
 * CG_OK; a bad body is not an error of the call but out->status. */
enum cg_err cg_ingest(const struct cg_ingest_in *in, const char *body, size_t len,
                      struct cg_ingest_out *out);
void cg_ingest_out_init(struct cg_ingest_out *out);
void cg_ingest_out_free(struct cg_ingest_out *out);

#endif
