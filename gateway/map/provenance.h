/*
 * provenance.h: the Provenance resource a Bundle forwarded to a FHIR
 * destination carries (issue 12): which resources it is about (target: the
 * other entries' fullUrls), who sent them (agent "author": the client as
 * the gateway knows it), who put the Bundle together (agent "assembler":
 * the gateway), the policy applied and when (recorded). docs/mapping.md
 * shows the resource.
 *
 * Its fullUrl is a name-based UUID of the targets, so that a Bundle gets the
 * same Provenance fullUrl every time; recorded is the time it is made, the
 * one thing that differs between two mappings of the same record. It has no
 * identifier, so a transaction creates it unconditionally: a client that
 * sends the same record twice leaves two Provenances (one per sending),
 * while the outbox's redelivery of one message sends the same bytes again.
 */
#ifndef CG_PROVENANCE_H
#define CG_PROVENANCE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "map.h"

struct cJSON;
struct cg_jw;

struct cg_provenance_in {
	const char *client;  /* the sending client's configured name, or NULL: none known */
	const char *gateway; /* the assembler, e.g. "cellgate" */
	/* A short text of the policy applied ("consent=required; ..."), or
	 * NULL: written as the uri <canonical_base>/policy/<text
	 * percent-encoded>, since Provenance.policy holds uris only. */
	const char *policy;
	long long now_ms;           /* recorded: milliseconds since 1970 (UTC) */
	const char *canonical_base; /* of the client identifier system and the policy uri */
};

/* The list of a Provenance's targets: each fullUrl followed by a '\0'. */
struct cg_provenance_targets {
	struct cg_buf urls;
	size_t n;
};

void cg_provenance_targets_init(struct cg_provenance_targets *t);
CG_MUST_CHECK enum cg_err cg_provenance_target(struct cg_provenance_targets *t, const char *url);
void cg_provenance_targets_free(struct cg_provenance_targets *t);

/* Writes the Provenance entry of a Bundle as the next element of the open
 * "entry" array of w: fullUrl, the resource (with labels' meta.security and
 * meta.tag, when labels is not NULL and has any) and, when request,
 * {"method":"POST","url":"Provenance"}. t must hold at least one target.
 * Errors are w's (sticky). */
void cg_provenance_write(struct cg_jw *w, const struct cg_provenance_in *in,
                         const struct cg_provenance_targets *t, const struct cg_map_opts *labels,
                         int request);

/* Adds the Provenance entry to a client's Bundle, whose entries are
 * forwarded as they came: targets are the entries' fullUrls (an entry
 * without one cannot be targeted and is left out; without any target
 * nothing is added); a transaction or batch Bundle's entry gets its POST
 * request, any other type none. CG_ENOMEM; CG_OK otherwise. */
CG_MUST_CHECK enum cg_err cg_provenance_add(struct cJSON *bundle,
                                            const struct cg_provenance_in *in);

/* The same for a Bundle kept as text: appends p[0..len) (the client's
 * checked JSON, whose tree is bundle) to out with the Provenance entry
 * spliced in at the end of its entry array, every other byte as it came (a
 * tree printed again would lose what its numbers said: 1.50 becomes 1.5,
 * and FHIR decimals keep their precision). Without a target, p as it is. */
CG_MUST_CHECK enum cg_err cg_provenance_splice(const char *p, size_t len,
                                               const struct cJSON *bundle,
                                               const struct cg_provenance_in *in,
                                               struct cg_buf *out);

#endif
