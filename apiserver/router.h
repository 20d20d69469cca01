/* router: request path and method → what the apiserver serves.
 *
 *   /version /healthz /livez /readyz           ROUTE_VERSION / ROUTE_HEALTH
 *   /api  /apis  /apis/<g>                     discovery of versions and groups
 *   /api/v1  /apis/<g>/<v>                     APIResourceList
 *   /openapi/v2  /openapi/v3[/...]             OpenAPI documents
 *   /api/v1/[namespaces/<ns>/]<plural>[/<name>[/<subresource>]]  (and /apis/<g>/<v>/...)
 * Pure: no I/O. */
#ifndef CK_APISERVER_ROUTER_H
#define CK_APISERVER_ROUTER_H

#include <stdbool.h>

#include "api/kind.h"

enum route_type {
	ROUTE_NOT_FOUND,
	ROUTE_VERSION,
	ROUTE_HEALTH,
	ROUTE_API_VERSIONS,  /* /api */
	ROUTE_API_GROUPS,    /* /apis */
	ROUTE_API_GROUP,     /* /apis/<g> */
	ROUTE_RESOURCE_LIST, /* /api/v1, /apis/<g>/<v> */
	ROUTE_OPENAPI_V2,
	ROUTE_OPENAPI_V3, /* sub holds the rest after /openapi/v3 ("" for the root) */
	ROUTE_OBJECT,
};

enum route_verb {
	VERB_NONE,
	VERB_GET,
	VERB_LIST,
	VERB_WATCH,
	VERB_CREATE,
	VERB_UPDATE,
	VERB_PATCH,
	VERB_DELETE,
	VERB_DELETECOLLECTION,
};

typedef struct route {
	enum route_type type;
	enum route_verb verb;
	const kind_desc *kind;          /* ROUTE_OBJECT */
	char *group, *version;          /* discovery routes */
	char *ns;                       /* NULL: cluster-scoped or all namespaces */
	char *name;                     /* NULL for collections */
	char *sub;                      /* "status", "scale", "binding", or NULL */
	const kind_subresource *subres; /* the kind's entry for sub (ROUTE_OBJECT) */
} route;

/* Fills r for method and path (percent-decoded, no query); watch is the watch query
 * parameter. Returns 0, 404 when nothing is served there, 405 when the method is not
 * allowed on it (r is filled as far as known). Release with route_clear. */
int router_parse(const char *method, const char *path, bool watch, route *r);

/* Frees the strings of r and zeroes it. */
void route_clear(route *r);

/* "get", "list", ... as discovery and audit name verbs. */
const char *route_verb_name(enum route_verb v);

#endif
