/* The Deployment controller: one ReplicaSet per pod template, named
 * <deployment>-<pod-template-hash>; the ReplicaSet of the current template is scaled to
 * spec.replicas and the older ones down to zero, by the RollingUpdate (maxSurge,
 * maxUnavailable) or Recreate strategy; status sums up the ReplicaSets. */
#include "controller.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/condition.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"

#define HASH_LABEL          "pod-template-hash"
#define REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define REVISION_PATH       "metadata.annotations.deployment\\.kubernetes\\.io/revision"

typedef struct d_state {
	cm_controller *c;
	cm_cache *deployments, *replicasets;
	cm_writer *writer;
} d_state;

/* ---- pod-template-hash ---- */

static void print_sorted(ck_buf *b, const cJSON *j)
{
	if (cJSON_IsObject(j)) {
		size_t n = (size_t)cJSON_GetArraySize(j);
		_cleanup_free_ const cJSON **kids = ck_calloc(n, sizeof(*kids));
		size_t i = 0;
		const cJSON *c;
		cJSON_ArrayForEach(c, j) kids[i++] = c;
		/* insertion sort: templates are small */
		for (size_t a = 1; a < n; a++)
			for (size_t k = a;
			     k > 0 && strcmp(kids[k - 1]->string, kids[k]->string) > 0; k--) {
				const cJSON *t = kids[k];
				kids[k] = kids[k - 1];
				kids[k - 1] = t;
			}
		ck_buf_putc(b, '{');
		for (i = 0; i < n; i++) {
			ck_buf_printf(b, "%s\"%s\":", i ? "," : "", kids[i]->string);
			print_sorted(b, kids[i]);
		}
		ck_buf_putc(b, '}');
	} else if (cJSON_IsArray(j)) {
		ck_buf_putc(b, '[');
		const cJSON *c;
		bool first = true;
		cJSON_ArrayForEach(c, j)
		{
			if (!first)
				ck_buf_putc(b, ',');
			first = false;
			print_sorted(b, c);
		}
		ck_buf_putc(b, ']');
	} else {
		_cleanup_free_ char *s = cJSON_PrintUnformatted(j);
		ck_buf_puts(b, s);
	}
}

/* FNV-1a (32 bit) of the template in a canonical form (keys sorted), with the collision
 * count mixed in, written as upstream writes it: the decimal digits mapped onto the
 * alphabet of consonants and digits that can never spell a word. */
char *cm_pod_template_hash(const cJSON *tmpl, int64_t collision_count)
{
	_cleanup_buf_ ck_buf b = {0};
	print_sorted(&b, tmpl);
	if (collision_count > 0)
		ck_buf_printf(&b, "%" PRId64, collision_count);
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < b.len; i++) {
		h ^= (unsigned char)b.s[i];
		h *= 16777619u;
	}
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	char digits[16];
	int n = snprintf(digits, sizeof(digits), "%" PRIu32, h);
	for (int i = 0; i < n; i++)
		digits[i] = alphabet[(unsigned char)digits[i] % (sizeof(alphabet) - 1)];
	return ck_strndup(digits, (size_t)n);
}

/* The template without the hash label, for comparing a ReplicaSet with its Deployment. */
static cJSON *template_without_hash(const cJSON *tmpl)
{
	cJSON *t = tmpl ? ck_json_dup(tmpl) : cJSON_CreateObject();
	cJSON *labels = ck_json_get(t, "metadata.labels");
	if (labels) {
		cJSON_DeleteItemFromObjectCaseSensitive(labels, HASH_LABEL);
		if (!labels->child)
			ck_json_remove(t, "metadata.labels");
	}
	return t;
}

/* ---- strategy arithmetic ---- */

/* An IntOrString of replicas ("25%" or 2) resolved against total, rounding up or down. */
int64_t cm_int_or_percent(const cJSON *v, int64_t total, bool round_up, int64_t def)
{
	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	if (!cJSON_IsString(v))
		return def;
	char *end = NULL;
	double pct = strtod(v->valuestring, &end);
	if (end == v->valuestring || strcmp(end, "%"))
		return def;
	double x = pct * (double)total / 100.0;
	return (int64_t)(round_up ? ceil(x) : floor(x));
}

