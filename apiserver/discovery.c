/* discovery: /api, /apis, /apis/<g> and the APIResourceLists, from the kind tables; and the
 * aggregated form (apidiscovery.k8s.io v2, or v2beta1 for kubectl before 1.30) of /api and
 * /apis when the client's Accept asks for it, which saves kubectl a request per group. */
#include "server.h"

#include <string.h>

#include "base/json.h"
#include "status.h"

static cJSON *strings(const char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (; v && *v; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
	return a;
}

static cJSON *group_version(const char *group, const char *version)
{
	cJSON *gv = cJSON_CreateObject();
	char buf[128];
	snprintf(buf, sizeof(buf), "%s/%s", group, version);
	cJSON_AddStringToObject(gv, "groupVersion", buf);
	cJSON_AddStringToObject(gv, "version", version);
	return gv;
}

/* The APIGroup entry of group (versions in table order), or NULL when nothing serves it. */
static cJSON *api_group(const char *group)
{
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	cJSON *versions = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i]->group, group))
			continue;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(all[j]->group, group) &&
			        !strcmp(all[j]->version, all[i]->version);
		if (!seen)
			cJSON_AddItemToArray(versions, group_version(group, all[i]->version));
	}
	if (!cJSON_GetArraySize(versions)) {
		cJSON_Delete(versions);
		return NULL;
	}
	cJSON *g = cJSON_CreateObject();
	cJSON_AddStringToObject(g, "name", group);
	cJSON_AddItemToObject(g, "preferredVersion", ck_json_dup(versions->child));
	cJSON_AddItemToObject(g, "versions", versions);
	return g;
}

static const char *const all_verbs[] = {
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL};

/* An APIResource entry: the kind itself (s NULL) or one of its subresources. */
static cJSON *resource(const kind_desc *k, const kind_subresource *s)
{
	cJSON *r = cJSON_CreateObject();
	char name[128];
	snprintf(name, sizeof(name), "%s%s%s", k->plural, s ? "/" : "", s ? s->name : "");
	cJSON_AddStringToObject(r, "name", name);
	cJSON_AddStringToObject(r, "singularName", s ? "" : k->singular);
	cJSON_AddBoolToObject(r, "namespaced", k->namespaced);
	/* A body of another group (autoscaling/v1 Scale) is named with its group/version. */
	if (s && strcmp(kind_subresource_group(k, s), k->group)) {
		cJSON_AddStringToObject(r, "group", kind_subresource_group(k, s));
		cJSON_AddStringToObject(r, "version", kind_subresource_version(k, s));
	}
	cJSON_AddStringToObject(r, "kind", s ? kind_subresource_kind(k, s) : k->kind);
	cJSON_AddItemToObject(r, "verbs", strings(s ? s->verbs : all_verbs));
	if (!s && k->short_names)
		cJSON_AddItemToObject(r, "shortNames", strings(k->short_names));
	if (!s && k->categories)
		cJSON_AddItemToObject(r, "categories", strings(k->categories));
	return r;
}

static cJSON *resource_list(const char *group, const char *version)
{
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	cJSON *resources = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		const kind_desc *k = all[i];
		if (strcmp(k->group, group) || strcmp(k->version, version))
			continue;
		cJSON_AddItemToArray(resources, resource(k, NULL));
		for (size_t j = 0; j < k->n_subresources; j++)
			cJSON_AddItemToArray(resources, resource(k, &k->subresources[j]));
	}
	if (!cJSON_GetArraySize(resources)) {
		cJSON_Delete(resources);
		return NULL;
	}
	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "kind", "APIResourceList");
	cJSON_AddStringToObject(l, "apiVersion", "v1");
	char gv[128];
	snprintf(gv, sizeof(gv), "%s%s%s", group, *group ? "/" : "", version);
	cJSON_AddStringToObject(l, "groupVersion", gv);
	cJSON_AddItemToObject(l, "resources", resources);
	return l;
}

static cJSON *api_versions(void)
{
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "kind", "APIVersions");
	cJSON *versions = cJSON_AddArrayToObject(v, "versions");
	cJSON_AddItemToArray(versions, cJSON_CreateString("v1"));
	cJSON *addrs = cJSON_AddArrayToObject(v, "serverAddressByClientCIDRs");
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "clientCIDR", "0.0.0.0/0");
	cJSON_AddStringToObject(a, "serverAddress", "");
	cJSON_AddItemToArray(addrs, a);
	return v;
}

static cJSON *api_groups(void)
{
	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "kind", "APIGroupList");
	cJSON_AddStringToObject(l, "apiVersion", "v1");
	cJSON *groups = cJSON_AddArrayToObject(l, "groups");
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	for (size_t i = 0; i < n; i++) {
		if (!all[i]->group[0])
			continue;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(all[j]->group, all[i]->group);
		if (!seen)
			cJSON_AddItemToArray(groups, api_group(all[i]->group));
	}
	return l;
}

static cJSON *kind_ref(const char *group, const char *version, const char *kind)
{
	cJSON *k = cJSON_CreateObject();
	cJSON_AddStringToObject(k, "group", group);
	cJSON_AddStringToObject(k, "version", version);
	cJSON_AddStringToObject(k, "kind", kind);
	return k;
}

