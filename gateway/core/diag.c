/* diag.c: the diagnostics list and the table of stable issue codes. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"

struct code_info {
	const char *name;
	enum cg_severity sev;
	const char *fhir_type;
	const char *summary;
};

/* Indexed by enum cg_code. The names are public: never rename one. */
static const struct code_info codes[CG_C__COUNT] = {
        [CG_C_JSON_SYNTAX] =
                {"json-syntax", CG_SEV_ERROR, "structure",
                 "the text is not JSON (RFC 8259), or not the expected top-level shape"},
        [CG_C_JSON_ENCODING] = {"json-encoding", CG_SEV_ERROR, "structure",
                                "invalid UTF-8, or a \\u escape that is a lone surrogate"},
        [CG_C_JSON_NUL_CHAR] = {"json-nul-char", CG_SEV_ERROR, "structure",
                                "a \\u0000 escape in a string or member name"},
        [CG_C_JSON_DEPTH] = {"json-depth", CG_SEV_ERROR, "too-costly",
                             "objects and arrays nested deeper than the limit"},
        [CG_C_JSON_TOO_LARGE] = {"json-too-large", CG_SEV_ERROR, "too-costly",
                                 "one record is larger than the record size limit"},
        [CG_C_JSON_STRING_TOO_LONG] = {"json-string-too-long", CG_SEV_ERROR, "too-long",
                                       "a string or number is longer than the limit"},
        [CG_C_JSON_DUPLICATE_KEY] = {"json-duplicate-key", CG_SEV_ERROR, "structure",
                                     "the same member name twice in one object"},
        [CG_C_JSON_NUMBER_RANGE] = {"json-number-range", CG_SEV_ERROR, "value",
                                    "a number too large to represent (such as 1e400)"},
        [CG_C_EMPTY_INPUT] = {"empty-input", CG_SEV_ERROR, "required",
                              "the input holds no record at all"},
        [CG_C_REQUIRED] = {"required", CG_SEV_ERROR, "required",
                           "a required member is missing (or conditionally required)"},
        [CG_C_UNKNOWN_FIELD] = {"unknown-field", CG_SEV_ERROR, "structure",
                                "a member the contract does not define (often a typo)"},
        [CG_C_TYPE] = {"type", CG_SEV_ERROR, "structure", "a value of the wrong JSON type"},
        [CG_C_ENUM] = {"enum", CG_SEV_ERROR, "code-invalid",
                       "a code that is not in the member's list"},
        [CG_C_PATTERN] = {"pattern", CG_SEV_ERROR, "value",
                          "a string that does not have the required form"},
        [CG_C_RANGE] = {"range", CG_SEV_ERROR, "value", "a number outside its allowed range"},
        [CG_C_INTEGER] = {"integer", CG_SEV_ERROR, "value", "a number that must be a whole number"},
        [CG_C_EMPTY] = {"empty", CG_SEV_ERROR, "required",
                        "an empty string or array where content is required"},
        [CG_C_DATE] = {"date", CG_SEV_ERROR, "value",
                       "not a real calendar date written YYYY-MM-DD"},
        [CG_C_DATETIME] = {"datetime", CG_SEV_ERROR, "value",
                           "not an RFC 3339 date-time with a UTC offset"},
        [CG_C_URI] = {"uri", CG_SEV_ERROR, "value",
                      "not an absolute URI (or a malformed urn:oid / urn:uuid)"},
        [CG_C_SNOMED_CHECK] = {"snomed-check", CG_SEV_ERROR, "value",
                               "a SNOMED CT identifier whose check digit is wrong"},
        [CG_C_DUPLICATE_ITEM] = {"duplicate-item", CG_SEV_ERROR, "business-rule",
                                 "the same entry twice in a list"},
        [CG_C_DUPLICATE_ID] = {"duplicate-id", CG_SEV_ERROR, "business-rule",
                               "two outcomes with the same id"},
        [CG_C_UNIT] = {"unit", CG_SEV_ERROR, "code-invalid",
                       "a unit other than the measure's UCUM unit"},
        [CG_C_NOT_ALLOWED] = {"not-allowed", CG_SEV_ERROR, "business-rule",
                              "a member that the rules forbid in this context"},
        [CG_C_ICD10CM_CATEGORY] = {"icd10cm-category", CG_SEV_ERROR, "business-rule",
                                   "the ICD-10-CM code does not belong to the indication category"},
        [CG_C_IPSC_SOURCE] = {"ipsc-source", CG_SEV_ERROR, "business-rule",
                              "tissueSource ipsc without cellType ipsc-derived, or the reverse"},
        [CG_C_HLA_DONOR] = {"hla-donor", CG_SEV_ERROR, "business-rule",
                            "hlaMatch given for an autologous or syngeneic donor"},
        [CG_C_HLA_COUNTS] = {"hla-counts", CG_SEV_ERROR, "business-rule",
                             "more HLA loci matched than evaluated"},
        [CG_C_DATE_ORDER] = {"date-order", CG_SEV_ERROR, "business-rule",
                             "dates out of order (birth, diagnosis, collection, administration)"},
        [CG_C_FUTURE_DATE] = {"future-date", CG_SEV_ERROR, "business-rule",
                              "a date that lies in the future"},
        [CG_C_AGE_LIMIT] = {"age-limit", CG_SEV_ERROR, "business-rule",
                            "age at administration over 120 years"},
        [CG_C_POPULATION_AGE] = {"population-age", CG_SEV_ERROR, "business-rule",
                                 "population pediatric/adult disagrees with age at administration"},
        [CG_C_DOSE_KIND] = {"dose-kind", CG_SEV_ERROR, "business-rule",
                            "dose members that do not fit the product (cells vs. vesicles)"},
        [CG_C_VALUE_ABSENT] = {"value-absent", CG_SEV_ERROR, "business-rule",
                               "an outcome needs exactly one of value and dataAbsentReason"},
        [CG_C_MACE_EVENTS] = {"mace-events", CG_SEV_ERROR, "business-rule",
                              "MACE events listed while the MACE value is false"},
        [CG_C_MANIPULATION_CONFLICT] = {"manipulation-conflict", CG_SEV_ERROR, "business-rule",
                                        "manipulation lists none together with a manipulation"},
        [CG_C_VITAL_STATUS] = {"vital-status", CG_SEV_ERROR, "business-rule",
                               "causeOfDeath given while the patient is not dead"},
        [CG_C_PEDIATRIC_DOSE] = {"pediatric-dose", CG_SEV_WARNING, "business-rule",
                                 "pediatric dose given as cellsTotal only, without weightKg"},
        [CG_C_DOSE_MISMATCH] = {"dose-mismatch", CG_SEV_WARNING, "business-rule",
                                "cellsTotal and cellsPerKg x weightKg differ by more than 5 %"},
        [CG_C_NOT_APPLICABLE] = {"not-applicable", CG_SEV_WARNING, "business-rule",
                                 "a member that has no meaning here and will be ignored"},
        [CG_C_DAYS_MISMATCH] =
                {"days-mismatch", CG_SEV_WARNING, "business-rule",
                 "daysFromAdministration disagrees with the dates by more than a day"},
        [CG_C_FHIR_RESOURCE_TYPE] = {"fhir-resource-type", CG_SEV_ERROR, "structure",
                                     "resourceType missing, unknown, abstract or not allowed here"},
        [CG_C_FHIR_CARDINALITY] = {"fhir-cardinality", CG_SEV_ERROR, "structure",
                                   "an array where one value belongs, or the reverse, or too many"},
        [CG_C_FHIR_CHOICE] = {"fhir-choice", CG_SEV_ERROR, "structure",
                              "more than one type given for a choice element value[x]"},
        [CG_C_FHIR_FORMAT] =
                {"fhir-format", CG_SEV_ERROR, "value",
                 "a primitive value not in its FHIR format (id, code, date, instant...)"},
        [CG_C_FHIR_BINDING] = {"fhir-binding", CG_SEV_ERROR, "code-invalid",
                               "a code outside the value set of a required binding"},
        [CG_C_FHIR_REFERENCE] = {"fhir-reference", CG_SEV_ERROR, "invalid",
                                 "a malformed reference, a wrong target type, or one a Bundle "
                                 "does not resolve as it must"},
        [CG_C_FHIR_BUNDLE] = {"fhir-bundle", CG_SEV_ERROR, "invariant",
                              "a Bundle rule broken (fullUrl, identities, request, response, "
                              "search, total, an entry orphaned in a document)"},
        [CG_C_FHIR_INVARIANT] = {"fhir-invariant", CG_SEV_ERROR, "invariant",
                                 "an R4 core invariant broken (obs-6, dom-2, ele-1...)"},
        [CG_C_FHIR_INVARIANT_WARNING] = {"fhir-invariant-warning", CG_SEV_WARNING, "invariant",
                                         "an R4 core invariant of warning severity not "
                                         "met (dom-6: no narrative)"},
        [CG_C_MAP_MISSING] = {"map-missing", CG_SEV_ERROR, "incomplete",
                              "a record member that nothing in the FHIR input carries"},
        [CG_C_MAP_UNMAPPABLE] = {"map-unmappable", CG_SEV_ERROR, "not-supported",
                                 "FHIR content with no equivalent in the record"},
        [CG_C_NOT_STORABLE] = {"not-storable", CG_SEV_ERROR, "not-supported",
                               "a Bundle, or an entry, that a file destination would not store"},
        [CG_C_CONSENT_REQUIRED] = {"consent-required", CG_SEV_ERROR, "business-rule",
                                   "the destination takes a record only with the patient's "
                                   "research consent for its registry"},
        [CG_C_BUNDLE_TOO_LARGE] = {"bundle-too-large", CG_SEV_ERROR, "too-costly",
                                   "a Bundle the destination's caps (max_entries, "
                                   "max_observations) cannot be cut to"},
        [CG_C_POLICY_FAILED] = {"policy-failed", CG_SEV_ERROR, "processing",
                                "the destination's identity or de-identification policy "
                                "could not be applied to the item"},
        [CG_C_CONFIG_SYNTAX] = {"config-syntax", CG_SEV_ERROR, "structure",
                                "the configuration is not valid YAML (or uses aliases or tags)"},
        [CG_C_CONFIG_ENV] =
                {"config-env", CG_SEV_ERROR, "required",
                 "a ${NAME} without a default whose variable is not set, or a malformed one"},
        [CG_C_CONFIG_FILE] = {"config-file", CG_SEV_ERROR, "not-found",
                              "a file the configuration names cannot be read"},
        [CG_C_CONFIG_REFERENCE] = {"config-reference", CG_SEV_ERROR, "business-rule",
                                   "a route names a client or destination that is not defined"},
        [CG_C_FHIR_NARRATIVE] = {"fhir-narrative", CG_SEV_ERROR, "invalid",
                                 "narrative XHTML that is not well-formed, not a <div> in the "
                                 "XHTML namespace, empty, or holds elements, attributes or URLs "
                                 "R4 does not allow (script, on*, javascript:...)"},
        [CG_C_FHIR_NARRATIVE_WARNING] = {"fhir-narrative-warning", CG_SEV_WARNING, "invalid",
                                         "narrative that breaks a SHOULD of R4: an image from "
                                         "outside the resource (not data: or #id)"},
        [CG_C_FHIR_REFERENCE_UNRESOLVED] = {"fhir-reference-unresolved", CG_SEV_WARNING,
                                            "not-found",
                                            "a urn:uuid:/urn:oid: reference that no entry of "
                                            "the Bundle has (outside a transaction)"},
        [CG_C_FHIR_ATTACHMENT] = {"fhir-attachment", CG_SEV_ERROR, "invalid",
                                  "an Attachment whose size or hash disagrees with its data"},
        [CG_C_FHIR_BUNDLE_WARNING] = {"fhir-bundle-warning", CG_SEV_WARNING, "informational",
                                      "an entry of a message that nothing links to from the "
                                      "MessageHeader, or of a document that only links back "
                                      "to the Composition's"},
        [CG_C_TOO_MANY_ISSUES] =
                {"too-many-issues", CG_SEV_INFO, "too-costly",
                 "more issues than the per-record limit; the rest are counted only"},
};