static int64_t rs_replicas(const cJSON *rs)
{
	return ck_json_get_int(rs, "spec.replicas", 0);
}

static int64_t revision_of(const cJSON *rs)
{
	const char *s = ck_json_get_str(rs, REVISION_PATH, "0");
	return strtoll(s, NULL, 10);
}

/* ---- writes ---- */

static void scale_rs(d_state *s, const char *key, const cJSON *d, const cJSON *rs, int64_t n)
{
	if (rs_replicas(rs) == n)
		return;
	cm_event(s->c, &KC_DEPLOYMENTS, d, "Normal", "ScalingReplicaSet",
	         "Scaled %s replica set %s from %" PRId64 " to %" PRId64,
	         n > rs_replicas(rs) ? "up" : "down", kc_obj_name(rs), rs_replicas(rs), n);
	_cleanup_json_ cJSON *patch = cJSON_CreateObject();
	ck_json_set_int(patch, "spec.replicas", n);
	_cleanup_free_ char *want = ck_asprintf("%" PRId64, ck_json_get_int(d, "spec.replicas", 1));
	ck_json_set(patch, "metadata.annotations", cJSON_CreateObject());
	cJSON_AddStringToObject(ck_json_get(patch, "metadata.annotations"),
	                        "deployment.kubernetes.io/desired-replicas", want);
	cm_request rq = {.verb = CM_PATCH,
	                 .res = &KC_REPLICASETS,
	                 .ns = kc_obj_namespace(rs),
	                 .name = kc_obj_name(rs),
	                 .body = patch,
	                 .patch_type = KC_PATCH_MERGE};
	cm_request_for(s->c, key, &rq, "write", NULL);
}

static void create_rs(d_state *s, const char *key, const cJSON *d, const char *hash,
                      int64_t replicas, int64_t revision)
{
	_cleanup_json_ cJSON *rs = cJSON_CreateObject();
	cJSON_AddStringToObject(rs, "apiVersion", "apps/v1");
	cJSON_AddStringToObject(rs, "kind", "ReplicaSet");
	_cleanup_free_ char *name = ck_asprintf("%s-%s", kc_obj_name(d), hash);
	ck_json_set_str(rs, "metadata.name", name);
	ck_json_set_str(rs, "metadata.namespace", kc_obj_namespace(d));
	const cJSON *tl = ck_json_get(d, "spec.template.metadata.labels");
	ck_json_set(rs, "metadata.labels", tl ? ck_json_dup(tl) : cJSON_CreateObject());
	ck_json_set_str(ck_json_get(rs, "metadata.labels"), HASH_LABEL, hash);
	cJSON *ann = cJSON_CreateObject();
	_cleanup_free_ char *rev = ck_asprintf("%" PRId64, revision);
	_cleanup_free_ char *want = ck_asprintf("%" PRId64, ck_json_get_int(d, "spec.replicas", 1));
	cJSON_AddStringToObject(ann, "deployment.kubernetes.io/desired-replicas", want);
	cJSON_AddStringToObject(ann, "deployment.kubernetes.io/max-replicas", want);
	cJSON_AddStringToObject(ann, REVISION_ANNOTATION, rev);
	ck_json_set(rs, "metadata.annotations", ann);
	cJSON *refs = cJSON_CreateArray();
	cJSON_AddItemToArray(refs, cm_owner_ref(&KC_DEPLOYMENTS, d));
	ck_json_set(rs, "metadata.ownerReferences", refs);
	ck_json_set_int(rs, "spec.replicas", replicas);
	ck_json_set_int(rs, "spec.minReadySeconds", ck_json_get_int(d, "spec.minReadySeconds", 0));
	const cJSON *sel = ck_json_get(d, "spec.selector");
	ck_json_set(rs, "spec.selector", sel ? ck_json_dup(sel) : cJSON_CreateObject());
	ck_json_set_str(rs, "spec.selector.matchLabels." HASH_LABEL "", hash);
	const cJSON *tmpl = ck_json_get(d, "spec.template");
	ck_json_set(rs, "spec.template", tmpl ? ck_json_dup(tmpl) : cJSON_CreateObject());
	ck_json_set_str(rs, "spec.template.metadata.labels." HASH_LABEL "", hash);
	cm_event(s->c, &KC_DEPLOYMENTS, d, "Normal", "ScalingReplicaSet",
	         "Scaled up replica set %s from 0 to %" PRId64, name, replicas);
	cm_request rq = {
	    .verb = CM_CREATE, .res = &KC_REPLICASETS, .ns = kc_obj_namespace(d), .body = rs};
	cm_request_for(s->c, key, &rq, "write", NULL);
}

