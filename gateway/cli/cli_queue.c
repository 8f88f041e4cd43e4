/* cli_queue.c: `cellgate queue`: its options, the store it opens, the
 * operands checked and the subcommand run; see cli_queue.h and
 * docs/operations.md. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "buf.h"
#include "cli_common.h"
#include "cli_queue.h"
#include "cli_queue_subcommands.h"
#include "config.h"
#include "datetime.h"
#include "json_write.h"
#include "queue_render.h"
#include "outbox.h"
#include "settings.h"
#include "store.h"

/* The store without --store or --config: relative to the working directory,
 * like the embedded configuration's paths. */
#define DEFAULT_STORE "var/outbox.db"

static const char *const formats[] = {"text", "json", NULL};
/* In the order of enum cg_msg_state, as cg_queue_render_state names them. */
static const char *const states[] = {"queued", "in-flight", "delivered", "dead", "withdrawn", NULL};

#define OPT_STORE                                                                                  \
	{                                                                                          \
		"store", 's', CG_CLI_STRING, offsetof(struct args, store), "PATH",                 \
		        "the outbox's SQLite file (default\n" DEFAULT_STORE ")", 0, 0, NULL        \
	}
#define OPT_CONFIG                                                                                 \
	{                                                                                          \
		"config", 0, CG_CLI_STRING, offsetof(struct args, config), "FILE",                 \
		        "the store of this configuration's outbox\n"                               \
		        "(loaded as cellgate serve loads it)",                                     \
		        0, 0, NULL                                                                 \
	}
#define OPT_FORMAT                                                                                 \
	{                                                                                          \
		"format", 'f', CG_CLI_CHOICE, offsetof(struct args, format), NULL,                 \
		        "text, or one JSON document", 0, 0, formats                                \
	}
#define OPT_HELP                                                                                   \
	{                                                                                          \
		"help", 'h', CG_CLI_FLAG, offsetof(struct args, help), NULL, "this text", 0, 0,    \
		        NULL                                                                       \
	}
#define OPT_END                                                                                    \
	{                                                                                          \
		NULL, 0, CG_CLI_FLAG, 0, NULL, NULL, 0, 0, NULL                                    \
	}

static const struct cg_cli_opt head_opts[] = {OPT_STORE, OPT_CONFIG, OPT_FORMAT, OPT_HELP, OPT_END};

static const struct cg_cli_cmd head_cmd = {
        "cellgate queue",
        "[--store PATH] [--format text|json] SUBCOMMAND [options]\n"
        "--config FILE [--format text|json] SUBCOMMAND [options]",
        "The outbox: the messages the gateway has acknowledged and delivers, in\n"
        "its SQLite file. Works while the gateway runs. Subcommands (each has --help):\n"
        "  stats                         messages per destination and state\n"
        "  list [--dest D] [--state S]   a line per message, oldest first (no bodies)\n"
        "  show ID [--body]              one message; its body (patient data) only\n"
        "                                with --body\n"
        "  find --record ID | --tx TXID  the messages of a record or a transaction\n"
        "  retry ID | --dead [--dest D]  dead messages back to the queue\n"
        "  purge --delivered-before DATE delete delivered messages\n"
        "The store is --store PATH, or the outbox of the configuration --config\n"
        "FILE (its outbox.path, var/outbox.db beside it by default), or else\n"
        "var/outbox.db in the working directory.\n"
        "Exit status: 0 done, 1 no such message (or, for retry, not dead), 2 usage\n"
        "or I/O error, no store at the path, or a configuration that has errors or\n"
        "no outbox.\n",
        head_opts,
};

static const struct cg_cli_opt stats_opts[] = {OPT_STORE, OPT_CONFIG, OPT_FORMAT, OPT_HELP,
                                               OPT_END};
static const struct cg_cli_cmd stats_cmd = {
        "cellgate queue stats",
        "[options]",
        "Per destination and in total: how many messages are queued, in flight,\n"
        "delivered, dead and withdrawn (consent), and how long the oldest waiting one (queued or "
        "in\n"
        "flight) has waited, in seconds.\n",
        stats_opts,
};

