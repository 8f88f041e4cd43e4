/*
 * fuzz_ingest.c: libFuzzer target over the gateway's request handling
 * (ingest.h: body -> items or OperationOutcome), the exact code a POST runs.
 * The first byte chooses the route's shape (what it accepts, what its
 * destination wants, a resource type restriction, JSON or NDJSON); the rest
 * is the body. Invariants checked on every input:
 *  - the call succeeds and the status is 200, 400 or 422;
 *  - the outcome is always one JSON OperationOutcome;
 *  - all or nothing: items only with 200, and then each item is JSON of the
 *    kind the destination wants (a record, or a FHIR resource), on one line;
 *  - what a fhir destination is then sent (the outbox's batches): the items
 *    joined into one transaction, and each transaction or batch Bundle sent
 *    alone with conditions spliced into its creates, is JSON (the splice
 *    edits the client's text: a wrong offset would break it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ingest.h"
#include "mappings.h"
#include "transaction.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cg_mappings *mappings;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {NULL, "Procedure", "Observation", "Bundle"};
	static const struct cg_provenance_in prov = {"fuzz", "cellgate", "consent=required; x/y%",
	                                             1767323045123LL, "https://example.org/fhir"};
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	cJSON *oc;
	size_t i;
	char *why = NULL;

	if (!mappings && cg_mappings_load(CG_TEST_MAPPINGS, &mappings, &why))
		abort();
	if (size < 1)
		return 0;
	memset(&in, 0, sizeof(in));
	in.m = mappings;
	in.accept = (data[0] & 1) ? CG_PAYLOAD_FHIR : CG_PAYLOAD_RECORD;
	in.want = (data[0] & 2) ? CG_PAYLOAD_FHIR : CG_PAYLOAD_RECORD;
	in.resource_type = types[(data[0] >> 2) & 3];
	in.format = (data[0] & 16)   ? CG_FORMAT_NDJSON
	            : (data[0] & 32) ? CG_FORMAT_JSON
	                             : CG_FORMAT_AUTO;
	in.validate_only = (data[0] & 64) != 0;
	in.provenance = (data[0] & 128) ? &prov : NULL;
	in.max_items = 50;
	cg_ingest_out_init(&out);
	if (cg_ingest(&in, (const char *)data + 1, size - 1, &out))
		abort();
	if (out.status != 200 && out.status != 400 && out.status != 422)
		abort();
	oc = cJSON_ParseWithLength(out.outcome.p, out.outcome.len);
	if (!oc ||
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(oc, "resourceType")),
	           "OperationOutcome") != 0)
		abort();
	cJSON_Delete(oc);
	if (out.n && (out.status != 200 || in.validate_only))
		abort(); /* items handed out from a failed or validate-only call */
	for (i = 0; i < out.n; i++) {
		cJSON *item = cJSON_ParseWithLength(out.data.p + out.item[i].off, out.item[i].len);
		int is_fhir =
		        item && cJSON_GetObjectItemCaseSensitive(item, "resourceType") != NULL;

		if (!item || is_fhir != (in.want == CG_PAYLOAD_FHIR))
			abort(); /* not JSON, or not what the destination takes */
		if (memchr(out.data.p + out.item[i].off, '\n', out.item[i].len))
			abort(); /* an item must fit on one NDJSON line */
		cJSON_Delete(item);
	}
	if (out.n && in.want == CG_PAYLOAD_FHIR) {
		struct cg_batch b = {out.data.p, out.item, out.n};
		struct cg_buf t;

		cg_buf_init(&t, CG_BUF_MAX_UPSTREAM);
		if (cg_map_transaction(&b, &t) == CG_OK) {
			cJSON *tx = cJSON_ParseWithLength(t.p, t.len);

			if (!tx)
				abort(); /* the joined transaction is not JSON */
			cJSON_Delete(tx);
		}
		cg_buf_free(&t);
		for (i = 0; i < out.n; i++) {
			if (!out.item[i].requests)
				continue;
			cg_buf_init(&t, CG_BUF_MAX_UPSTREAM);
			if (cg_map_conditional_bundle(out.data.p + out.item[i].off, out.item[i].len,
			                              &t) == CG_OK) {
				cJSON *one = cJSON_ParseWithLength(t.p, t.len);

				if (!one)
					abort(); /* a Bundle with conditions spliced in is not JSON */
				cJSON_Delete(one);
			}
			cg_buf_free(&t);
		}
	}
	cg_ingest_out_free(&out);
	return 0;
}
