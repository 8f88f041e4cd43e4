/*
 * cli_queue_subcommands.h: what `cellgate queue`'s files share (internal
 * to cli/): cli_queue.c (the command: its options, the store it opens, the
 * operands checked, the subcommand run), cli_queue_read.c (stats, list,
 * find, show: what reads the store) and cli_queue_change.c (retry, purge:
 * what changes it).
 */
#ifndef CG_CLI_QUEUE_SUBCOMMANDS_H
#define CG_CLI_QUEUE_SUBCOMMANDS_H

#include <stdint.h>

#include "buf.h"
#include "cli_common.h"
#include "err.h"
#include "json_write.h"
#include "store.h"

#define EXIT_OK       0
#define EXIT_NOTFOUND 1
#define EXIT_USAGE    CG_CLI_EXIT_USAGE

/* The command line, as cli_queue.c's option tables fill it: one struct for the
 * command and its subcommands, each table naming the options it takes. */
struct args {
	const char *store, *config; /* NULL when not given */
	int format;                 /* index into formats: 0 text, 1 json */
	const char *dest, *client, *record, *tx, *before;
	int state; /* index into states, an enum cg_msg_state; -1: any */
	unsigned long long limit, after;
	int body, dead, help;
};

/* What a subcommand writes: text or one JSON document, built in a buffer
 * and written out a page at a time. */
struct out {
	int json;
	struct cg_buf b;
	struct cg_jw w;
};

/* cli_queue.c: the output, begun, written out a page at a time, ended. */
void queue_out_init(struct out *o, const struct args *a);
enum cg_err queue_out_flush(struct out *o);
int queue_out_end(struct out *o, const char *sub, int status);

/* The subcommands on the store s opened, with the operands check() read:
 * each returns the exit status (cli_queue.h). */
int queue_run_stats(struct cg_store *s, const struct args *a);
int queue_run_list(struct cg_store *s, const struct args *a);
int queue_run_find(struct cg_store *s, const struct args *a);
int queue_run_show(struct cg_store *s, const struct args *a, int64_t id);
int queue_run_retry(struct cg_store *s, const struct args *a, int64_t id);
int queue_run_purge(struct cg_store *s, const struct args *a, int64_t before);

#endif