static cJSON *subresource(const kind_desc *k, const kind_subresource *sub)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "subresource", sub->name);
	cJSON_AddItemToObject(s, "responseKind",
	                      kind_ref(kind_subresource_group(k, sub),
	                               kind_subresource_version(k, sub),
	                               kind_subresource_kind(k, sub)));
	cJSON_AddItemToObject(s, "verbs", strings(sub->verbs));
	return s;
}

static cJSON *aggregated_resource(const kind_desc *k)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "resource", k->plural);
	cJSON_AddItemToObject(r, "responseKind", kind_ref(k->group, k->version, k->kind));
	cJSON_AddStringToObject(r, "scope", k->namespaced ? "Namespaced" : "Cluster");
	cJSON_AddStringToObject(r, "singularResource", k->singular);
	cJSON_AddItemToObject(r, "verbs", strings(all_verbs));
	if (k->short_names)
		cJSON_AddItemToObject(r, "shortNames", strings(k->short_names));
	if (k->categories)
		cJSON_AddItemToObject(r, "categories", strings(k->categories));
	cJSON *subs = cJSON_AddArrayToObject(r, "subresources");
	for (size_t i = 0; i < k->n_subresources; i++)
		cJSON_AddItemToArray(subs, subresource(k, &k->subresources[i]));
	return r;
}

/* The APIGroupDiscoveryList of the core group (core) or of every other group. */
static cJSON *aggregated(bool core, const char *api_version)
{
	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "kind", "APIGroupDiscoveryList");
	cJSON_AddStringToObject(l, "apiVersion", api_version);
	cJSON_AddObjectToObject(l, "metadata");
	cJSON *items = cJSON_AddArrayToObject(l, "items");
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	for (size_t i = 0; i < n; i++) {
		const kind_desc *k = all[i];
		if (!k->group[0] != core)
			continue;
		/* Find or add the group and its version. */
		cJSON *g = NULL, *v = NULL, *it;
		cJSON_ArrayForEach(it, items)
		{
			if (!strcmp(ck_json_get_str(it, "metadata.name", ""), k->group))
				g = it;
		}
		if (!g) {
			g = cJSON_CreateObject();
			cJSON *meta = cJSON_AddObjectToObject(g, "metadata");
			cJSON_AddStringToObject(meta, "name", k->group);
			cJSON_AddArrayToObject(g, "versions");
			cJSON_AddItemToArray(items, g);
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(g, "versions"))
		{
			if (!strcmp(ck_json_get_str(it, "version", ""), k->version))
				v = it;
		}
		if (!v) {
			v = cJSON_CreateObject();
			cJSON_AddStringToObject(v, "version", k->version);
			cJSON_AddArrayToObject(v, "resources");
			cJSON_AddStringToObject(v, "freshness", "Current");
			cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(g, "versions"), v);
		}
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(v, "resources"),
		                     aggregated_resource(k));
	}
	return l;
}

/* The aggregated discovery version Accept asks for ("v2", "v2beta1"), or NULL. */
static const char *aggregated_version(http_exchange *x)
{
	const char *accept = http_request_header(http_exchange_request(x), "Accept");
	if (!accept || !strstr(accept, "as=APIGroupDiscoveryList"))
		return NULL;
	/* The first entry the client lists wins, as in its preference order. */
	const char *v2 = strstr(accept, "v=v2;");
	const char *v2beta1 = strstr(accept, "v=v2beta1;");
	if (v2 && (!v2beta1 || v2 < v2beta1))
		return "v2";
	return v2beta1 ? "v2beta1" : NULL;
}

void discovery_serve(http_exchange *x, const route *rt)
{
	const char *agg = rt->type == ROUTE_API_VERSIONS || rt->type == ROUTE_API_GROUPS
	                      ? aggregated_version(x)
	                      : NULL;
	if (agg) {
		char av[64], ct[128];
		snprintf(av, sizeof(av), "apidiscovery.k8s.io/%s", agg);
		snprintf(ct, sizeof(ct),
		         "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList",
		         agg);
		_cleanup_json_ cJSON *doc = aggregated(rt->type == ROUTE_API_VERSIONS, av);
		_cleanup_free_ char *body = ck_json_print(doc);
		http_respond(x, 200, ct, body, strlen(body));
		return;
	}
	cJSON *doc = NULL;
	switch (rt->type) {
	case ROUTE_API_VERSIONS:
		doc = api_versions();
		break;
	case ROUTE_API_GROUPS:
		doc = api_groups();
		break;
	case ROUTE_API_GROUP:
		doc = api_group(rt->group);
		if (doc) {
			cJSON_AddStringToObject(doc, "kind", "APIGroup");
			cJSON_AddStringToObject(doc, "apiVersion", "v1");
		}
		break;
	default:
		doc = resource_list(rt->group, rt->version);
		break;
	}
	if (!doc) {
		status_path_not_found(x);
		return;
	}
	_cleanup_free_ char *body = ck_json_print(doc);
	cJSON_Delete(doc);
	api_respond_json(x, 200, body);
}
