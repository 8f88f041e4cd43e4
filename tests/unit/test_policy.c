/* test_policy.c: keys, pseudonyms (known answers), Safe Harbor on a record,
 * the policy applied. The property test over thousands of generated records
 * is tests/integration/privacy_properties.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "datetime.h"
#include "diag.h"
#include "policy.h"
#include "pseudonym.h"
#include "secret_key.h"
#include "support.h"

#define KAT_KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct cg_secret_key *
key_of(const char *text, mode_t mode)
{
	struct cg_secret_key *k = NULL;
	char why[256];
	FILE *f;

	unlink(test_tmp_path); /* the last one may be read-only */
	f = fopen(test_tmp_path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(test_tmp_path, mode);
	if (cg_secret_key_load(test_tmp_path, &k, why, sizeof(why)) != CG_OK)
		return NULL;
	return k;
}

/* The documented known answers (docs/privacy.md): reproducible with
 *   printf '%s' 'STEMCELL-REG|urn:oid:2.16.840.1.113883.3.1234.1|MRN-004211' |
 *     openssl dgst -sha256 -mac HMAC -macopt key:<KAT_KEY>
 * and the escapes of '|' and '%' in the registry id and the system. */
static void
keyed_known_answers(void **state)
{
	struct cg_secret_key *k = key_of(KAT_KEY "\n", 0600);
	char out[CG_PSEUDONYM_MAX + 1];

	(void)state;
	assert_non_null(k);
	assert_int_equal(cg_pseudonym_keyed(k, "STEMCELL-REG", "urn:oid:2.16.840.1.113883.3.1234.1",
	                                    "MRN-004211", out),
	                 CG_OK);
	assert_string_equal(out,
	                    "c96fa0e7e0e7dfa2ad316fdd64e775f745bbc38b4b544a749d1b80ab51a68739");
	assert_int_equal(cg_pseudonym_keyed(k, "REG|X", "urn:a%b|c", "v|w", out), CG_OK);
	assert_string_equal(out,
	                    "144999e098434725d118ff93eab068174ad984ca60567a75fac36ffc167dd4cd");
	/* another registry, another pseudonym; the same one again, the same */
	assert_int_equal(cg_pseudonym_keyed(k, "OTHER-REG", "urn:oid:2.16.840.1.113883.3.1234.1",
	                                    "MRN-004211", out),
	                 CG_OK);
	assert_string_not_equal(out,
	                        "c96fa0e7e0e7dfa2ad316fdd64e775f745bbc38b4b544a749d1b80ab51a68739");
	cg_secret_key_free(k);
}

static void
key_files(void **state)
{
	struct cg_secret_key *k;
	char a[CG_PSEUDONYM_MAX + 1], b[CG_PSEUDONYM_MAX + 1];

	(void)state;
	assert_null(key_of("too short", 0600));
	assert_null(key_of(KAT_KEY, 0644)); /* readable by others */
	assert_null(key_of(KAT_KEY, 0640)); /* by the group */
	/* with or without its line end, the same key */
	k = key_of(KAT_KEY, 0600);
	assert_non_null(k);
	assert_int_equal(cg_pseudonym_keyed(k, "R", "s", "v", a), CG_OK);
	cg_secret_key_free(k);
	k = key_of(KAT_KEY "\r\n", 0400);
	assert_non_null(k);
	assert_int_equal(cg_pseudonym_keyed(k, "R", "s", "v", b), CG_OK);
	assert_string_equal(a, b);
	cg_secret_key_free(k);
	/* another key, another pseudonym */
	k = key_of(KAT_KEY "0", 0600);
	assert_non_null(k);
	assert_int_equal(cg_pseudonym_keyed(k, "R", "s", "v", b), CG_OK);
	assert_string_not_equal(a, b);
	cg_secret_key_free(k);
}

