/*
 * fuzz_fhirpath.c: libFuzzer target over the FHIRPath engine: the input is
 * an expression, compiled and, when it compiles, evaluated on a fixed Bundle
 * (a Patient with a contained resource and extensions, an Observation with
 * a choice value) with the R4 tables, and every item of the result
 * rendered; the semantic check is made too. Invariants: no crash;
 * compilation and the semantic check either succeed or name a column
 * within the expression; evaluation gives a collection or an error with a
 * message, never anything else.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "fhir_structure.h"
#include "fhirpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char bundle[] =
        "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
        "{\"fullUrl\":\"urn:uuid:1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p\","
        "\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o\",\"name\":\"Org\"}],"
        "\"managingOrganization\":{\"reference\":\"#o\"},"
        "\"name\":[{\"family\":\"Doe\",\"given\":[\"Jo\",null],\"_given\":[null,{\"extension\":"
        "[{\"url\":\"http://x\",\"valueCode\":\"masked\"}]}]}],"
        "\"birthDate\":\"1974-12-25\",\"active\":true,\"multipleBirthInteger\":2}},"
        "{\"fullUrl\":\"urn:uuid:2\",\"resource\":{\"resourceType\":\"Observation\","
        "\"id\":\"x\",\"status\":\"final\",\"subject\":{\"reference\":\"urn:uuid:1\"},"
        "\"code\":{\"text\":\"w\"},\"valueQuantity\":{\"value\":1.50,\"unit\":\"kg\","
        "\"code\":\"kg\"},\"effectiveDateTime\":\"2020-01-02T03:04:05.678+01:00\"}}]}";

static struct cg_fhir_structure *structure;
static cJSON *root;
static struct cg_arena *arena;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_fp_program *p = NULL;
	struct cg_fp_syntax syn;
	struct cg_fp_env env;
	struct cg_fp_coll v;
	struct cg_buf b;
	enum cg_err r;
	char *expr;
	size_t k;

	if (!structure) {
		char *why = NULL;

		if (cg_fhir_structure_load(CG_TEST_MAPPINGS "/fhir-r4/structure.json", &structure,
		                           &why)) {
			fprintf(stderr, "fuzz_fhirpath: %s\n", why ? why : "no structure");
			abort();
		}
		root = cJSON_Parse(bundle);
		arena = cg_arena_new(64 * 1024);
		if (!root || !arena)
			abort();
	}
	/* An exact-size NUL-terminated copy: ASan sees any read past it. */
	expr = malloc(size + 1);
	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	r = cg_fp_compile(expr, &p, &syn);
	if (r) {
		if (r != CG_EINVAL && r != CG_ENOMEM)
			abort();
		if (r == CG_EINVAL &&
		    (syn.column < 1 || syn.column > strlen(expr) + 1 || !syn.message[0]))
			abort();
		free(expr);
		return 0;
	}
	/* the semantic check, on the input's type and on another with more
	 * elements: it passes or names a column within the expression */
	for (k = 0; k < 2; k++) {
		r = cg_fp_check(p, structure, k ? "Patient" : "Bundle", &syn);
		if (r && (r != CG_EINVAL || syn.column < 1 || syn.column > strlen(expr) + 1 ||
		          !syn.message[0]))
			abort();
	}
	cg_arena_reset(arena);
	memset(&env, 0, sizeof(env));
	env.arena = arena;
	env.structure = structure;
	env.resource = root;
	env.now_ms = 1600000000000LL;
	r = cg_fp_eval(p, &env, &v);
	if (r == CG_OK) {
		cg_buf_init(&b, (size_t)16 << 20);
		for (k = 0; k < v.n; k++) {
			if (!cg_fp_type_name(&v.items[k]))
				abort();
			r = cg_fp_item_json(&b, &v.items[k]);
			if (r && r != CG_ELIMIT)
				abort();
		}
		cg_buf_free(&b);
	} else if ((r != CG_EINVAL && r != CG_ELIMIT && r != CG_ENOMEM) || !env.error[0]) {
		abort();
	}
	cg_fp_program_free(p);
	free(expr);
	return 0;
}
