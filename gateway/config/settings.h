/*
 * settings.h: a checked configuration (config.h) as the server uses it.
 *
 * config.c decides what is valid and reports where; this only reads the
 * checked tree into plain structs with the defaults filled in, so that the
 * server never looks a key up by name while serving.
 */
#ifndef CG_SETTINGS_H
#define CG_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "map.h"
#include "policy.h"

struct cg_config;

enum cg_dest_type { CG_DEST_FHIR, CG_DEST_RECORDS, CG_DEST_NDJSON };

/* Tags of each kind (security, tag) a destination may add. */
#define CG_TAGS_MAX 16

/* A destination's URL at most (config_sections.c refuses longer ones): with "/" and
 * a resource type it still fits the upstream URL buffer (handler.c). */
#define CG_DEST_URL_MAX 1900

struct cg_listener_cfg {
	const char *address;
	int port;
	const char *certificate, *key, *client_ca, *crl;
	int require_client;
};

struct cg_client_cfg {
	const char *name;
	const char *san_dns;    /* or NULL */
	const char *subject_cn; /* or NULL */
};

struct cg_dest_cfg {
	const char *name;
	enum cg_dest_type type;
	const char *url;                    /* fhir, records */
	const char *folder;                 /* ndjson */
	const char *certificate, *key, *ca; /* or NULL */
	enum cg_payload format;             /* what it takes */
	long timeout_ms;
	bool queued;             /* queue mode: answered 202 once in the outbox, then forwarded */
	const char *registry_id; /* the registry it is (records' consent.registries), or NULL */
	bool consent_required;   /* a record only with research consent for registry_id */
	/* identity and de-identification (docs/privacy.md); policy.key is
	 * own_key, read when the settings were made (so at every reload) */
	struct cg_policy policy;
	struct cg_secret_key *own_key;
	char pseudonym_system[200];
	/* how it is reached (docs/destinations.md) */
	struct cg_auth_cfg {
		enum { CG_AUTH_MTLS, CG_AUTH_OAUTH2, CG_AUTH_SMART } type;
		const char *token_url, *client_id, *client_secret, *scope;
		bool secret_post; /* client_secret_post, else client_secret_basic */
		const char *private_key, *kid, *jwks_path;
		bool es384;     /* ES384, else RS384 (the key's kind decides by default) */
		bool alg_given; /* alg was set (else the key decides) */
		const char *ca; /* the token endpoint's CA (default: the destination's) */
	} auth;
	const char *proxy, *no_proxy, *proxy_auth; /* or NULL */
	/* how its FHIR server wants to be spoken to (fhir destinations) */
	struct cg_fhir_rules {
		enum { CG_CREATE_CONDITIONAL, CG_CREATE_SEARCH, CG_CREATE_PLAIN } create;
		bool update_changed;  /* search-then-create: PUT what differs from the server's */
		bool resolve_subject; /* subject by the server's Patient/<id>, searched */
		const char
		        *subject_system; /* the identifier system searched (NULL: the subject's) */
		bool create_patient;     /* create the Patient when the search finds none */
		size_t max_entries, max_observations; /* per transaction Bundle (0: no cap) */
		struct cg_coding *security, *tag;     /* added to every resource's meta */
		size_t nsecurity, ntag;
	} rules;
	struct cg_delivery_cfg {
		int concurrency;    /* batches in flight at once */
		size_t batch_items; /* messages in one request at most */
		size_t batch_bytes; /* their bodies' bytes at most (one bigger item goes alone) */
		long linger_ms;     /* how long the first waits for others to join it */
		long backoff_initial_ms; /* the first retry's delay; doubled each time */
		long backoff_max_ms;     /* the cap of that delay (and of a Retry-After) */
		int max_attempts;        /* then dead */
		long max_age_s;          /* since accepted: then dead */
	} delivery;
};

struct cg_route_cfg {
	const char *method;
	const char *path;
	enum cg_payload accept;
	size_t *clients; /* indexes into clients */
	size_t nclients;
	const struct cg_dest_cfg *dest; /* or NULL: validate only */
};

struct cg_settings {
	struct cg_listener_cfg *listeners;
	size_t nlisteners;
	struct cg_client_cfg *clients;
	size_t nclients;
	struct cg_route_cfg *routes;
	size_t nroutes;
	struct cg_dest_cfg *dests;
	size_t ndests;
	size_t max_body, max_header;
	long header_timeout_ms, body_timeout_ms, idle_timeout_ms;
	size_t max_connections;
	long handshake_timeout_ms;  /* a new connection's TLS handshake */
	size_t max_handshakes;      /* connections still in their handshake, at once */
	int level;                  /* 0 debug, 1 info, 2 warn, 3 error */
	const char *audit;          /* file, or NULL */
	const char *canonical_base; /* or NULL: the mappings' own */
	int workers;                /* 0: one per core */
	/* FHIR input checked against the R4 invariants too (default true):
	 * fhir_invariants: false is the way out should one misfire */
	bool fhir_invariants;
	const char *admin_address; /* the admin listener (plain HTTP), or NULL: none */
	int admin_port;
	struct cg_outbox_cfg {
		/* the store (store.h: a SQLite file, or a PostgreSQL database's
		 * "postgres:" connection string or URI), or NULL: no queue-mode
		 * destination */
		const char *path;
		int postgres;               /* queue: postgres */
		const char *password_file;  /* the database's password, or NULL */
		const char *instance;       /* this gateway's name in a shared queue */
		char instance_default[160]; /* host:first listener's port, when not given */
		long lease_s;               /* a claim's lease (postgres) */
		long long max_depth;        /* messages waiting, past which requests get 503 */
		long long min_free_bytes;   /* free space under which requests get 503 */
		long retry_after_s;         /* what those 503s say */
		long long keep_delivered_s; /* delivered messages are pruned after (0: never) */
	} outbox;
};

/* Reads c (which must have loaded without errors). Strings point into c's
 * tree: free the settings before the configuration. NULL when out of memory. */
struct cg_settings *cg_settings_from(const struct cg_config *c);
void cg_settings_free(struct cg_settings *s);

#endif
