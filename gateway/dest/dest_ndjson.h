/*
 * dest_ndjson.h: the ndjson destination, files in a folder.
 *
 * Items go to one file per day (UTC) and kind: records-2026-11-22.ndjson for
 * records, Procedure-2026-11-22.ndjson and Observation-2026-11-22.ndjson for
 * the resources of FHIR Bundles (the layout of FHIR bulk data). One writer
 * thread does every write and fsync, so that the event loops never block on
 * the disk, and commits in groups: the jobs that queued while it was syncing
 * are written together and made durable with one fdatasync per file. A job
 * is done (its event made active on its loop) only after that sync. A job
 * that fails leaves its files as they were (truncated back).
 */
#ifndef CG_DEST_NDJSON_H
#define CG_DEST_NDJSON_H

#include "err.h"

#include <stdbool.h>

#include "fhir_structure.h"
#include "item.h"

struct event;

struct cg_ndjson_job {
	const char *folder;
	struct cg_batch items;
	struct event *done; /* made active (EV_WRITE) when the job is finished */
	int error;          /* 0, or an errno */
	/* the last file written, for the answer: {type}-YYYY-MM-DD.ndjson */
	char file[CG_FHIR_TYPE_NAME_MAX + sizeof("-YYYY-MM-DD.ndjson")];
	struct cg_ndjson_job *next;
};

enum cg_err cg_ndjson_start(void);
/* Queues a job; its items must stay as they are until job->done fires. */
void cg_ndjson_submit(struct cg_ndjson_job *job);
/* Finishes the queued jobs, then stops the thread. */
void cg_ndjson_stop(void);
/* Whether folder can take files now (for /readyz). */
bool cg_ndjson_is_writable(const char *folder);

#endif
