/*
 * fuzz_policy.c: libFuzzer target over a destination's registry policy as
 * the gateway applies it (ingest.h with consent required, keyed pseudonyms
 * and Safe Harbor: docs/privacy.md). The first byte chooses what the route
 * accepts (records or FHIR), what the destination takes, the dates (year or
 * shift) and the body's format; the rest is the body. Invariants:
 *  - the call succeeds, the status is 200, 400 or 422, the outcome is JSON;
 *  - with 200, every item is valid by cellgate's own validator: a record for
 *    a records destination (dates shifted keep every rule), a FHIR
 *    transaction Bundle for a fhir one (dates to the year included);
 *  - no item names the registry's pseudonym system other than as the one
 *    patient identifier, and none carries a performer or a recordRef.
 */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ingest.h"
#include "mappings.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cg_mappings *mappings;
static struct cg_secret_key key;

static enum cg_err
must_be_valid(void *ctx, const struct cg_record_report *r)
{
	(void)ctx;
	if (!cg_diag_is_valid(r->diag) || r->diag->errors)
		abort(); /* the policy's output breaks a rule of what it claims to be */
	return CG_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_validate_opts vo;
	struct cg_ingest_in in;
	struct cg_ingest_out out;
	struct cg_policy p;
	cJSON *oc;
	size_t i;
	char *why = NULL;

	if (!mappings) {
		if (cg_mappings_load(CG_TEST_MAPPINGS, &mappings, &why))
			abort();
		memcpy(key.bytes, "0123456789abcdef0123456789abcdef", 32);
		key.len = 32;
	}
	if (size < 1)
		return 0;
	memset(&p, 0, sizeof(p));
	p.registry_id = "REG";
	p.identity = CG_IDENTITY_KEYED;
	p.pseudonym_system = "urn:cellgate:pseudonym:REG";
	p.key = &key;
	p.deidentify = CG_DEID_SAFE_HARBOR;
	p.shift_days = 365;
	memset(&in, 0, sizeof(in));
	in.m = mappings;
	in.accept = (data[0] & 1) ? CG_PAYLOAD_FHIR : CG_PAYLOAD_RECORD;
	in.want = (data[0] & 2) ? CG_PAYLOAD_FHIR : CG_PAYLOAD_RECORD;
	p.record_form = in.want == CG_PAYLOAD_RECORD;
	p.dates = p.record_form || (data[0] & 4) ? CG_DATES_SHIFT : CG_DATES_YEAR;
	in.format = (data[0] & 16) ? CG_FORMAT_NDJSON : CG_FORMAT_AUTO;
	in.consent_for = (data[0] & 32) ? "REG" : NULL;
	in.policy = &p;
	in.max_items = 20;
	cg_ingest_out_init(&out);
	if (cg_ingest(&in, (const char *)data + 1, size - 1, &out))
		abort();
	if (out.status != 200 && out.status != 400 && out.status != 422)
		abort();
	oc = cJSON_ParseWithLength(out.outcome.p, out.outcome.len);
	if (!oc)
		abort();
	cJSON_Delete(oc);
	cg_validate_opts_default(&vo, mappings);
	for (i = 0; i < out.n; i++) {
		const char *t = out.data.p + out.item[i].off;
		size_t n = out.item[i].len;

		if (cg_validate_input(&vo, t, n, CG_FORMAT_JSON, must_be_valid, NULL))
			abort();
		/* removed members do not come back under another spelling */
		if (memmem(t, n, "\"recordRef\"", 11) || memmem(t, n, "\"performer\"", 11) ||
		    memmem(t, n, "\"concomitantTherapy\"", 20) ||
		    memmem(t, n, "\"url\":\"recordRef\"", 17))
			abort();
	}
	cg_ingest_out_free(&out);
	return 0;
}