static const struct cg_cli_opt list_opts[] = {
        OPT_STORE,
        OPT_CONFIG,
        OPT_FORMAT,
        {"dest", 'd', CG_CLI_STRING, offsetof(struct args, dest), "NAME",
         "only this destination's messages", 0, 0, NULL},
        {"state", 0, CG_CLI_CHOICE, offsetof(struct args, state), NULL, "only those in this state",
         0, 0, states},
        {"client", 'c', CG_CLI_STRING, offsetof(struct args, client), "NAME",
         "only those this client sent", 0, 0, NULL},
        {"limit", 'n', CG_CLI_NUMBER, offsetof(struct args, limit), "N",
         "at most N messages (0: all)", 0, 1000000000, NULL},
        {"after", 0, CG_CLI_NUMBER, offsetof(struct args, after), "ID",
         "only those after message ID (the next page)", 0, INT64_MAX, NULL},
        OPT_HELP,
        OPT_END,
};
static const struct cg_cli_cmd list_cmd = {
        "cellgate queue list",
        "[options]",
        "A line per message, oldest first, tab-separated under a header: id, state,\n"
        "destination, type, record id, attempts, accepted (UTC), last upstream\n"
        "status, reason. Never the body.\n"
        "When more messages match than --limit, standard error says how to get the\n"
        "next page (--after).\n",
        list_opts,
};

static const struct cg_cli_opt show_opts[] = {
        OPT_STORE,
        OPT_CONFIG,
        OPT_FORMAT,
        {"body", 'b', CG_CLI_FLAG, offsetof(struct args, body), NULL,
         "the body too: it is patient data, shown\nonly when asked", 0, 0, NULL},
        OPT_HELP,
        OPT_END,
};
static const struct cg_cli_cmd show_cmd = {
        "cellgate queue show",
        "ID [--body]",
        "Every field of one message, the upstream's answer to a dead one among\n"
        "them. The body is patient data: without --body only its size is shown.\n"
        "Exit status 1 when there is no such message.\n",
        show_opts,
};

static const struct cg_cli_opt find_opts[] = {
        OPT_STORE,
        OPT_CONFIG,
        OPT_FORMAT,
        {"record", 'r', CG_CLI_STRING, offsetof(struct args, record), "ID",
         "the messages of this record id", 0, 0, NULL},
        {"tx", 't', CG_CLI_STRING, offsetof(struct args, tx), "TXID",
         "the messages of this transaction (request)", 0, 0, NULL},
        OPT_HELP,
        OPT_END,
};
static const struct cg_cli_cmd find_cmd = {
        "cellgate queue find",
        "--record ID\n--tx TXID",
        "The messages of a record or of a transaction (both: of both), as list\n"
        "prints them. Exit status 1 when there is none.\n",
        find_opts,
};

static const struct cg_cli_opt retry_opts[] = {
        OPT_STORE,
        OPT_CONFIG,
        OPT_FORMAT,
        {"dead", 0, CG_CLI_FLAG, offsetof(struct args, dead), NULL, "every dead message", 0, 0,
         NULL},
        {"dest", 'd', CG_CLI_STRING, offsetof(struct args, dest), "NAME",
         "with --dead: only this destination's", 0, 0, NULL},
        OPT_HELP,
        OPT_END,
};
static const struct cg_cli_cmd retry_cmd = {
        "cellgate queue retry",
        "ID\n--dead [--dest NAME]",
        "Sends dead messages back to the queue, due now, their attempts at 0 and\n"
        "their outcome cleared; the messages of the same key waiting behind one\n"
        "follow it again. Prints how many. Exit status 1 when message ID does not\n"
        "exist or is not dead.\n",
        retry_opts,
};

static const struct cg_cli_opt purge_opts[] = {
        OPT_STORE,
        OPT_CONFIG,
        OPT_FORMAT,
        {"delivered-before", 0, CG_CLI_STRING, offsetof(struct args, before), "DATE",
         "(required) YYYY-MM-DD (midnight UTC), a\n"
         "date-time (2026-01-31T12:00:00Z), or an\n"
         "age in days (7d: delivered over 7 days ago)",
         0, 0, NULL},
        OPT_HELP,
        OPT_END,
};
static const struct cg_cli_cmd purge_cmd = {
        "cellgate queue purge",
        "--delivered-before DATE",
        "Deletes the messages delivered before DATE, a few hundred per transaction\n"
        "so that the gateway is never held up. Prints how many. Queued, in-flight\n"
        "and dead messages are never deleted. The file does not shrink: SQLite\n"
        "reuses the space.\n",
        purge_opts,
};

void
queue_out_init(struct out *o, const struct args *a)
{
	o->json = a->format == 1;
	cg_buf_init(&o->b, CG_BUF_MAX_ITEMS);
	cg_jw_init(&o->w, &o->b);
}

