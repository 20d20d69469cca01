/* kind_events: events.k8s.io/v1 Events. They are the core/v1 Events under other field
 * names and live in the same place in etcd (/registry/events), stored in the core form:
 * both APIs show the same events. */
#include "api/kind.h"

#include <string.h>

#include "k8s/events.pb-c.h"
#include "base/error.h"
#include "base/json.h"

/* core/v1 field ↔ events.k8s.io/v1 field. */
static const char *const renames[][2] = {
    {"involvedObject", "regarding"},
    {"message", "note"},
    {"source", "deprecatedSource"},
    {"firstTimestamp", "deprecatedFirstTimestamp"},
    {"lastTimestamp", "deprecatedLastTimestamp"},
    {"count", "deprecatedCount"},
    {"reportingComponent", "reportingController"},
};

static void rename_fields(cJSON *obj, int from, const char *api_version)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(renames); i++) {
		cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(obj, renames[i][from]);
		if (!v)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(obj, renames[i][!from]);
		cJSON_AddItemToObject(obj, renames[i][!from], v);
	}
	ck_json_set_str(obj, "apiVersion", api_version);
}

static void to_core(cJSON *obj)
{
	rename_fields(obj, 1, "v1");
}

static void from_core(cJSON *obj)
{
	rename_fields(obj, 0, "events.k8s.io/v1");
}

static void event_cells(const cJSON *ev, time_t now, cJSON *row)
{
	_cleanup_json_ cJSON *core = ck_json_dup(ev);
	to_core(core);
	kind_event_cells(core, now, row);
}

static const char *const ev_short[] = {"ev", NULL};
static const char *const ev_fields[] = {"regarding.kind",
                                        "regarding.namespace",
                                        "regarding.name",
                                        "regarding.uid",
                                        "reason",
                                        "type",
                                        "reportingController",
                                        NULL};

const kind_desc kind_events_event = {.group = "events.k8s.io",
                                     .version = "v1",
                                     .kind = "Event",
                                     .plural = "events",
                                     .singular = "event",
                                     .short_names = ev_short,
                                     .namespaced = true,
                                     .etcd_resource = "events",
                                     .expires = true,
                                     .field_labels = ev_fields,
                                     .columns = kind_event_columns,
                                     .n_columns = KIND_EVENT_COLUMNS,
                                     .cells = event_cells,
                                     .to_storage = to_core,
                                     .from_storage = from_core,
                                     .pb = &k8s__io__api__events__v1__event__descriptor};
