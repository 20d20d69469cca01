/* kind_service: core/v1 Services, Endpoints and ServiceAccounts. */
#include "api/kind.h"

#include <stdlib.h>
#include <string.h>

#include "k8s/core.pb-c.h"
#include "base/error.h"
#include "base/json.h"

static void service_defaults(cJSON *svc)
{
	cJSON *spec = kind_child_object(svc, "spec");
	kind_default_str(spec, "type", "ClusterIP");
	const char *type = ck_json_get_str(spec, "type", "");
	if (!strcmp(type, "ExternalName"))
		return;
	kind_default_str(spec, "sessionAffinity", "None");
	kind_default_str(spec, "internalTrafficPolicy", "Cluster");
	if (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))
		kind_default_str(spec, "externalTrafficPolicy", "Cluster");
	if (!cJSON_GetObjectItemCaseSensitive(spec, "ipFamilies")) {
		cJSON *f = cJSON_AddArrayToObject(spec, "ipFamilies");
		cJSON_AddItemToArray(f, cJSON_CreateString("IPv4"));
	}
	kind_default_str(spec, "ipFamilyPolicy", "SingleStack");
	cJSON *port;
	cJSON_ArrayForEach(port, cJSON_GetObjectItemCaseSensitive(spec, "ports"))
	{
		if (!cJSON_IsObject(port))
			continue;
		kind_default_str(port, "protocol", "TCP");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(port, "port");
		if (p && !cJSON_GetObjectItemCaseSensitive(port, "targetPort"))
			cJSON_AddItemToObject(port, "targetPort", ck_json_dup(p));
	}
}

static void service_create_status(cJSON *svc)
{
	cJSON_DeleteItemFromObjectCaseSensitive(svc, "status");
	cJSON *status = cJSON_AddObjectToObject(svc, "status");
	cJSON_AddObjectToObject(status, "loadBalancer");
}

static void service_validate(const cJSON *svc, kind_causes *causes)
{
	const char *type = ck_json_get_str(svc, "spec.type", "ClusterIP");
	static const char *const types[] = {"ClusterIP", "NodePort", "LoadBalancer",
	                                    "ExternalName"};
	bool known = false;
	for (size_t i = 0; i < CK_ARRAY_SIZE(types); i++)
		known |= !strcmp(type, types[i]);
	if (!known) {
		kind_cause_add(causes, "FieldValueNotSupported", "spec.type",
		               "Unsupported value: \"%s\": supported values: \"ClusterIP\", "
		               "\"ExternalName\", \"LoadBalancer\", \"NodePort\"",
		               type);
		return;
	}
	if (!strcmp(type, "ExternalName")) {
		if (!*ck_json_get_str(svc, "spec.externalName", ""))
			kind_cause_required(causes, "spec.externalName");
		return;
	}
	const cJSON *ports = ck_json_get(svc, "spec.ports");
	if (!cJSON_GetArraySize(ports) &&
	    strcmp(ck_json_get_str(svc, "spec.clusterIP", ""), "None"))
		kind_cause_required(causes, "spec.ports");
	int i = 0;
	const cJSON *port;
	cJSON_ArrayForEach(port, ports)
	{
		int64_t n = ck_json_get_int(port, "port", 0);
		if (n < 1 || n > 65535) {
			_cleanup_free_ char *f = ck_asprintf("spec.ports[%d].port", i);
			_cleanup_free_ char *v = ck_asprintf("%lld", (long long)n);
			kind_cause_invalid(causes, f, v, "must be between 1 and 65535, inclusive");
		}
		if (cJSON_GetArraySize(ports) > 1 && !*ck_json_get_str(port, "name", "")) {
			_cleanup_free_ char *f = ck_asprintf("spec.ports[%d].name", i);
			kind_cause_required(causes, f);
		}
		i++;
	}
}

static char *service_ports(const cJSON *svc)
{
	ck_buf out = {0};
	const cJSON *p;
	cJSON_ArrayForEach(p, ck_json_get(svc, "spec.ports"))
	{
		kind_buf_sep(&out, ",");
		ck_buf_printf(&out, "%lld", (long long)ck_json_get_int(p, "port", 0));
		long long node_port = ck_json_get_int(p, "nodePort", 0);
		if (node_port)
			ck_buf_printf(&out, ":%lld", node_port);
		ck_buf_printf(&out, "/%s", ck_json_get_str(p, "protocol", "TCP"));
	}
	return ck_buf_steal(&out);
}

static char *service_external_ip(const cJSON *svc)
{
	const char *type = ck_json_get_str(svc, "spec.type", "ClusterIP");
	if (!strcmp(type, "ExternalName"))
		return ck_strdup(ck_json_get_str(svc, "spec.externalName", ""));
	ck_buf out = {0};
	const char *paths[] = {"spec.externalIPs", "status.loadBalancer.ingress"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(paths); i++) {
		const cJSON *e;
		cJSON_ArrayForEach(e, ck_json_get(svc, paths[i]))
		{
			const char *ip =
			    cJSON_IsString(e)
			        ? e->valuestring
			        : ck_json_get_str(e, "ip", ck_json_get_str(e, "hostname", ""));
			kind_buf_sep(&out, ",");
			ck_buf_puts(&out, ip);
		}
	}
	if (!out.len && !strcmp(type, "LoadBalancer"))
		ck_buf_puts(&out, "<pending>");
	return ck_buf_steal(&out);
}

