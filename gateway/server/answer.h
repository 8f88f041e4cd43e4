/*
 * answer.h: the envelope of the gateway's answers, apart from sockets: the
 * status line's reason, the FHIR issue type a refusal carries, and which
 * statuses invite a retry. Upstream statuses are passed back as they are, so
 * the reasons cover every status RFC 9110 (and RFC 6585) names, not only the
 * gateway's own.
 */
#ifndef CG_ANSWER_H
#define CG_ANSWER_H

#include <stdbool.h>

/* "Not Found" for 404...; for a status with no registered name, the name of
 * its class ("Client Error" for 4xx...). */
const char *cg_answer_reason(int status);
/* The FHIR IssueType of a refusal the guard makes (413, 431, 400, 411, 417,
 * 501, 505). */
const char *cg_answer_issue_type(int status);
/* Whether the answer carries Retry-After (502, 503, 504: the upstream or the
 * gateway may be back soon; integration engines honour it). */
bool cg_answer_retry_after(int status);

#endif
