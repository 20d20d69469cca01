/* events: core/v1 Events about pods, as upstream's recorder writes them (name
 * "<pod>.<unix nanoseconds in hex>", source component kubelet and host the node). Posted
 * fire-and-forget: a lost event is logged at -v=2 only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "kubelet.h"

cJSON *kl_event_build(const char *node, const cJSON *pod, const char *container, const char *type,
                      const char *reason, const char *message, const struct timespec *now)
{
	const char *ns = ck_json_get_str(pod, "metadata.namespace", "default");
	const char *name = ck_json_get_str(pod, "metadata.name", "");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "apiVersion", "v1");
	cJSON_AddStringToObject(e, "kind", "Event");
	long long nanos = (long long)now->tv_sec * 1000000000LL + now->tv_nsec;
	_cleanup_free_ char *ename = ck_asprintf("%s.%llx", name, nanos);
	ck_json_set_str(e, "metadata.name", ename);
	ck_json_set_str(e, "metadata.namespace", ns);
	cJSON *io = cJSON_CreateObject();
	cJSON_AddStringToObject(io, "kind", "Pod");
	cJSON_AddStringToObject(io, "namespace", ns);
	cJSON_AddStringToObject(io, "name", name);
	cJSON_AddStringToObject(io, "uid", ck_json_get_str(pod, "metadata.uid", ""));
	cJSON_AddStringToObject(io, "apiVersion", "v1");
	const char *rv = ck_json_get_str(pod, "metadata.resourceVersion", NULL);
	if (rv)
		cJSON_AddStringToObject(io, "resourceVersion", rv);
	if (container) {
		_cleanup_free_ char *fp = ck_asprintf("spec.containers{%s}", container);
		cJSON_AddStringToObject(io, "fieldPath", fp);
	}
	cJSON_AddItemToObject(e, "involvedObject", io);
	cJSON_AddStringToObject(e, "reason", reason);
	cJSON_AddStringToObject(e, "message", message);
	ck_json_set_str(e, "source.component", "kubelet");
	ck_json_set_str(e, "source.host", node);
	_cleanup_free_ char *ts = ck_time_rfc3339(now, false);
	cJSON_AddStringToObject(e, "firstTimestamp", ts);
	cJSON_AddStringToObject(e, "lastTimestamp", ts);
	cJSON_AddNumberToObject(e, "count", 1);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "reportingComponent", "kubelet");
	cJSON_AddStringToObject(e, "reportingInstance", node);
	return e;
}

static void event_posted(kc_result *res, void *user)
{
	if (res->rc < 0)
		CK_V(2, "event not posted: %s", res->err ? res->err->msg : ck_strerror(res->rc));
}

void kl_event(kubelet *k, const cJSON *pod, const char *container, const char *type,
              const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = ck_vasprintf(fmt, ap);
	va_end(ap);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	_cleanup_json_ cJSON *e =
	    kl_event_build(k->cfg.node_name, pod, container, type, reason, msg, &now);
	CK_V(1, "event %s/%s %s %s: %s", ck_json_get_str(pod, "metadata.namespace", ""),
	     ck_json_get_str(pod, "metadata.name", ""), type, reason, msg);
	kc_create(k->kc, &KC_EVENTS, ck_json_get_str(pod, "metadata.namespace", "default"), e,
	          event_posted, NULL);
}
