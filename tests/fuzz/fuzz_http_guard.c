/*
 * fuzz_http_guard.c: libFuzzer target over the request framing scanner
 * (http_guard.h), the first code that reads a client's raw bytes. Checks
 * that feeding the input whole and in the pieces the first byte chooses
 * gives the same verdict for the same reason, that a verdict, once given,
 * stays, and that every refusal says why with a status the server knows.
 */
#include <stdint.h>
#include <stdlib.h>

#include "http_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_http_guard whole, parts;
	enum cg_guard_verdict a, b = CG_GUARD_OK, last = CG_GUARD_OK;
	size_t step, i;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 7 + 1;
	data++;
	size--;
	cg_http_guard_init(&whole, 256, 64);
	cg_http_guard_init(&parts, 256, 64);
	a = cg_http_guard_feed(&whole, (const char *)data, size);
	for (i = 0; i < size; i += step) {
		b = cg_http_guard_feed(&parts, (const char *)data + i,
		                       size - i < step ? size - i : step);
		if (last != CG_GUARD_OK && b != last)
			abort(); /* a verdict changed */
		last = b;
	}
	if (size && (a != b || whole.why != parts.why))
		abort(); /* the pieces decided otherwise than the whole */
	if (a != CG_GUARD_OK) {
		const char *reason;
		int status = cg_http_guard_status(a, &reason);

		if (!whole.why || status < 400 || status > 505)
			abort();
	}
	return 0;
}
