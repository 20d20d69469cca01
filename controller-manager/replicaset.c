/* The ReplicaSet controller: keeps spec.replicas active pods per ReplicaSet, claimed by its
 * selector (controller.h: cm_claim), replaces deleted ones and reports status. Creations
 * and deletions go through pod_control.c with the controller's expectations: a sync that
 * finds them unmet only updates status. */
#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"

typedef struct rs_state {
	cm_controller *c;
	cm_cache *replicasets, *pods;
	cm_writer *writer;
} rs_state;

/* Deletion order (most expendable first), as upstream ranks pods: unassigned before
 * assigned, Pending before Unknown before Running, not ready before ready, then newer
 * before older. */
static int pod_rank_phase(const cJSON *pod)
{
	const char *phase = ck_json_get_str(pod, "status.phase", "");
	if (!strcmp(phase, "Pending"))
		return 0;
	if (!strcmp(phase, "Unknown"))
		return 1;
	return 2;
}

static int pod_cmp_delete(const void *a, const void *b)
{
	const cJSON *pa = *(const cJSON *const *)a, *pb = *(const cJSON *const *)b;
	bool aa = *ck_json_get_str(pa, "spec.nodeName", ""),
	     ab = *ck_json_get_str(pb, "spec.nodeName", "");
	if (aa != ab)
		return aa ? 1 : -1;
	int ra = pod_rank_phase(pa), rb = pod_rank_phase(pb);
	if (ra != rb)
		return ra - rb;
	bool ya = cm_pod_ready(pa), yb = cm_pod_ready(pb);
	if (ya != yb)
		return ya ? 1 : -1;
	/* RFC 3339 in UTC compares as text. Newer first. */
	return -strcmp(ck_json_get_str(pa, "metadata.creationTimestamp", ""),
	               ck_json_get_str(pb, "metadata.creationTimestamp", ""));
}

/* Returns what the sync returns (cm_write_status). */
static int update_status(rs_state *s, const char *key, const cJSON *rs, const cJSON **pods,
                         size_t n)
{
	/* fullyLabeledReplicas: pods whose labels carry all of the template's, as upstream. */
	_cleanup_json_ cJSON *tmpl_sel = cJSON_CreateObject();
	const cJSON *tmpl_labels = ck_json_get(rs, "spec.template.metadata.labels");
	if (tmpl_labels)
		cJSON_AddItemToObject(tmpl_sel, "matchLabels", ck_json_dup(tmpl_labels));
	_cleanup_selector_ selector *labeled_sel = NULL;
	int64_t ready = 0, labeled = 0;
	bool by_labels = selector_from_label_selector(tmpl_sel, &labeled_sel, NULL) == 0;
	for (size_t i = 0; i < n; i++) {
		ready += cm_pod_ready(pods[i]);
		labeled += by_labels && selector_match_labels(
		                            labeled_sel, ck_json_get(pods[i], "metadata.labels"));
	}
	cJSON *status = cJSON_CreateObject();
	cJSON_AddNumberToObject(status, "replicas", (double)n);
	cJSON_AddNumberToObject(status, "fullyLabeledReplicas", (double)labeled);
	cJSON_AddNumberToObject(status, "readyReplicas", (double)ready);
	/* minReadySeconds is not tracked yet: a ready pod counts as available. */
	cJSON_AddNumberToObject(status, "availableReplicas", (double)ready);
	cJSON_AddNumberToObject(status, "observedGeneration",
	                        (double)ck_json_get_int(rs, "metadata.generation", 0));
	const cJSON *conds = ck_json_get(rs, "status.conditions");
	if (conds)
		cJSON_AddItemToObject(status, "conditions", ck_json_dup(conds));
	return cm_write_status(s->writer, key, rs, status);
}

static int rs_sync(void *data, const char *key)
{
	rs_state *s = data;
	const cJSON *rs = cm_cache_get(s->replicasets, key);
	if (!rs) {
		cm_exp_drop(s->c, key);
		cm_writer_forget(s->writer, key);
		return 0;
	}
	_cleanup_selector_ selector *sel = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (selector_from_label_selector(ck_json_get(rs, "spec.selector"), &sel, &err) < 0) {
		/* Retrying cannot help: the next version of the object syncs again. */
		CK_WARN("replicaset %s: invalid selector: %s", key, err->msg);
		return 0;
	}
	size_t active = 0;
	_cleanup_free_ const cJSON **pods =
	    cm_claim(s->c, &KC_REPLICASETS, rs, sel, s->pods, cm_pod_active, &active);

	if (!cm_being_deleted(rs) && cm_exp_satisfied(s->c, key)) {
		int64_t diff = (int64_t)active - ck_json_get_int(rs, "spec.replicas", 1);
		if (diff < 0) {
			cm_create_pods(s->c, key, &KC_REPLICASETS, rs,
			               -diff > CM_BURST_REPLICAS ? CM_BURST_REPLICAS : -diff);
		} else if (diff > 0) {
			qsort(pods, active, sizeof(*pods), pod_cmp_delete);
			cm_delete_pods(
			    s->c, key, &KC_REPLICASETS, rs, pods,
			    (size_t)(diff > CM_BURST_REPLICAS ? CM_BURST_REPLICAS : diff));
		}
	}
	return update_status(s, key, rs, pods, active);
}

static int rs_start(cm_controller *c, void **state, ck_err **err)
{
	rs_state *s = ck_calloc(1, sizeof(*s));
	s->c = c;
	s->replicasets = cm_controller_cache(c, &KC_REPLICASETS);
	s->pods = cm_controller_cache(c, &KC_PODS);
	s->writer = cm_writer_new(c, &KC_REPLICASETS);
	cm_handle_own(c, s->replicasets);
	cm_handle_dependents(c, s->pods, s->replicasets, true);
	*state = s;
	return 0;
}

static void rs_free(void *state)
{
	rs_state *s = state;
	cm_writer_free(s->writer);
	free(s);
}

static const kc_resource *const INFORMERS[] = {&KC_REPLICASETS, &KC_PODS, NULL};

const cm_controller_desc cm_replicaset_controller = {
    .name = "replicaset",
    .component = "replicaset-controller",
    .informers = INFORMERS,
    .start = rs_start,
    .sync = rs_sync,
    .free = rs_free,
};
