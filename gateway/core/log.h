/*
 * log.h: JSON-lines logs on standard error, and the audit log.
 *
 * Log lines are for operators: what the gateway did and why, never a value
 * from a request body (no names, identifiers, dates or free text: messages
 * are cellgate's own words, codes from closed lists and numbers). The audit
 * log is one JSON line per request (time, request id, client identity,
 * route, record ids, outcome) appended to its own file; record ids are the
 * registry's pseudonymous keys, the one thing from a body it keeps.
 */
#ifndef CG_LOG_H
#define CG_LOG_H

#include "err.h"

enum cg_level { CG_LOG_DEBUG, CG_LOG_INFO, CG_LOG_WARN, CG_LOG_ERROR };

void cg_log_set_level(int level);
/* One line: {"time":...,"level":...,"msg":...}; the message is escaped. */
void cg_log(enum cg_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line that a client can cause (a refused handshake, a connection cut at
 * its deadline) goes through a limiter, so that a flood of them cannot
 * flood the log: at most CG_LOG_LIMIT_PER_SECOND lines a second per
 * limiter; the next line written says how many were left out. Counting
 * them all is the metrics' job. Zero-initialised; shared by threads. */
#define CG_LOG_LIMIT_PER_SECOND 10
struct cg_log_limit {
	_Atomic long long second;
	_Atomic unsigned lines;
	_Atomic unsigned long dropped;
};
void cg_log_limited(struct cg_log_limit *lim, enum cg_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Opens (or reopens, after rotation) the audit log; NULL closes it. CG_EIO on
 * failure, with errno set. */
enum cg_err cg_audit_open(const char *path);
/* Appends one line (a JSON object, without the newline) in one write. */
void cg_audit_write(const char *line, unsigned long len);
/* The current UTC time as 2026-11-22T10:04:05.123Z (buf of 32 bytes). */
void cg_log_time(char *buf);

#endif