/* Writes what the buffer holds, and empties it. */
enum cg_err
queue_out_flush(struct out *o)
{
	enum cg_err err = o->w.err;

	if (!err && o->b.len && fwrite(o->b.p, 1, o->b.len, stdout) != o->b.len)
		err = CG_EIO;
	cg_buf_reset(&o->b);
	return err;
}

/* The end of a subcommand's output: the last of it written and flushed;
 * EXIT_USAGE (with why) when something could not be. */
int
queue_out_end(struct out *o, const char *sub, int status)
{
	enum cg_err err = CG_OK;

	if (o->json && !o->w.err)
		err = cg_buf_addc(&o->b, '\n');
	if (!err)
		err = queue_out_flush(o);
	cg_buf_free(&o->b);
	if (!err && (fflush(stdout) != 0 || ferror(stdout)))
		err = CG_EIO;
	if (err) {
		fprintf(stderr, "cellgate queue %s: writing output: %s\n", sub,
		        err == CG_EIO ? strerror(errno) : cg_strerror(err));
		return EXIT_USAGE;
	}
	return status;
}

/* The store that configuration file names in *path (to free): its outbox's
 * path, absolute. The configuration is loaded and checked as `cellgate serve`
 * loads it (its ${NAME} variables set, the files it names readable): the
 * store is the one a gateway serving that file uses, and a file the gateway
 * would refuse names none.
 * EXIT_USAGE, with why, when it cannot be loaded, has errors (printed as
 * --check-config prints them) or has no outbox: no queue-mode destination
 * and no outbox key. */
static int
config_store(const char *file, const char *sub, char **path)
{
	struct cg_config *cfg = NULL;
	struct cg_settings *st = NULL;
	char who[64];
	int status = EXIT_USAGE;

	*path = NULL;
	snprintf(who, sizeof(who), "cellgate queue %s", sub);
	if (cg_cli_load_config(who, file, &cfg) == 1)
		fprintf(stderr, "%s: %s: the configuration has errors\n", who, file);
	if (!cfg)
		goto done;
	st = cg_settings_from(cfg);
	if (!st) {
		fprintf(stderr, "cellgate queue %s: %s: %s\n", sub, file, cg_strerror(CG_ENOMEM));
		goto done;
	}
	if (!st->outbox.path) {
		fprintf(stderr,
		        "cellgate queue %s: %s has no store: no destination is in queue mode "
		        "and there is no outbox key\n",
		        sub, file);
		goto done;
	}
	{
		char why[512];

		if (cg_outbox_store_options(&st->outbox, why, sizeof(why))) {
			fprintf(stderr, "cellgate queue %s: %s\n", sub, why);
			goto done;
		}
	}
	*path = strdup(st->outbox.path);
	if (!*path) {
		fprintf(stderr, "cellgate queue %s: %s\n", sub, cg_strerror(CG_ENOMEM));
		goto done;
	}
	status = EXIT_OK;
done:
	cg_settings_free(st);
	cg_config_free(cfg);
	return status;
}

static struct cg_store *
open_store(const char *path, const char *sub)
{
	struct cg_store *s;
	char why[512];

	if (cg_store_open_existing(path, &s, why, sizeof(why)) != CG_OK) {
		fprintf(stderr, "cellgate queue %s: %s\n", sub, why);
		return NULL;
	}
	return s;
}

/* A message id operand: a positive decimal number. */
static int
parse_id(const char *cmd, const char *s, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = *s >= '0' && *s <= '9' ? strtoll(s, &end, 10) : 0;
	if (v <= 0 || errno || *end) {
		fprintf(stderr, "%s: %s is not a message id (a number from 1)\n", cmd, s);
		return -1;
	}
	*id = v;
	return 0;
}

/* Says that the operands do not fit the subcommand, and how they would. */
static int
bad_usage(const struct cg_cli_cmd *cmd, const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s%s\n", cmd->name, what, arg ? arg : "");
	fprintf(stderr, "'%s --help' describes it.\n", cmd->name);
	return EXIT_USAGE;
}

/* DATE as --delivered-before takes it, in Unix milliseconds: -1 when it is
 * none of its forms. */
static int64_t
parse_before(const char *s, int64_t now)
{
	struct cg_datetime dt;
	size_t len = strlen(s), digits = strspn(s, "0123456789");

	if (len >= 2 && len <= 7 && digits == len - 1 && s[len - 1] == 'd')
		return now - strtoll(s, NULL, 10) * 86400000;
	if (cg_date_or_datetime_parse(s, &dt) != 0)
		return -1;
	return (int64_t)cg_date_days(&dt.date) * 86400000 +
	       ((int64_t)dt.hour * 3600 + dt.minute * 60 + dt.second) * 1000 + dt.nanos / 1000000 -
	       (int64_t)dt.offset_minutes * 60000;
}

