/*
 * record_internal.h: what the files of the record validator share
 * (record_validate.c: sections and rules across them; record_outcomes.c:
 * outcome measurements). Not a public interface.
 */
#ifndef CG_RECORD_INTERNAL_H
#define CG_RECORD_INTERNAL_H

#include "check.h"
#include "datetime.h"
#include "mappings.h"

struct cJSON;

/* Facts for rules that cross sections, and the walk's state. */
struct cg_record_walk {
	const struct cg_mappings *m;
	const struct cg_date *today;

	int has_birth;
	struct cg_date birth;
	int has_start;
	struct cg_datetime start;
	int has_weight;
	double weight;
	int pediatric;                   /* -1 absent, 0 adult, 1 pediatric */
	const struct cg_term *cell_type; /* NULL when absent or invalid */
	const struct cg_term *tissue;
	const struct cg_term *donor;
	/* Last, so that the fields above can be cleared without its 16 KB
	 * path buffer, which needs no clearing. */
	struct cg_check c; /* the walk: diagnostics and current path */
};

/* Checks /outcomes (record_outcomes.c). */
void cg_record_check_outcomes(struct cg_record_walk *v, const struct cJSON *outcomes);

#endif