/* Sets a condition of the status in holder ({"status": ...}). lastTransitionTime moves
 * when its status does (condition_set), lastUpdateTime whenever anything about it does. */
static void set_condition(cJSON *holder, const char *type, bool ok, const char *reason,
                          const char *msg, const char *now)
{
	if (condition_set(holder, type, ok ? "True" : "False", reason, msg, now, false))
		ck_json_set_str((cJSON *)condition_find(holder, type), "lastUpdateTime", now);
}

/* Returns what the sync returns (cm_write_status). */
static int update_status(d_state *s, const char *key, const cJSON *d, const cJSON *new_rs,
                         const cJSON **rss, size_t n, int64_t max_unavailable)
{
	int64_t replicas = 0, ready = 0, available = 0;
	for (size_t i = 0; i < n; i++) {
		replicas += ck_json_get_int(rss[i], "status.replicas", 0);
		ready += ck_json_get_int(rss[i], "status.readyReplicas", 0);
		available += ck_json_get_int(rss[i], "status.availableReplicas", 0);
	}
	int64_t want = ck_json_get_int(d, "spec.replicas", 1);
	int64_t updated = new_rs ? ck_json_get_int(new_rs, "status.replicas", 0) : 0;
	/* The conditions are set over the old ones, in a holder shaped as the object. */
	_cleanup_json_ cJSON *holder = cJSON_CreateObject();
	cJSON *st = cJSON_AddObjectToObject(holder, "status");
	cJSON_AddNumberToObject(st, "observedGeneration",
	                        (double)ck_json_get_int(d, "metadata.generation", 0));
	cJSON_AddNumberToObject(st, "replicas", (double)replicas);
	cJSON_AddNumberToObject(st, "updatedReplicas", (double)updated);
	cJSON_AddNumberToObject(st, "readyReplicas", (double)ready);
	cJSON_AddNumberToObject(st, "availableReplicas", (double)available);
	if (want - available > 0)
		cJSON_AddNumberToObject(st, "unavailableReplicas", (double)(want - available));
	const cJSON *old_conds = ck_json_get(d, "status.conditions");
	if (old_conds)
		cJSON_AddItemToObject(st, "conditions", ck_json_dup(old_conds));
	_cleanup_free_ char *now = ck_time_now_rfc3339(false);
	bool avail = available >= want - max_unavailable;
	set_condition(holder, "Available", avail,
	              avail ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
	              avail ? "Deployment has minimum availability."
	                    : "Deployment does not have minimum availability.",
	              now);
	bool complete = new_rs && updated == want && replicas == want && available >= want;
	_cleanup_free_ char *msg =
	    !new_rs ? ck_strdup("Deployment is progressing.")
	    : complete
	        ? ck_asprintf("ReplicaSet \"%s\" has successfully progressed.", kc_obj_name(new_rs))
	        : ck_asprintf("ReplicaSet \"%s\" is progressing.", kc_obj_name(new_rs));
	set_condition(holder, "Progressing", true,
	              complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", msg, now);
	const cJSON *cc = ck_json_get(d, "status.collisionCount");
	if (cc)
		cJSON_AddItemToObject(st, "collisionCount", ck_json_dup(cc));
	return cm_write_status(s->writer, key, d, cJSON_DetachItemFromObject(holder, "status"));
}

/* The sync's one write to the Deployment, which it returns: the revision of its current
 * ReplicaSet (carried as upstream's does) when that changed, else its status. The status
 * follows in the sync that the annotation's own event brings. */
static int write_deployment(d_state *s, const char *key, const cJSON *d, const cJSON *new_rs,
                            const cJSON **rss, size_t n, int64_t max_unavailable)
{
	const char *want = ck_json_get_str(new_rs, REVISION_PATH, NULL);
	if (!want || ck_streq(want, ck_json_get_str(d, REVISION_PATH, NULL)))
		return update_status(s, key, d, new_rs, rss, n, max_unavailable);
	_cleanup_json_ cJSON *patch = cJSON_CreateObject();
	ck_json_set(patch, "metadata.annotations", cJSON_CreateObject());
	cJSON_AddStringToObject(ck_json_get(patch, "metadata.annotations"), REVISION_ANNOTATION,
	                        want);
	return cm_write_patch(s->writer, key, d, patch);
}

static int rs_cmp_revision(const void *a, const void *b)
{
	int64_t ra = revision_of(*(const cJSON *const *)a),
	        rb = revision_of(*(const cJSON *const *)b);
	return ra < rb ? -1 : ra > rb;
}

/* Deletes old, scaled-down ReplicaSets beyond spec.revisionHistoryLimit (oldest first). */
static void cleanup_history(d_state *s, const char *key, const cJSON *d, const cJSON **old,
                            size_t n_old)
{
	int64_t limit = ck_json_get_int(d, "spec.revisionHistoryLimit", 10);
	size_t idle = 0;
	for (size_t i = 0; i < n_old; i++)
		if (rs_replicas(old[i]) == 0 && ck_json_get_int(old[i], "status.replicas", 0) == 0)
			old[idle++] = old[i];
	if ((int64_t)idle <= limit)
		return;
	qsort(old, idle, sizeof(*old), rs_cmp_revision);
	for (size_t i = 0; i < idle - (size_t)limit; i++) {
		kc_delete_opts o = KC_DELETE_OPTS_INIT;
		o.precondition_uid = kc_obj_uid(old[i]);
		cm_request rq = {.verb = CM_DELETE,
		                 .res = &KC_REPLICASETS,
		                 .ns = kc_obj_namespace(old[i]),
		                 .name = kc_obj_name(old[i]),
		                 .delete_opts = &o};
		cm_request_for(s->c, key, &rq, "write", NULL);
	}
}

static int d_sync(void *data, const char *key)
{
	d_state *s = data;
	const cJSON *d = cm_cache_get(s->deployments, key);
	if (!d)
		cm_writer_forget(s->writer, key);
	if (!d || cm_being_deleted(d))
		return 0;
	_cleanup_selector_ selector *sel = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (selector_from_label_selector(ck_json_get(d, "spec.selector"), &sel, &err) < 0) {
		/* Retrying cannot help: the next version of the object syncs again. */
		CK_WARN("deployment %s: invalid selector: %s", key, err->msg);
		return 0;
	}

	size_t n = 0;
	_cleanup_free_ const cJSON **rss =
	    cm_claim(s->c, &KC_DEPLOYMENTS, d, sel, s->replicasets, NULL, &n);
	_cleanup_json_ cJSON *tmpl = template_without_hash(ck_json_get(d, "spec.template"));
	const cJSON *new_rs = NULL;
	_cleanup_free_ const cJSON **old = ck_calloc(n + 1, sizeof(*old));
	size_t n_old = 0;
	int64_t max_rev = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_json_ cJSON *t =
		    template_without_hash(ck_json_get(rss[i], "spec.template"));
		if (!new_rs && ck_json_equal(t, tmpl))
			new_rs = rss[i];
		else
			old[n_old++] = rss[i];
		if (revision_of(rss[i]) > max_rev)
			max_rev = revision_of(rss[i]);
	}

	int64_t want = ck_json_get_int(d, "spec.replicas", 1);
	bool recreate =
	    ck_streq(ck_json_get_str(d, "spec.strategy.type", "RollingUpdate"), "Recreate");
	int64_t surge =
	    recreate ? 0
	             : cm_int_or_percent(ck_json_get(d, "spec.strategy.rollingUpdate.maxSurge"),
	                                 want, true, (want + 3) / 4);
	int64_t unavail =
	    recreate
	        ? 0
	        : cm_int_or_percent(ck_json_get(d, "spec.strategy.rollingUpdate.maxUnavailable"),
	                            want, false, want / 4);
	if (!recreate && surge == 0 && unavail == 0)
		unavail = 1;
	bool paused = ck_json_get_bool(d, "spec.paused", false);

	int64_t old_total = 0, old_pods = 0;
	for (size_t i = 0; i < n_old; i++) {
		old_total += rs_replicas(old[i]);
		old_pods += ck_json_get_int(old[i], "status.replicas", 0);
	}

	if (!new_rs && !paused) {
		int64_t cc = ck_json_get_int(d, "status.collisionCount", 0);
		_cleanup_free_ char *hash =
		    cm_pod_template_hash(ck_json_get(d, "spec.template"), cc);
		int64_t start =
		    recreate ? (old_pods ? 0 : want)
		    : old_total == 0
		        ? want
		        : (want + surge - old_total > 0
		               ? (want + surge - old_total < want ? want + surge - old_total : want)
		               : 0);
		/* A name taken by a ReplicaSet with another template: count a collision. */
		_cleanup_free_ char *rs_key =
		    ck_asprintf("%s/%s-%s", kc_obj_namespace(d), kc_obj_name(d), hash);
		const cJSON *clash = cm_cache_get(s->replicasets, rs_key);
		if (clash) {
			const cJSON *old_st = ck_json_get(d, "status");
			cJSON *st = old_st ? ck_json_dup(old_st) : cJSON_CreateObject();
			ck_json_set_int(st, "collisionCount", cc + 1);
			return cm_write_status(s->writer, key, d, st);
		}
		create_rs(s, key, d, hash, start, max_rev + 1);
		return update_status(s, key, d, NULL, rss, n, unavail);
	}
	if (paused) {
		return write_deployment(s, key, d, new_rs, rss, n, unavail);
	}

	if (recreate) {
		for (size_t i = 0; i < n_old; i++)
			scale_rs(s, key, d, old[i], 0);
		if (old_pods == 0)
			scale_rs(s, key, d, new_rs, want);
	} else if (n_old == 0 || rs_replicas(new_rs) > want) {
		scale_rs(s, key, d, new_rs, want);
	} else {
		/* Scale the new ReplicaSet up within the surge... */
		int64_t total = old_total + rs_replicas(new_rs);
		int64_t new_n = rs_replicas(new_rs);
		if (new_n < want) {
			int64_t room = want + surge - total;
			if (room > 0)
				new_n = new_n + room < want ? new_n + room : want;
			scale_rs(s, key, d, new_rs, new_n);
		}
		/* ...and the old ones down as far as availability allows. */
		int64_t new_unavailable =
		    rs_replicas(new_rs) - ck_json_get_int(new_rs, "status.availableReplicas", 0);
		int64_t can_remove =
		    old_total + rs_replicas(new_rs) - (want - unavail) - new_unavailable;
		for (size_t i = 0; i < n_old && can_remove > 0; i++) {
			int64_t r = rs_replicas(old[i]);
			if (r == 0)
				continue;
			int64_t down = r < can_remove ? r : can_remove;
			scale_rs(s, key, d, old[i], r - down);
			can_remove -= down;
		}
	}
	cleanup_history(s, key, d, old, n_old);
	return write_deployment(s, key, d, new_rs, rss, n, unavail);
}

static int d_start(cm_controller *c, void **state, ck_err **err)
{
	d_state *s = ck_calloc(1, sizeof(*s));
	s->c = c;
	s->deployments = cm_controller_cache(c, &KC_DEPLOYMENTS);
	s->replicasets = cm_controller_cache(c, &KC_REPLICASETS);
	s->writer = cm_writer_new(c, &KC_DEPLOYMENTS);
	cm_handle_own(c, s->deployments);
	cm_handle_dependents(c, s->replicasets, s->deployments, false);
	*state = s;
	return 0;
}

static void d_free(void *state)
{
	d_state *s = state;
	cm_writer_free(s->writer);
	free(s);
}

static const kc_resource *const INFORMERS[] = {&KC_DEPLOYMENTS, &KC_REPLICASETS, NULL};

const cm_controller_desc cm_deployment_controller = {
    .name = "deployment",
    .component = "deployment-controller",
    .informers = INFORMERS,
    .start = d_start,
    .sync = d_sync,
    .free = d_free,
};