/* --- the command --- */

static const struct {
	const char *name;
	const struct cg_cli_cmd *cmd;
} subs[] = {
        {"stats", &stats_cmd}, {"list", &list_cmd},   {"show", &show_cmd},
        {"find", &find_cmd},   {"retry", &retry_cmd}, {"purge", &purge_cmd},
};

/* Checks a subcommand's operands before anything is opened: a usage error
 * is one whether or not the store is there. */
static int
check(const char *name, const struct cg_cli_cmd *cmd, const struct args *a, int nops, char **ops,
      int64_t *id, int64_t *before)
{
	if (strcmp(name, "show") == 0 || (strcmp(name, "retry") == 0 && !a->dead)) {
		if (nops != 1)
			return bad_usage(
			        cmd, nops ? "one message id, not several" : "which message?", NULL);
		if (parse_id(cmd->name, ops[0], id))
			return EXIT_USAGE;
		if (a->dest)
			return bad_usage(cmd, "--dest goes with --dead", NULL);
		return EXIT_OK;
	}
	if (nops)
		return bad_usage(cmd, "unexpected argument ", ops[0]);
	if (strcmp(name, "find") == 0 && !a->record && !a->tx)
		return bad_usage(cmd, "--record ID or --tx TXID is required", NULL);
	if (strcmp(name, "purge") == 0) {
		if (!a->before)
			return bad_usage(cmd, "--delivered-before DATE is required", NULL);
		*before = parse_before(a->before, cg_clock_wall_ms());
		if (*before < 0)
			return bad_usage(cmd,
			                 "--delivered-before: not YYYY-MM-DD, a date-time with "
			                 "its offset (2026-01-31T12:00:00Z) or days (7d): ",
			                 a->before);
	}
	return EXIT_OK;
}

int
cg_cli_queue(int argc, char **argv)
{
	const struct cg_cli_cmd *cmd = NULL;
	const char *sub = NULL;
	struct cg_store *s;
	struct args a;
	char *from_config = NULL;
	int64_t id = 0, before = 0;
	int first, next, status;
	size_t i;

	memset(&a, 0, sizeof(a));
	a.state = -1;
	a.limit = 100;
	if (cg_cli_parse_head(&head_cmd, argc, argv, &a, &first))
		return EXIT_USAGE;
	if (a.help) {
		cg_cli_usage(stdout, &head_cmd, &a);
		return EXIT_OK;
	}
	if (first >= argc) {
		fprintf(stderr, "cellgate queue: which subcommand?\n");
		cg_cli_usage(stderr, &head_cmd, NULL);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[first], subs[i].name) == 0) {
			sub = subs[i].name;
			cmd = subs[i].cmd;
		}
	if (!cmd) {
		fprintf(stderr, "cellgate queue: unknown subcommand '%s'\n", argv[first]);
		fprintf(stderr, "'cellgate queue --help' lists them.\n");
		return EXIT_USAGE;
	}
	if (cg_cli_parse(cmd, argc - first, argv + first, &a, &next))
		return EXIT_USAGE;
	if (a.help) {
		cg_cli_usage(stdout, cmd, &a);
		return EXIT_OK;
	}
	if (a.store && a.config)
		return bad_usage(cmd, "--store and --config both say where the store is: give one",
		                 NULL);
	status = check(sub, cmd, &a, argc - first - next, argv + first + next, &id, &before);
	if (status)
		return status;
	if (a.config && config_store(a.config, sub, &from_config))
		return EXIT_USAGE;
	s = open_store(from_config ? from_config : a.store ? a.store : DEFAULT_STORE, sub);
	free(from_config);
	if (!s)
		return EXIT_USAGE;
	if (cmd == &stats_cmd)
		status = queue_run_stats(s, &a);
	else if (cmd == &list_cmd)
		status = queue_run_list(s, &a);
	else if (cmd == &show_cmd)
		status = queue_run_show(s, &a, id);
	else if (cmd == &find_cmd)
		status = queue_run_find(s, &a);
	else if (cmd == &retry_cmd)
		status = queue_run_retry(s, &a, id);
	else
		status = queue_run_purge(s, &a, before);
	cg_store_close(s);
	return status;
}