static void
days_round_trip(void **state)
{
	long d;
	struct cg_date x;

	(void)state;
	for (d = -800000; d <= 800000; d += 7) {
		cg_date_from_days(d, &x);
		assert_int_equal(cg_date_days(&x), d);
	}
	cg_date_from_days(0, &x);
	assert_int_equal(x.year * 10000 + x.month * 100 + x.day, 19700101);
	cg_date_from_days(-1, &x);
	assert_int_equal(x.year * 10000 + x.month * 100 + x.day, 19691231);
}

static cJSON *
sample(void)
{
	char *text = test_read_data("records/valid-heart-failure.json");
	cJSON *rec = cJSON_Parse(text);

	free(text);
	assert_non_null(rec);
	return rec;
}

static const char *
at(const cJSON *root, const char *a, const char *b, const char *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	if (c)
		v = cJSON_GetObjectItemCaseSensitive(v, c);
	return cJSON_GetStringValue(v);
}

static void
policy_of(struct cg_policy *p, const struct cg_secret_key *k, enum cg_dates dates)
{
	memset(p, 0, sizeof(*p));
	p->registry_id = "STEMCELL-REG";
	p->identity = CG_IDENTITY_KEYED;
	p->pseudonym_system = "urn:cellgate:pseudonym:STEMCELL-REG";
	p->key = k;
	p->deidentify = CG_DEID_SAFE_HARBOR;
	p->dates = dates;
	p->shift_days = 365;
	p->record_form = dates == CG_DATES_SHIFT;
}

/* Every identifier, number and free text of the sample is gone from the
 * output text; dates are years; it names the pseudonym only. */
static void
safe_harbor_year(void **state)
{
	static const char *const gone[] = {
	        "MRN-004211", "REG-77",     "HF-2024-0001",   "ENC-88812",
	        "MSC-BM-01",  "B2024-113",  "A9999240012345", "Example Cell Therapy Lab",
	        "1234567893", "bisoprolol", "1961-04-17",     "2024-03-05",
	        "2024-09-04", "2022-11-02", "lvef-bl",        "registry.example.org",
	        NULL};
	struct cg_secret_key *k = key_of(KAT_KEY, 0600);
	struct cg_policy p;
	cJSON *rec = sample(), *out = NULL, *ids;
	char why[256], *text;
	size_t i;

	(void)state;
	policy_of(&p, k, CG_DATES_YEAR);
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_OK);
	text = cJSON_PrintUnformatted(out);
	for (i = 0; gone[i]; i++)
		if (strstr(text, gone[i]))
			fail_msg("%s passed: %s", gone[i], text);
	assert_string_equal(at(out, "patient", "birthDate", NULL), "1961");
	assert_string_equal(at(out, "administration", "start", NULL), "2024");
	ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(out, "patient"),
	                                       "identifiers");
	assert_int_equal(cJSON_GetArraySize(ids), 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	                            cJSON_GetArrayItem(ids, 0), "system")),
	                    "urn:cellgate:pseudonym:STEMCELL-REG");
	assert_null(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(out, "administration"), "performer"));
	assert_null(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(out, "product"), "manufacturer"));
	free(text);
	cJSON_Delete(out);
	cJSON_Delete(rec);
	cg_secret_key_free(k);
}

/* Shift mode: a valid record, every date moved back by the same number of
 * days (1 to 365), so intervals hold; the same input gives the same output. */