const char *
cg_code_name(enum cg_code code)
{
	return (unsigned)code < CG_C__COUNT ? codes[code].name : "unknown";
}

enum cg_severity
cg_code_severity(enum cg_code code)
{
	return (unsigned)code < CG_C__COUNT ? codes[code].sev : CG_SEV_ERROR;
}

const char *
cg_code_fhir_type(enum cg_code code)
{
	return (unsigned)code < CG_C__COUNT ? codes[code].fhir_type : "exception";
}

const char *
cg_code_summary(enum cg_code code)
{
	return (unsigned)code < CG_C__COUNT ? codes[code].summary : "";
}

const char *
cg_severity_name(enum cg_severity sev)
{
	switch (sev) {
	case CG_SEV_ERROR:
		return "error";
	case CG_SEV_WARNING:
		return "warning";
	case CG_SEV_INFO:
		return "information";
	}
	return "error";
}

void
cg_diag_init(struct cg_diag *d, size_t max_issues)
{
	memset(d, 0, sizeof(*d));
	d->max = max_issues;
	d->heap_ok = 1;
}

void
cg_diag_reset(struct cg_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].message);
	}
	d->n = 0;
	d->errors = 0;
	d->warnings = 0;
	d->dropped = 0;
	d->late = 0;
	d->late_rank = 0;
	d->added = 0;
	d->nheap = 0;
	d->heap_ok = 1;
}

