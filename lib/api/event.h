/* event: records core/v1 Events about objects, as every component does ("Scheduled",
 * "SuccessfulCreate", "Pulling", "Started", ...).
 *
 * Fire and forget: the Event is created asynchronously through the API client and a
 * failure is only logged at -v=2, as upstream's recorder does. */
#ifndef CK_API_EVENT_H
#define CK_API_EVENT_H

#include <stdarg.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "api/client.h"

/* Who reports: source.component / reportingComponent, source.host, reportingInstance. */
typedef struct ev_source {
	const char *component; /* "default-scheduler", "kubelet", "replicaset-controller" */
	const char *host;      /* node name for the kubelet; NULL otherwise */
	const char *instance;  /* reportingInstance; NULL: host, else component */
} ev_source;

/* Builds the Event for obj (of resource r, for involvedObject kind/apiVersion), at time now:
 * field_path (NULL: none) names a part of obj ("spec.containers{web}"), type is "Normal"
 * or "Warning", reason CamelCase, action (NULL: none) what was done or failed, as
 * upstream's events.k8s.io recorder sets it ("Binding", "Scheduling"). Returns a new
 * object. */
cJSON *ev_build(const kc_resource *r, const cJSON *obj, const char *field_path,
                const ev_source *src, const char *type, const char *reason, const char *action,
                const char *message, const struct timespec *now);

/* ev_build at the current time, its message formatted from fmt and ap. A new object. */
cJSON *ev_buildv(const kc_resource *r, const cJSON *obj, const char *field_path,
                 const ev_source *src, const char *type, const char *reason, const char *action,
                 const char *fmt, va_list ap);

/* Creates the Event (built at the current time) in obj's namespace ("default" for
 * cluster-scoped objects). */
void ev_record(kc_client *c, const kc_resource *r, const cJSON *obj, const char *field_path,
               const ev_source *src, const char *type, const char *reason, const char *action,
               const char *fmt, ...) __attribute__((format(printf, 9, 10)));

#endif
