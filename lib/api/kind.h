/* kind: the one description of each API kind ckube serves.
 *
 * A kind_desc names the kind (group, version, kind, resource plural, singular, short
 * names, categories, scope), where it lives in etcd, its subresources, which field
 * selectors it answers, and the functions that default, validate and print it as a
 * server-side table row. The apiserver's discovery, storage, defaulting, validation and
 * tables read these descriptions (strategic merge patch and OpenAPI read the schema of the
 * kind's message, api/schema.h); each lib/api/kind_<name>.c file holds one or a few. */
#ifndef CK_API_KIND_H
#define CK_API_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

#include "base/error.h"
#include "base/strbuf.h"

/* One column of a meta.k8s.io/v1 Table. priority 0 columns are printed by default,
 * priority 1 only with -o wide. */
typedef struct kind_column {
	const char *name;
	const char *type;   /* "string", "integer", "date" */
	const char *format; /* "name" for the NAME column, else "" */
	int priority;
	const char *description;
} kind_column;

/* Validation findings, collected as upstream's field.ErrorList: each cause has a
 * reason ("FieldValueRequired", "FieldValueInvalid", ...), the field path and a message
 * ("Required value", "Invalid value: \"X\": ..."). */
typedef struct kind_causes {
	cJSON *list; /* array of {reason, message, field}; owned by the caller */
} kind_causes;