static void service_cells(const cJSON *svc, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(svc, "metadata.name"));
	kind_cell_str(row, ck_json_get_str(svc, "spec.type", "ClusterIP"));
	kind_cell_none(row, kind_str(svc, "spec.clusterIP"));
	kind_cell_take(row, service_external_ip(svc));
	kind_cell_take(row, service_ports(svc));
	kind_cell_take(row, kind_age(kind_str(svc, "metadata.creationTimestamp"), now));
	kind_cell_take(row, kind_format_map(ck_json_get(svc, "spec.selector"), KIND_MAP_LABELS));
}

static const kind_column service_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Type", "string", "", 0, "How the service is exposed."},
    {"Cluster-IP", "string", "", 0, "The IP address of the service within the cluster."},
    {"External-IP", "string", "", 0, "Addresses the service is reachable at from outside."},
    {"Port(s)", "string", "", 0, "The ports the service exposes."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"Selector", "string", "", 1, "The labels of the pods the service routes to."},
};

static void endpoints_cells(const cJSON *ep, time_t now, cJSON *row)
{
	_cleanup_buf_ ck_buf list = {0};
	int shown = 0, total = 0;
	const cJSON *sub;
	cJSON_ArrayForEach(sub, ck_json_get(ep, "subsets"))
	{
		const cJSON *a, *p;
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(sub, "addresses"))
		{
			const cJSON *ports = cJSON_GetObjectItemCaseSensitive(sub, "ports");
			int n_ports = cJSON_GetArraySize(ports);
			for (int i = 0; i < (n_ports ? n_ports : 1); i++) {
				total++;
				if (shown == 3)
					continue;
				p = cJSON_GetArrayItem(ports, i);
				kind_buf_sep(&list, ",");
				ck_buf_puts(&list, kind_str(a, "ip"));
				if (p)
					ck_buf_printf(&list, ":%lld",
					              (long long)ck_json_get_int(p, "port", 0));
				shown++;
			}
		}
	}
	kind_cell_str(row, kind_str(ep, "metadata.name"));
	if (total > shown)
		ck_buf_printf(&list, " + %d more...", total - shown);
	kind_cell_take(row, ck_buf_steal(&list));
	kind_cell_take(row, kind_age(kind_str(ep, "metadata.creationTimestamp"), now));
}

static const kind_column endpoints_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Endpoints", "string", "", 0, "Endpoints of the service."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

static void serviceaccount_cells(const cJSON *sa, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(sa, "metadata.name"));
	kind_cell_int(row, cJSON_GetArraySize(ck_json_get(sa, "secrets")));
	kind_cell_take(row, kind_age(kind_str(sa, "metadata.creationTimestamp"), now));
}

static const kind_column serviceaccount_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Secrets", "string", "", 0, "Number of secrets."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

static const kind_subresource service_subs[] = {KIND_SUB_STATUS};
static const char *const svc_short[] = {"svc", NULL};
static const char *const ep_short[] = {"ep", NULL};
static const char *const sa_short[] = {"sa", NULL};
static const char *const svc_fields[] = {"spec.clusterIP", "spec.type", NULL};
static const char *const svc_immutable[] = {"spec.clusterIP", "spec.clusterIPs", NULL};

const kind_desc kind_service = {.group = "",
                                .version = "v1",
                                .kind = "Service",
                                .plural = "services",
                                .singular = "service",
                                .short_names = svc_short,
                                .categories = kind_category_all,
                                .namespaced = true,
                                .name_is_label = true,
                                .etcd_resource = "services/specs",
                                .subresources = KIND_SUBRESOURCES(service_subs),
                                .field_labels = svc_fields,
                                .immutable = svc_immutable,
                                .columns = KIND_COLUMNS(service_columns),
                                .cells = service_cells,
                                .defaults = service_defaults,
                                .validate = service_validate,
                                .create_status = service_create_status,
                                .pb = &k8s__io__api__core__v1__service__descriptor};

const kind_desc kind_endpoints = {.group = "",
                                  .version = "v1",
                                  .kind = "Endpoints",
                                  .plural = "endpoints",
                                  .singular = "endpoints",
                                  .short_names = ep_short,
                                  .namespaced = true,
                                  .etcd_resource = "services/endpoints",
                                  .columns = KIND_COLUMNS(endpoints_columns),
                                  .cells = endpoints_cells,
                                  .pb = &k8s__io__api__core__v1__endpoints__descriptor};

const kind_desc kind_serviceaccount = {.group = "",
                                       .version = "v1",
                                       .kind = "ServiceAccount",
                                       .plural = "serviceaccounts",
                                       .singular = "serviceaccount",
                                       .short_names = sa_short,
                                       .namespaced = true,
                                       .etcd_resource = "serviceaccounts",
                                       .columns = KIND_COLUMNS(serviceaccount_columns),
                                       .cells = serviceaccount_cells,
                                       .pb = &k8s__io__api__core__v1__service_account__descriptor};
