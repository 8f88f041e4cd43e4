/*
 * config.h: the gateway's configuration file (YAML), checked at start.
 *
 * One file, documented member by member in docs/configuration.md and
 * shown in deploy/cellgate.example.yaml. Loading it checks everything that
 * can be checked before serving: the shape (unknown and repeated keys,
 * types, codes, ranges), ${NAME} references to environment variables (for
 * secrets), that every file it names can be read (paths are relative to the
 * configuration file), and that routes name defined clients and
 * destinations. Every problem is reported with the file's line and column;
 * a configuration with any error is not used.
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include "diag.h"
#include "err.h"

struct cJSON;

struct cg_config {
	char *path;         /* the file */
	char *dir;          /* its folder: the base of relative paths */
	struct cJSON *tree; /* checked, ${NAME} expanded, paths made absolute */
};

/* Loads and checks path. Problems go into d (located: line and column in
 * the file); *out is NULL unless there was no error. Returns CG_EIO when the
 * file cannot be read, CG_ENOMEM, else CG_OK. */
enum cg_err cg_config_load(const char *path, struct cg_config **out, struct cg_diag *d);
/* The same on text already read (fuzzing, tests); dir is the base of paths. */
enum cg_err cg_config_parse(const char *text, size_t len, const char *dir, struct cg_config **out,
                            struct cg_diag *d);
void cg_config_free(struct cg_config *c);

/* A policy file for `cellgate deidentify --policy`: the YAML mapping of one
 * destination (type, registry_id, consent, identity, pseudonym_system,
 * pseudonym_key, deidentify, dates, shift_days; no url), checked as a
 * destination named "policy"; key, when not NULL, is its pseudonym_key
 * (relative to the working directory). */
enum cg_err cg_config_load_policy(const char *path, const char *key, struct cg_config **out,
                                  struct cg_diag *d);

/* An address and port for the first listener, from `cellgate serve
 * --listen`: it overrides the file's at start and at every reload, so that a
 * reload sees the same listeners as the running ones. */
struct cg_listen {
	char address[46]; /* numeric, without brackets: 127.0.0.1, ::1 */
	int port;
};

/* Parses ADDR:PORT, or [ADDR]:PORT for IPv6; ADDR is numeric (the listeners
 * take no host names). Returns 0, or -1 with *why saying what is wrong. */
int cg_listen_parse(const char *s, struct cg_listen *out, const char **why);
/* Gives c's first listener l's address and port. CG_EINVAL when c has no
 * listener, CG_ENOMEM. */
enum cg_err cg_config_listen(struct cg_config *c, const struct cg_listen *l);

#endif
