/* admission: the request pipeline between decoding and storage.
 *
 *   authentication (authn.c) -> authorization (authz.c) -> mutating admission ->
 *   validation (the kind's) -> validating admission -> storage
 *
 * Each stage is a list of plugins with one interface. A plugin looks at one request
 * (admission_attrs) and its object, may change the object (mutating plugins), and says
 * yes or no by calling admission_next exactly once, at once or later from a loop
 * callback (a plugin that reads etcd or reserves a value there finishes when etcd
 * answers). Plugins that reserve something (Service IPs) give it back in finish when the
 * object is not stored, and in removed when a stored object leaves storage.
 *
 * On UPDATE (and a server-side apply's create) the chains run inside storage's
 * read-modify-write, which may repeat them and cannot wait: there plugins marked waits
 * are skipped, and every other plugin must call admission_next before it returns.
 * admission_next may free the run (the request ends): a plugin calls it last. */
#ifndef CK_APISERVER_ADMISSION_H
#define CK_APISERVER_ADMISSION_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "api/kind.h"

typedef struct apiserver apiserver;

enum admission_op {
	ADMIT_CREATE = 1 << 0,
	ADMIT_UPDATE = 1 << 1,
	ADMIT_DELETE = 1 << 2,
	ADMIT_CONNECT = 1 << 3,
};

/* Who sent a request, as authentication found (upstream's user.Info). */
typedef struct auth_user {
	const char *name; /* "system:anonymous", a client certificate's CN */
	const char *const *groups;
} auth_user;

/* What a request does. Strings are borrowed for the request's life. */
typedef struct admission_attrs {
	enum admission_op op;
	const kind_desc *kind;
	const char *subresource; /* NULL for the object itself */
	const char *ns;          /* NULL for cluster-scoped kinds */
	const char *name;
	const auth_user *user;
	bool dry_run;
} admission_attrs;

typedef struct admission_run admission_run;

typedef struct admission_plugin {
	const char *name; /* upstream's plugin name: "NamespaceLifecycle" */
	unsigned ops;     /* enum admission_op bits it handles */
	/* The kind it handles (NULL: every kind), and whether it looks at subresources. */
	const char *group, *kind;
	bool subresources;
	/* It may finish later (reads or writes etcd): skipped where nothing can wait. */
	bool waits;
	/* Decides on admission_obj(q) and calls admission_next(q, NULL) to pass or
	 * admission_next(q, status) to refuse with a metav1.Status (taken). */
	void (*admit)(admission_run *q);
	/* The request ended: stored says whether its object was written. Frees what the
	 * plugin keeps in *admission_state(q). May be NULL. */
	void (*finish)(admission_run *q, bool stored);
	/* A stored object of the plugin's kind left storage. May be NULL. */
	void (*removed)(apiserver *s, const kind_desc *k, const cJSON *obj);
} admission_plugin;

/* The chains, in order; NULL-terminated. */
extern const admission_plugin *const admission_mutating[];
extern const admission_plugin *const admission_validating[];

/* Starts a run of chain over obj (borrowed; mutating plugins change it; NULL for DELETE
 * and CONNECT) replacing old (NULL but for UPDATE and DELETE). done(status, data) runs
 * once, with NULL when every plugin passed, else the refusal (taken by done). srv is
 * what plugins may reach (etcd, caches, pools). attrs and its strings must outlive the
 * run. can_wait false skips the plugins that wait. Free the run with admission_run_free
 * once the request ended. */
admission_run *admission_run_new(apiserver *srv, const admission_attrs *attrs, bool can_wait);
void admission_start(admission_run *q, const admission_plugin *const *chain, cJSON *obj,
                     const cJSON *old, void (*done)(cJSON *status, void *data), void *data);
/* Calls each plugin's finish (stored: the object was written) and frees q. Accepts NULL. */
void admission_run_free(admission_run *q, bool stored);

/* Calls each plugin's removed for obj of kind k, which left storage. */
void admission_removed(apiserver *s, const kind_desc *k, const cJSON *obj);

/* For plugins: the request, its object, the object it replaces, the server, and the
 * slot where the running plugin keeps state until finish. */
const admission_attrs *admission_attrs_of(const admission_run *q);
cJSON *admission_obj(const admission_run *q);
const cJSON *admission_old(const admission_run *q);
apiserver *admission_server(const admission_run *q);
void **admission_state(admission_run *q);
/* The running plugin is done: status NULL passes, else refuses (taken). */
void admission_next(admission_run *q, cJSON *status);

/* ---- authentication and authorization: the same list shape ---- */

typedef struct http_request http_request;

typedef struct authn_plugin {
	const char *name;
	/* Fills *out and returns true when it knows who sent hr. */
	bool (*authenticate)(const http_request *hr, auth_user *out);
} authn_plugin;

enum authz_decision { AUTHZ_NO_OPINION, AUTHZ_ALLOW, AUTHZ_DENY };

typedef struct authz_plugin {
	const char *name;
	enum authz_decision (*authorize)(const auth_user *u, const admission_attrs *a);
} authz_plugin;

/* Who sent hr (NULL: an internal request): the first authenticator that knows, else
 * "system:anonymous". */
void authn_user(const http_request *hr, auth_user *out);
/* NULL when the first authorizer with an opinion allows a, else the 403 (caller owns). */
cJSON *authz_check(const admission_attrs *a);

/* The plugins, one per file. */
extern const admission_plugin admission_namespace_lifecycle;
extern const admission_plugin admission_service_account;
extern const admission_plugin admission_default_toleration;
extern const admission_plugin admission_priority;
extern const admission_plugin admission_service_alloc;

/* NamespaceLifecycle's decision on a request in namespace ns (NULL: it does not exist),
 * pure: the Status refusing it, or NULL. */
cJSON *admission_namespace_decide(const admission_attrs *a, const cJSON *ns);

#endif
