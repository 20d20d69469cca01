/* event: records core/v1 Events about objects, as every component does ("Scheduled",
 * "SuccessfulCreate", "Pulling", "Started", ...).
 *
 * Fire and forget: the Event is created asynchronously through the API client and a
 * failure is only logged at -v=2, as upstream's recorder does. */
#ifndef CK_API_EVENT_H
#define CK_API_EVENT_H

#include <cjson/cJSON.h>

#include "api/client.h"

/* Who reports: source.component / reportingComponent and source.host (may be NULL). */
typedef struct ev_source {
	const char *component; /* "default-scheduler", "kubelet", "replicaset-controller" */
	const char *host;      /* node name for the kubelet; NULL otherwise */
} ev_source;

/* Builds the Event for obj (of resource r, for involvedObject kind/apiVersion):
 * type "Normal" or "Warning", reason in CamelCase, message from fmt. Returns a new object. */
cJSON *ev_build(const kc_resource *r, const cJSON *obj, const ev_source *src, const char *type,
                const char *reason, const char *message);

/* Creates the Event in obj's namespace ("default" for cluster-scoped objects). */
void ev_record(kc_client *c, const kc_resource *r, const cJSON *obj, const ev_source *src,
               const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#endif