void
cg_diag_free(struct cg_diag *d)
{
	cg_diag_reset(d);
	free(d->v);
	d->v = NULL;
	d->cap = 0;
	free(d->heap);
	d->heap = NULL;
	d->heap_cap = 0;
}

enum cg_err
cg_diag_add(struct cg_diag *d, enum cg_code code, const char *path, const void *node, int at_key,
            const char *fmt, ...)
{
	va_list ap;
	enum cg_err result;

	va_start(ap, fmt);
	result = cg_diag_vadd(d, code, path, node, at_key, fmt, ap);
	va_end(ap);
	return result;
}

#define LATE_BIT ((size_t)1 << (sizeof(size_t) * 8 - 1))

/* Whether late issue x is kept before late issue y (diag.h). */
static int
late_before(const struct cg_issue *x, const struct cg_issue *y)
{
	return x->rank != y->rank ? x->rank < y->rank : x->seq < y->seq;
}

/* The heap of kept late issues (diag.h): heap[k]'s issue goes after its
 * children's. */
static int
heap_above(const struct cg_diag *d, size_t a, size_t b)
{
	return late_before(&d->v[d->heap[b]], &d->v[d->heap[a]]);
}

static void
heap_swap(struct cg_diag *d, size_t a, size_t b)
{
	size_t t = d->heap[a];

	d->heap[a] = d->heap[b];
	d->heap[b] = t;
}