static void
safe_harbor_shift(void **state)
{
	struct cg_secret_key *k = key_of(KAT_KEY, 0600);
	struct cg_policy p;
	cJSON *rec = sample(), *out = NULL, *again = NULL;
	struct cg_date a, b, c, d;
	struct cg_diag dg;
	char why[256], *text, *text2;
	long shift;

	(void)state;
	policy_of(&p, k, CG_DATES_SHIFT);
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_OK);
	assert_int_equal(cg_date_parse(at(rec, "patient", "birthDate", NULL), &a), 0);
	assert_int_equal(cg_date_parse(at(out, "patient", "birthDate", NULL), &b), 0);
	shift = cg_date_days(&a) - cg_date_days(&b);
	assert_true(shift >= 1 && shift <= 365);
	assert_int_equal(cg_date_parse(at(rec, "indication", "diagnosisDate", NULL), &c), 0);
	assert_int_equal(cg_date_parse(at(out, "indication", "diagnosisDate", NULL), &d), 0);
	assert_int_equal(cg_date_days(&c) - cg_date_days(&d), shift);
	/* the time of day and offset of a date-time stay as written */
	assert_string_equal(at(out, "administration", "start", NULL) + 10, "T09:30:00+01:00");
	text = cJSON_PrintUnformatted(out);
	cg_diag_init(&dg, 50);
	test_validate_text(text, &dg);
	if (dg.errors)
		fail_msg("the de-identified record is not valid: %s: %s", dg.v[0].path,
		         dg.v[0].message);
	cg_diag_free(&dg);
	assert_int_equal(cg_policy_apply(&p, rec, &again, why, sizeof(why)), CG_OK);
	text2 = cJSON_PrintUnformatted(again);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	cJSON_Delete(again);
	cJSON_Delete(out);
	cJSON_Delete(rec);
	cg_secret_key_free(k);
}

/* Ages over 89 are one category: the birth date makes the patient 90 at
 * the record's latest date (here its vital status, 2025-03-05), and no
 * date falls before it; also for a patient under 90 at the administration
 * and over 89 at a later date. */
static void
over_89(void **state)
{
	struct cg_secret_key *k = key_of(KAT_KEY, 0600);
	struct cg_policy p;
	cJSON *rec = sample(), *out = NULL;
	cJSON *pat = cJSON_GetObjectItemCaseSensitive(rec, "patient");
	cJSON *ind = cJSON_GetObjectItemCaseSensitive(rec, "indication");
	char why[256];
	struct cg_date b, last;

	(void)state;
	cJSON_ReplaceItemInObjectCaseSensitive(pat, "birthDate", cJSON_CreateString("1925-06-01"));
	cJSON_ReplaceItemInObjectCaseSensitive(ind, "diagnosisDate",
	                                       cJSON_CreateString("1930-01-01"));
	policy_of(&p, k, CG_DATES_YEAR);
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_OK);
	assert_string_equal(at(out, "patient", "birthDate", NULL), "1935");
	assert_string_equal(at(out, "indication", "diagnosisDate", NULL), "1935");
	cJSON_Delete(out);
	p.dates = CG_DATES_SHIFT;
	p.record_form = 1;
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_OK);
	assert_int_equal(cg_date_parse(at(out, "patient", "birthDate", NULL), &b), 0);
	assert_int_equal(cg_date_parse(at(out, "vitalStatus", "date", NULL), &last), 0);
	assert_int_equal(cg_age_years(&b, &last), 90);
	assert_string_equal(at(out, "indication", "diagnosisDate", NULL),
	                    at(out, "patient", "birthDate", NULL));
	cJSON_Delete(out);
	/* 89 at the administration (2024-03-05), 90 at the last outcome and
	 * vital status (2025-03-05): the year of birth would say so */
	cJSON_ReplaceItemInObjectCaseSensitive(pat, "birthDate", cJSON_CreateString("1934-06-01"));
	cJSON_ReplaceItemInObjectCaseSensitive(ind, "diagnosisDate",
	                                       cJSON_CreateString("2020-01-01"));
	policy_of(&p, k, CG_DATES_YEAR);
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_OK);
	assert_string_equal(at(out, "patient", "birthDate", NULL), "1935");
	cJSON_Delete(out);
	cJSON_Delete(rec);
	cg_secret_key_free(k);
}

/* identity alone: the record as it was but for one pseudonym in place of
 * every identifier; keep and none: nothing to do. */
