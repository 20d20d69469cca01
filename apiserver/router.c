/* router: path segments → route. */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"

void route_clear(route *r)
{
	free(r->group);
	free(r->version);
	free(r->ns);
	free(r->name);
	free(r->sub);
	*r = (route){0};
}

const char *route_verb_name(enum route_verb v)
{
	static const char *const names[] = {
	    [VERB_NONE] = "",
	    [VERB_GET] = "get",
	    [VERB_LIST] = "list",
	    [VERB_WATCH] = "watch",
	    [VERB_CREATE] = "create",
	    [VERB_UPDATE] = "update",
	    [VERB_PATCH] = "patch",
	    [VERB_DELETE] = "delete",
	    [VERB_DELETECOLLECTION] = "deletecollection",
	};
	return names[v];
}

/* A subresource serves the verbs its table entry lists, each by one method. */
static int pick_sub_verb(const char *method, route *r)
{
	static const struct {
		const char *method;
		enum route_verb verb;
	} by_method[] = {{"GET", VERB_GET},
	                 {"HEAD", VERB_GET},
	                 {"POST", VERB_CREATE},
	                 {"PUT", VERB_UPDATE},
	                 {"PATCH", VERB_PATCH}};
	for (size_t i = 0; i < CK_ARRAY_SIZE(by_method); i++)
		if (!strcmp(method, by_method[i].method) &&
		    kind_subresource_has_verb(r->subres, route_verb_name(by_method[i].verb))) {
			r->verb = by_method[i].verb;
			return 0;
		}
	return 405;
}

static int pick_verb(const char *method, route *r, bool watch)
{
	bool named = r->name != NULL;
	if (r->subres)
		return pick_sub_verb(method, r);
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		r->verb = named && !watch ? VERB_GET : watch ? VERB_WATCH : VERB_LIST;
	else if (!strcmp(method, "POST") && !named)
		r->verb = VERB_CREATE;
	else if (!strcmp(method, "PUT") && named)
		r->verb = VERB_UPDATE;
	else if (!strcmp(method, "PATCH") && named)
		r->verb = VERB_PATCH;
	else if (!strcmp(method, "DELETE"))
		r->verb = named ? VERB_DELETE : VERB_DELETECOLLECTION;
	if (r->verb == VERB_NONE)
		return 405;
	/* Namespaced kinds are created and deleted within a namespace only. */
	if (r->kind->namespaced && !r->ns &&
	    (r->verb == VERB_CREATE || r->verb == VERB_DELETECOLLECTION))
		return 405;
	return 0;
}

/* Resolves rest[0..n) below a group/version: the resource part of the path. */
static int parse_resource(const char *group, const char *version, char **rest, size_t n,
                          const char *method, bool watch, route *r)
{
	if (n && !strcmp(rest[0], "watch")) {
		rest++;
		n--;
		watch = true;
	}
	if (n == 0)
		return 404;
	const kind_desc *k = NULL;
	size_t i = 0;
	if (n >= 3 && !strcmp(rest[0], "namespaces") && !group[0]) {
		k = kind_by_resource(group, version, rest[2]);
		if (k && k->namespaced) {
			r->ns = ck_strdup(rest[1]);
			i = 2;
		} else if (n > 3) {
			return 404;
		}
		/* Else namespaces/<name>/<sub>: a subresource of a namespace. */
	} else if (n >= 3 && !strcmp(rest[0], "namespaces")) {
		k = kind_by_resource(group, version, rest[2]);
		if (!k || !k->namespaced)
			return 404;
		r->ns = ck_strdup(rest[1]);
		i = 2;
	}
	if (!r->ns)
		k = kind_by_resource(group, version, rest[0]);
	if (!k)
		return 404;
	size_t left = n - i;
	if (left > 3 || (!r->ns && k->namespaced && left > 1))
		return 404;
	r->type = ROUTE_OBJECT;
	r->kind = k;
	if (left >= 2) {
		if (!rest[i + 1][0])
			return 404;
		r->name = ck_strdup(rest[i + 1]);
	}
	if (left == 3) {
		r->subres = kind_subresource_find(k, rest[i + 2]);
		if (!r->subres)
			return 404;
		r->sub = ck_strdup(rest[i + 2]);
	}
	return pick_verb(method, r, watch);
}

int router_parse(const char *method, const char *path, bool watch, route *r)
{
	*r = (route){0};
	_cleanup_strv_ char **segs = ck_strv_split(path[0] == '/' ? path + 1 : path, "/");
	size_t n = ck_strv_len(segs);
	/* A trailing slash ("/api/") names the same thing. */
	if (n && !segs[n - 1][0])
		n--;
	if (n == 0)
		return 404;
	if (!strcmp(segs[0], "version") && n == 1) {
		r->type = ROUTE_VERSION;
		return 0;
	}
	if (!strcmp(segs[0], "healthz") || !strcmp(segs[0], "livez") ||
	    !strcmp(segs[0], "readyz")) {
		r->type = ROUTE_HEALTH;
		return 0;
	}
	if (!strcmp(segs[0], "openapi") && n >= 2) {
		if (!strcmp(segs[1], "v2") && n == 2) {
			r->type = ROUTE_OPENAPI_V2;
			return 0;
		}
		if (!strcmp(segs[1], "v3")) {
			_cleanup_buf_ ck_buf b = {0};
			for (size_t i = 2; i < n; i++)
				ck_buf_printf(&b, "%s%s", i > 2 ? "/" : "", segs[i]);
			r->type = ROUTE_OPENAPI_V3;
			r->sub = ck_buf_steal(&b);
			return 0;
		}
		return 404;
	}
	if (!strcmp(segs[0], "api")) {
		if (n == 1) {
			r->type = ROUTE_API_VERSIONS;
			return 0;
		}
		if (strcmp(segs[1], "v1"))
			return 404;
		r->group = ck_strdup("");
		r->version = ck_strdup("v1");
		if (n == 2) {
			r->type = ROUTE_RESOURCE_LIST;
			return 0;
		}
		return parse_resource("", "v1", segs + 2, n - 2, method, watch, r);
	}
	if (!strcmp(segs[0], "apis")) {
		if (n == 1) {
			r->type = ROUTE_API_GROUPS;
			return 0;
		}
		r->group = ck_strdup(segs[1]);
		if (n == 2) {
			r->type = ROUTE_API_GROUP;
			return 0;
		}
		r->version = ck_strdup(segs[2]);
		if (n == 3) {
			r->type = ROUTE_RESOURCE_LIST;
			return 0;
		}
		return parse_resource(segs[1], segs[2], segs + 3, n - 3, method, watch, r);
	}
	return 404;
}
