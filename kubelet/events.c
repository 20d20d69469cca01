/* events: core/v1 Events about pods, as upstream's recorder writes them (name
 * "<pod>.<unix nanoseconds in hex>", source component kubelet and host the node). Posted
 * fire-and-forget: a lost event is logged at -v=2 only. A repeat of the same event (same
 * pod, container, type, reason and message) within 10 minutes updates the existing
 * Event's count and lastTimestamp instead of creating another, as upstream's correlator
 * does ("x5 over 2m" in kubectl). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/event.h"
#include "base/json.h"
#include "base/log.h"
#include "kubelet.h"

cJSON *kl_event_build(const char *node, const cJSON *pod, const char *container, const char *type,
                      const char *reason, const char *message, const struct timespec *now)
{
	_cleanup_free_ char *fp = container ? ck_asprintf("spec.containers{%s}", container) : NULL;
	ev_source src = {.component = "kubelet", .host = node};
	return ev_build(&KC_PODS, pod, fp, &src, type, reason, NULL, message, now);
}

#define SEEN_MAX      128
#define SEEN_WINDOW_S 600

/* Events recently posted, for counting repeats. */
typedef struct kl_events {
	struct seen {
		char *key, *name, *ns;
		int count;
		time_t last;
	} v[SEEN_MAX];
} kl_events;

static struct seen *seen_find(kl_events *e, const char *key, time_t now)
{
	for (size_t i = 0; i < SEEN_MAX; i++)
		if (e->v[i].key && !strcmp(e->v[i].key, key) && now - e->v[i].last < SEEN_WINDOW_S)
			return &e->v[i];
	return NULL;
}

/* A free slot, or the one used longest ago. */
static struct seen *seen_slot(kl_events *e)
{
	struct seen *old = &e->v[0];
	for (size_t i = 0; i < SEEN_MAX; i++) {
		if (!e->v[i].key)
			return &e->v[i];
		if (e->v[i].last < old->last)
			old = &e->v[i];
	}
	free(old->key);
	free(old->name);
	free(old->ns);
	memset(old, 0, sizeof(*old));
	return old;
}

void kl_events_free(kubelet *k)
{
	if (!k->events)
		return;
	for (size_t i = 0; i < SEEN_MAX; i++) {
		free(k->events->v[i].key);
		free(k->events->v[i].name);
		free(k->events->v[i].ns);
	}
	free(k->events);
	k->events = NULL;
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
	const char *ns = ck_json_get_str(pod, "metadata.namespace", "default");
	CK_V(1, "event %s/%s %s %s: %s", ns, ck_json_get_str(pod, "metadata.name", ""), type,
	     reason, msg);
	if (!k->events)
		k->events = ck_calloc(1, sizeof(kl_events));
	_cleanup_free_ char *key = ck_asprintf("%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", ns,
	                                       ck_json_get_str(pod, "metadata.uid", ""),
	                                       container ? container : "", type, reason, msg);
	struct seen *s = seen_find(k->events, key, now.tv_sec);
	if (s) {
		s->count++;
		s->last = now.tv_sec;
		_cleanup_json_ cJSON *patch = cJSON_CreateObject();
		cJSON_AddNumberToObject(patch, "count", s->count);
		_cleanup_free_ char *ts = ck_time_rfc3339(&now, false);
		cJSON_AddStringToObject(patch, "lastTimestamp", ts);
		kc_patch(k->kc, &KC_EVENTS, s->ns, s->name, NULL, KC_PATCH_MERGE, patch,
		         event_posted, NULL);
		return;
	}
	s = seen_slot(k->events);
	s->key = CK_TAKE_PTR(key);
	s->name = ck_strdup(ck_json_get_str(e, "metadata.name", ""));
	s->ns = ck_strdup(ns);
	s->count = 1;
	s->last = now.tv_sec;
	kc_create_background(k->kc, &KC_EVENTS, ns, e, event_posted, NULL);
}