/* Appends a cause. field is a path such as "spec.containers[0].image". */
void kind_cause_add(kind_causes *c, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Shorthands for the two most common reasons. */
void kind_cause_required(kind_causes *c, const char *field);
void kind_cause_invalid(kind_causes *c, const char *field, const char *value, const char *detail);

typedef struct kind_desc {
	const char *group; /* "" for the core group */
	const char *version;
	const char *kind;
	const char *plural;
	const char *singular;
	const char *const *short_names; /* NULL-terminated, may be NULL */
	const char *const *categories;  /* NULL-terminated, may be NULL */
	bool namespaced;
	bool name_is_label; /* names are RFC 1123 labels (namespaces) rather than subdomains */
	const char *etcd_resource; /* key segment under the prefix: "pods", "minions" */
	bool expires;              /* stored with the apiserver's --event-ttl lease (Events) */
	/* Fields an update never changes (kept from the stored object). NULL-terminated. */
	const char *const *immutable;
	/* Field selectors beyond metadata.name and metadata.namespace (dotted JSON paths). */
	const char *const *field_labels;
	/* Table columns (NAME first); cells() appends one cell per column to row. */
	const kind_column *columns;
	size_t n_columns;
	void (*cells)(const cJSON *obj, time_t now, cJSON *row);
	/* Upstream's defaulting, in place. May be NULL. */
	void (*defaults)(cJSON *obj);
	/* Kind-specific validation (names and metadata are checked by the caller). May be NULL. */
	void (*validate)(const cJSON *obj, kind_causes *causes);
	/* What an update of old to obj may not change. May be NULL. */
	void (*validate_update)(const cJSON *old, const cJSON *obj, kind_causes *causes);
	/* Status an object gets on create when the kind resets it (NULL: status kept as sent). */
	void (*create_status)(cJSON *obj);
	/* For kinds stored in another version's form (events.k8s.io/v1 Events are stored as
	 * core/v1 Events): converts an object to the stored form and back, in place. */
	void (*to_storage)(cJSON *obj);
	void (*from_storage)(cJSON *obj);
	/* The kind's protobuf message (proto/k8s), for protobuf bodies. NULL: JSON only. */
	const ProtobufCMessageDescriptor *pb;
	/* ---- Subresources and delete semantics (the apiserver's per-kind behaviour) ---- */
	/* What is served below an object (".../<name>/<sub>"), in discovery order. */
	const struct kind_subresource *subresources;
	size_t n_subresources;
	/* The grace period a delete of obj gets when the request names none (NULL: 0, the
	 * object goes at once). requested is the request's gracePeriodSeconds or -1. */
	int64_t (*grace_period)(const cJSON *obj, int64_t requested);
	/* True while a finalizer of the kind's own holds obj after its deletion was asked
	 * (namespaces: spec.finalizers), besides metadata.finalizers. NULL: none. */
	bool (*finalizing)(const cJSON *obj);
	/* What obj changes when it is marked for deletion (namespaces: phase Terminating). */
	void (*mark_deleted)(cJSON *obj);
	/* Names that may never be deleted (NULL-terminated; NULL: none). */
	const char *const *undeletable;
} kind_desc;

/* The registry. The built-in kinds are every `const kind_desc kind_<name> = {...}`
 * defined in lib/api/kind_*.c: the build collects them (kind_builtin.c, generated), so a
 * kind is added by writing its description file. Others (CustomResourceDefinitions)
 * register at run time. Registration runs on one thread (the apiserver's loop); lookups
 * may run anywhere while nothing registers. */

/* Every kind, core group first, then in registration order; *n receives the count. The
 * array is the registry's and changes when a kind is registered or unregistered. */
const kind_desc *const *kind_all(size_t *n);

/* Adds k (which must outlive its registration). -EEXIST (with err) when group/version
 * already serves k's plural or kind. */
int kind_register(const kind_desc *k, ck_err **err);

/* Removes k; returns -ENOENT when it was not registered. */
int kind_unregister(const kind_desc *k);

/* The kind serving resource plural in group/version, or NULL. */
const kind_desc *kind_by_resource(const char *group, const char *version, const char *plural);

/* The kind named kind in group/version ("apps", "v1", "Deployment"), or NULL. */
const kind_desc *kind_by_kind(const char *group, const char *version, const char *kind);

/* "v1" for the core group, "apps/v1" otherwise; writes into buf (size n). */
const char *kind_api_version(const kind_desc *k, char *buf, size_t n);

/* True when label is a field selector the kind answers. */
bool kind_field_supported(const kind_desc *k, const char *label);

/* The value of a field selector label on obj as text ("" when absent), malloc'd. */
char *kind_field_value(const cJSON *obj, const char *label);

/* Table helpers shared by the kind files. */
/* Age as kubectl prints it ("5s", "3m2s", "10d"), malloc'd; "<unknown>" when ts is missing. */
char *kind_age(const char *rfc3339, time_t now);
/* Appends a string cell (NULL → ""); kind_cell_none prints "<none>" for NULL or "". */
void kind_cell_str(cJSON *row, const char *s);
void kind_cell_none(cJSON *row, const char *s);
void kind_cell_int(cJSON *row, long long v);
/* Appends a cell ("<none>" when empty) and frees s. */
void kind_cell_take(cJSON *row, char *s);
/* Appends sep to b unless b is empty: the separator of a list being joined. */
void kind_buf_sep(ck_buf *b, const char *sep);
/* The strings at path of the elements of arr joined with ",", malloc'd ("" when none). */
char *kind_join(const cJSON *arr, const char *path);
/* A string map in key order: KIND_MAP_LABELS "k1=v1,k2=v2" as upstream prints labels
 * ("" when empty), KIND_MAP_GO as Go's %#v in upstream's messages:
 * map[string]string{"k1":"v1", "k2":"v2"}, map[string]string(nil) when m is no object. */
enum kind_map_style { KIND_MAP_LABELS, KIND_MAP_GO };
char *kind_format_map(const cJSON *m, enum kind_map_style style);

/* RFC 1123 names: a label ("my-name", at most 63) and a subdomain ("a.b-c", at most 253). */
bool kind_dns1123_label(const char *s);
bool kind_dns1123_subdomain(const char *s);
/* Upstream's messages for names failing those checks. */
#define KIND_DNS1123_LABEL_MSG                                                                     \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "   \
	"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "   \
	"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define KIND_DNS1123_SUBDOMAIN_MSG                                                                 \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "  \
	"or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "      \
	"regex used for validation is "                                                            \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

/* Pod defaulting shared with workload templates: defaults a PodSpec in place. */
void kind_pod_spec_defaults(cJSON *spec);
/* Validates a PodSpec at path (e.g. "spec.template.spec"). */
void kind_pod_spec_validate(const cJSON *spec, const char *path, kind_causes *causes);

/* The core/v1 Event printer, shared with events.k8s.io/v1 (same columns). */
void kind_event_cells(const cJSON *ev, time_t now, cJSON *row);
#define KIND_EVENT_COLUMNS 10
extern const kind_column kind_event_columns[KIND_EVENT_COLUMNS];

/* Small helpers the kind files share. */
/* The string at path, "" when missing or not a string. */
const char *kind_str(const cJSON *o, const char *path);
/* Sets key of o to val unless o has key. */
void kind_default_str(cJSON *o, const char *key, const char *val);
void kind_default_int(cJSON *o, const char *key, long long val);
/* The object at key of o, made {} when missing or not an object. */
cJSON *kind_child_object(cJSON *o, const char *key);
/* qsort comparator for arrays of C strings. */
int kind_cmp_strp(const void *a, const void *b);
/* Workload templates (kind_template.c). spec is the object holding selector and template
 * ("spec" of a Deployment, "spec.jobTemplate.spec" of a CronJob), path its field path. */
/* spec.selector is a LabelSelector matching the template's labels; what names the kind in
 * upstream's "empty selector is invalid for <what>" (NULL: an empty selector is valid). */
void kind_selector_validate(const cJSON *spec, const char *path, const char *what,
                            kind_causes *causes);
/* The cause upstream gives when the selector does not match the template's labels. */
void kind_template_labels_mismatch(const cJSON *spec, const char *path, kind_causes *causes);
/* The string at dotted path key of o (def when unset) is one of allowed (NULL-terminated),
 * else upstream's "Unsupported value" cause for field (NULL: key). */
void kind_enum_validate(const cJSON *o, const char *key, const char *def,
                        const char *const *allowed, const char *field, kind_causes *causes);
/* The number at dotted path key of o, when present, is not negative; reported as field
 * (NULL: key), with upstream's message. */
void kind_nonnegative_validate(const cJSON *o, const char *key, const char *field,
                               kind_causes *causes);
/* The wide cells CONTAINERS, IMAGES and (when with_selector) SELECTOR of spec's template. */
void kind_template_cells(const cJSON *spec, bool with_selector, cJSON *row);
/* create_status for kinds whose status the controllers own: an empty status. */
void kind_clear_status(cJSON *obj);
/* A batch/v1 JobSpec at path without its selector (Jobs and CronJob templates). */
void kind_job_spec_validate(const cJSON *spec, const char *path, kind_causes *causes);
/* Columns most kinds' tables share: NAME, AGE and the template's CONTAINERS and IMAGES
 * (-o wide). */
#define KIND_COLUMN_NAME                                                                           \
	{                                                                                          \
		"Name", "string", "name", 0, "Name must be unique within a namespace."             \
	}
#define KIND_COLUMN_AGE                                                                            \
	{                                                                                          \
		"Age", "string", "", 0, "Time since the object was created."                       \
	}
#define KIND_COLUMNS_TEMPLATE                                                                      \
	{"Containers", "string", "", 1, "Names of each container in the template."},               \
	{                                                                                          \
		"Images", "string", "", 1, "Images referenced by each container in the template."  \
	}
/* The scale subresource of workloads (autoscaling/v1 Scale on spec.replicas); defined as a
 * macro because kind_scale_replicas and KIND_SUB_SCALE come later in this header. */
#define KIND_SUB_SCALE_REPLICAS                                                                    \
	{                                                                                          \
		.name = "scale", .group = "autoscaling", .version = "v1", .kind = "Scale",         \
		.verbs = kind_view_verbs, .type = KIND_SUB_SCALE, .scale = &kind_scale_replicas    \
	}
/* The "all" category (kubectl get all). */
extern const char *const kind_category_all[];

/* The built-in kinds other modules name (the API client's KC_* names). */
extern const kind_desc kind_namespace, kind_node, kind_event, kind_configmap, kind_secret, kind_pod,
    kind_service, kind_endpoints, kind_serviceaccount, kind_deployment, kind_replicaset, kind_lease,
    kind_events_event, kind_endpointslice;

/* For the tables: `.columns = KIND_COLUMNS(pod_columns)` fills columns and n_columns. */
#define KIND_COLUMNS(c) c, CK_ARRAY_SIZE(c)

/* ---- Subresources ---- */

/* What a subresource does; the apiserver has one handler per type. */
enum kind_sub_type {
	/* get, update, patch of the object itself; writes change only .field ("status"). */
	KIND_SUB_FIELD,
	/* get, update, patch of an autoscaling/v1 Scale at .scale's paths. */
	KIND_SUB_SCALE,
	/* POST of a body that .apply turns into a change of the object (pods/binding). */
	KIND_SUB_CREATE,
	/* GET of a container's log from the kubelet of the pod's node (pods/log). */
	KIND_SUB_NODE_LOG,
};

/* Where a kind keeps what its Scale shows, as a CRD's scale subresource declares
 * specReplicasPath, statusReplicasPath and labelSelectorPath (dotted JSON paths; the
 * selector is a LabelSelector object or its text form). */
typedef struct kind_scale_paths {
	const char *spec_replicas;
	const char *status_replicas;
	const char *label_selector;
} kind_scale_paths;

/* Why a subresource body cannot apply: the message after "Operation cannot be fulfilled
 * on <plural>/<sub> \"<name>\": ", malloc'd. */
typedef struct kind_sub_conflict {
	char *why;
} kind_sub_conflict;

typedef struct kind_subresource {
	const char *name; /* "status", "scale", "binding", "log", "finalize" */
	/* The body's kind; group and version NULL: the parent's. kind NULL: the parent's. */
	const char *group, *version, *kind;
	const char *const *verbs; /* NULL-terminated, as discovery lists them */
	enum kind_sub_type type;
	const char *field;             /* KIND_SUB_FIELD */
	const kind_scale_paths *scale; /* KIND_SUB_SCALE */
	/* KIND_SUB_CREATE: checks the body, then makes the new object from the current one
	 * (caller owns it) or returns NULL with c->why set. */
	void (*validate)(const cJSON *body, kind_causes *causes);
	cJSON *(*apply)(const cJSON *cur, const cJSON *body, const char *name,
	                kind_sub_conflict *c);
} kind_subresource;

/* The subresource name of k, or NULL. */
const kind_subresource *kind_subresource_find(const kind_desc *k, const char *name);
/* The group, version and kind of sub's body (the parent's where sub names none), and its
 * apiVersion as kind_api_version writes it. */
const char *kind_subresource_group(const kind_desc *k, const kind_subresource *sub);
const char *kind_subresource_version(const kind_desc *k, const kind_subresource *sub);
const char *kind_subresource_kind(const kind_desc *k, const kind_subresource *sub);
const char *kind_subresource_api_version(const kind_desc *k, const kind_subresource *sub, char *buf,
                                         size_t n);
/* True when verb ("get", "update", ...) is one of sub's. */
bool kind_subresource_has_verb(const kind_subresource *sub, const char *verb);

/* The verbs of views (get, patch, update). */
extern const char *const kind_view_verbs[];
/* The Scale of workloads: spec.replicas, status.replicas, spec.selector. */
extern const kind_scale_paths kind_scale_replicas;
/* Table entries: the status subresource; `.subresources = KIND_SUBRESOURCES(pod_subs)`. */
#define KIND_SUB_STATUS                                                                            \
	{                                                                                          \
		.name = "status", .verbs = kind_view_verbs, .type = KIND_SUB_FIELD,                \
		.field = "status"                                                                  \
	}
#define KIND_SUBRESOURCES(s) s, CK_ARRAY_SIZE(s)

#endif
