/* event: core/v1 Event recording. See event.h. */
#include "api/event.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"

static void on_created(kc_result *res, void *user)
{
	if (res->rc < 0)
		CK_V(2, "event not recorded: %s", res->err ? res->err->msg : ck_strerror(res->rc));
}

cJSON *ev_build(const kc_resource *r, const cJSON *obj, const char *field_path,
                const ev_source *src, const char *type, const char *reason, const char *action,
                const char *message, const struct timespec *now)
{
	_cleanup_free_ char *ts = ck_time_rfc3339(now, false);
	const char *ns = kc_obj_namespace(obj);
	if (!*ns)
		ns = "default";
	/* Unique per event as upstream's "<name>.<hex nanoseconds>". */
	_cleanup_free_ char *name =
	    ck_asprintf("%s.%" PRIx64, kc_obj_name(obj),
	                (uint64_t)now->tv_sec * 1000000000u + (uint64_t)now->tv_nsec);
	_cleanup_free_ char *api_version = r->group && *r->group
	                                       ? ck_asprintf("%s/%s", r->group, r->version)
	                                       : ck_strdup(r->version);

	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "apiVersion", "v1");
	cJSON_AddStringToObject(ev, "kind", "Event");
	ck_json_set_str(ev, "metadata.name", name);
	ck_json_set_str(ev, "metadata.namespace", ns);
	cJSON *io = cJSON_AddObjectToObject(ev, "involvedObject");
	cJSON_AddStringToObject(io, "apiVersion", api_version);
	cJSON_AddStringToObject(io, "kind", r->kind);
	if (*kc_obj_namespace(obj))
		cJSON_AddStringToObject(io, "namespace", kc_obj_namespace(obj));
	cJSON_AddStringToObject(io, "name", kc_obj_name(obj));
	cJSON_AddStringToObject(io, "uid", kc_obj_uid(obj));
	cJSON_AddStringToObject(io, "resourceVersion", kc_obj_resource_version(obj));
	if (field_path)
		cJSON_AddStringToObject(io, "fieldPath", field_path);
	cJSON_AddStringToObject(ev, "reason", reason);
	cJSON_AddStringToObject(ev, "message", message);
	cJSON *source = cJSON_AddObjectToObject(ev, "source");
	cJSON_AddStringToObject(source, "component", src->component);
	if (src->host)
		cJSON_AddStringToObject(source, "host", src->host);
	cJSON_AddStringToObject(ev, "firstTimestamp", ts);
	cJSON_AddStringToObject(ev, "lastTimestamp", ts);
	cJSON_AddNumberToObject(ev, "count", 1);
	cJSON_AddStringToObject(ev, "type", type);
	if (action)
		cJSON_AddStringToObject(ev, "action", action);
	cJSON_AddStringToObject(ev, "reportingComponent", src->component);
	cJSON_AddStringToObject(ev, "reportingInstance",
	                        src->instance ? src->instance
	                        : src->host   ? src->host
	                                      : src->component);
	return ev;
}

cJSON *ev_buildv(const kc_resource *r, const cJSON *obj, const char *field_path,
                 const ev_source *src, const char *type, const char *reason, const char *action,
                 const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = ck_vasprintf(fmt, ap);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return ev_build(r, obj, field_path, src, type, reason, action, msg, &now);
}

void ev_record(kc_client *c, const kc_resource *r, const cJSON *obj, const char *field_path,
               const ev_source *src, const char *type, const char *reason, const char *action,
               const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_json_ cJSON *ev =
	    ev_buildv(r, obj, field_path, src, type, reason, action, fmt, ap);
	va_end(ap);
	const char *ns = ck_json_get_str(ev, "metadata.namespace", "default");
	if (kc_create_background(c, &KC_EVENTS, ns, ev, on_created, NULL) < 0)
		CK_V(2, "event %s not recorded", reason);
}