static void
identity_only(void **state)
{
	struct cg_secret_key *k = key_of(KAT_KEY, 0600);
	struct cg_policy p;
	cJSON *rec = sample(), *out = NULL;
	char why[256], *text;

	(void)state;
	policy_of(&p, k, CG_DATES_YEAR);
	p.deidentify = CG_DEID_NONE;
	assert_true(cg_policy_active(&p));
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_OK);
	text = cJSON_PrintUnformatted(out);
	assert_null(strstr(text, "MRN-004211"));
	assert_null(strstr(text, "REG-77"));
	assert_non_null(strstr(text, "HF-2024-0001"));
	assert_non_null(strstr(text, "1961-04-17"));
	/* the sample's first identifier is the known answer's */
	assert_non_null(
	        strstr(text, "c96fa0e7e0e7dfa2ad316fdd64e775f745bbc38b4b544a749d1b80ab51a68739"));
	free(text);
	cJSON_Delete(out);
	p.identity = CG_IDENTITY_KEEP;
	assert_false(cg_policy_active(&p));
	/* safe-harbor with keep is refused, not half-applied */
	p.deidentify = CG_DEID_SAFE_HARBOR;
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_EINVAL);
	assert_null(out);
	/* random without a source is refused */
	p.identity = CG_IDENTITY_RANDOM;
	p.deidentify = CG_DEID_NONE;
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_EINVAL);
	cJSON_Delete(rec);
	cg_secret_key_free(k);
}

/* An identifier too long to derive a pseudonym or code from (the message
 * is built in 4 KB; '|' and '%' take three bytes each) is the record's
 * fault: CG_EINVAL with why, refused as policy-failed, not CG_ENOMEM, which
 * the gateway answers 503 to be retried for ever. */
static enum cg_err
random_long(void *ctx, const char *registry, const char *system, const char *value,
            char out[CG_PSEUDONYM_MAX + 1])
{
	(void)ctx;
	(void)registry;
	(void)value;
	(void)out;
	return strlen(system) > 4000 ? CG_ELIMIT : CG_OK;
}

static void
too_long_an_identifier(void **state)
{
	struct cg_secret_key *k = key_of(KAT_KEY, 0600);
	struct cg_pseudonym_source src = {random_long, NULL};
	struct cg_policy p;
	cJSON *rec = sample(), *out = NULL, *id;
	char why[256], sys[2048];

	(void)state;
	memset(sys, '|', sizeof(sys) - 1);
	sys[sizeof(sys) - 1] = 0;
	memcpy(sys, "urn:", 4);
	id = cJSON_GetArrayItem(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "patient"),
	                                         "identifiers"),
	        0);
	cJSON_ReplaceItemInObjectCaseSensitive(id, "system", cJSON_CreateString(sys));
	policy_of(&p, k, CG_DATES_YEAR);
	why[0] = 0;
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_EINVAL);
	assert_null(out);
	assert_non_null(strstr(why, "too long"));
	p.deidentify = CG_DEID_NONE;
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_EINVAL);
	p.identity = CG_IDENTITY_RANDOM;
	p.random = &src;
	{
		char big[4100];

		memset(big, 's', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		memcpy(big, "urn:", 4);
		cJSON_ReplaceItemInObjectCaseSensitive(id, "system", cJSON_CreateString(big));
	}
	assert_int_equal(cg_policy_apply(&p, rec, &out, why, sizeof(why)), CG_EINVAL);
	assert_null(out);
	cJSON_Delete(rec);
	cg_secret_key_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(keyed_known_answers), cmocka_unit_test(key_files),
	        cmocka_unit_test(days_round_trip),     cmocka_unit_test(safe_harbor_year),
	        cmocka_unit_test(safe_harbor_shift),   cmocka_unit_test(over_89),
	        cmocka_unit_test(identity_only),       cmocka_unit_test(too_long_an_identifier),
	};

	if (test_tmp_setup("key"))
		return 1;
	{
		int r = cmocka_run_group_tests(tests, NULL, NULL);

		test_tmp_teardown();
		return r;
	}
}
