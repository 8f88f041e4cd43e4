/*
 * cli_queue.h: the `cellgate queue` subcommand: the outbox's store as an
 * operator sees it, while the gateway runs: counts per destination, lists
 * and finds messages, shows one (its body only when asked: patient data),
 * sends dead messages back to the queue and purges delivered ones.
 * The store is --store PATH, or the outbox of the configuration --config
 * FILE names (loaded and checked as `cellgate serve` loads it).
 * Exit status: 0 done, 1 not found (no such message, or it is not dead),
 * 2 usage or I/O error (a store that cannot be opened, a configuration that
 * cannot be loaded or has no outbox among them).
 * docs/operations.md ("The queue command") is the user's description.
 */
#ifndef CG_CLI_QUEUE_H
#define CG_CLI_QUEUE_H

int cg_cli_queue(int argc, char **argv);

#endif