static void
heap_down(struct cg_diag *d, size_t k)
{
	for (;;) {
		size_t l = 2 * k + 1, r = l + 1, top = k;

		if (l < d->nheap && heap_above(d, l, top))
			top = l;
		if (r < d->nheap && heap_above(d, r, top))
			top = r;
		if (top == k)
			return;
		heap_swap(d, k, top);
		k = top;
	}
}

static void
heap_up(struct cg_diag *d, size_t k)
{
	while (k > 0 && heap_above(d, k, (k - 1) / 2)) {
		heap_swap(d, k, (k - 1) / 2);
		k = (k - 1) / 2;
	}
}

static int
heap_reserve(struct cg_diag *d, size_t n)
{
	size_t cap = d->heap_cap ? d->heap_cap : 8;
	size_t *h;

	if (n <= d->heap_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	h = realloc(d->heap, cap * sizeof(*h));
	if (!h)
		return -1;
	d->heap = h;
	d->heap_cap = cap;
	return 0;
}

/* The heap again from v, after a sort moved the issues. */
static int
heap_rebuild(struct cg_diag *d)
{
	size_t i;

	if (heap_reserve(d, d->n))
		return -1;
	d->nheap = 0;
	for (i = 0; i < d->n; i++)
		if (d->v[i].seq & LATE_BIT)
			d->heap[d->nheap++] = i;
	for (i = d->nheap / 2; i-- > 0;)
		heap_down(d, i);
	d->heap_ok = 1;
	return 0;
}

/* Past max: the place of the kept issue the new one (late or not, at
 * d->late_rank) takes, or -1 when the new one is dropped (diag.h). */
static long
displaced(struct cg_diag *d)
{
	struct cg_issue probe;

	if (!d->heap_ok && heap_rebuild(d))
		return -1; /* out of memory: keep what is kept */
	if (!d->nheap)
		return -1; /* every kept issue goes before the new one */
	if (d->late) {
		probe.rank = d->late_rank;
		probe.seq = d->added | LATE_BIT;
		if (!late_before(&probe, &d->v[d->heap[0]]))
			return -1;
	}
	return (long)d->heap[0];
}

enum cg_err
cg_diag_vadd(struct cg_diag *d, enum cg_code code, const char *path, const void *node, int at_key,
             const char *fmt, va_list ap)
{
	struct cg_issue *is;
	struct cg_buf msg;
	char *path_copy, *message;
	long out = -1;
	enum cg_err result;

	switch (cg_code_severity(code)) {
	case CG_SEV_ERROR:
		d->errors++;
		break;
	case CG_SEV_WARNING:
		d->warnings++;
		break;
	case CG_SEV_INFO:
		break;
	}
	if (d->n >= d->max) {
		d->dropped++;
		if ((out = displaced(d)) < 0) {
			d->added++;
			return CG_OK;
		}
	} else if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct cg_issue *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return CG_ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	if (out < 0 && d->late && heap_reserve(d, d->nheap + 1))
		return CG_ENOMEM;
	/* everything that can fail before anything kept changes */
	cg_buf_init(&msg, CG_BUF_MAX_MESSAGE);
	result = cg_buf_vprintf(&msg, fmt, ap);
	if (result)
		return result == CG_ENOMEM ? CG_ENOMEM : CG_OK;
	path_copy = strdup(path ? path : "");
	message = path_copy ? cg_buf_take(&msg) : NULL;
	if (!message) {
		free(path_copy);
		cg_buf_free(&msg);
		return CG_ENOMEM;
	}
	if (out >= 0) {
		/* the kept late issue that went last is dropped instead: its
		 * place is the heap's top, which the new issue takes (late) or
		 * leaves (not late) */
		is = &d->v[out];
		free(is->path);
		free(is->message);
		if (!d->late)
			d->heap[0] = d->heap[--d->nheap];
	} else {
		is = &d->v[d->n++];
		if (d->late)
			d->heap[d->nheap++] = (size_t)(is - d->v);
	}
	memset(is, 0, sizeof(*is));
	is->code = code;
	is->seq = d->added++ | (d->late ? LATE_BIT : 0);
	is->rank = d->late ? d->late_rank : 0;
	is->node = node;
	is->at_key = at_key;
	is->path = path_copy;
	is->message = message;
	if (d->heap_ok) {
		if (out >= 0)
			heap_down(d, 0);
		else if (d->late)
			heap_up(d, d->nheap - 1);
	}
	return CG_OK;
}

static int
issue_cmp(const void *a, const void *b)
{
	const struct cg_issue *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	/* qsort is not stable: equal offsets keep the order of insertion. */
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void
cg_diag_sort(struct cg_diag *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(d->v[0]), issue_cmp);
	d->heap_ok = 0; /* the places changed: rebuilt when next needed */
}

bool
cg_diag_is_valid(const struct cg_diag *d)
{
	return d->errors == 0;
}
