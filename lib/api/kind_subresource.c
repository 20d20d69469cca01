/* kind_subresource: lookups in the kinds' subresource tables and the entries several
 * kinds share. */
#include "api/kind.h"

#include <stdio.h>
#include <string.h>

const char *const kind_view_verbs[] = {"get", "patch", "update", NULL};

const kind_scale_paths kind_scale_replicas = {.spec_replicas = "spec.replicas",
                                              .status_replicas = "status.replicas",
                                              .label_selector = "spec.selector"};

const kind_subresource *kind_subresource_find(const kind_desc *k, const char *name)
{
	for (size_t i = 0; name && i < k->n_subresources; i++)
		if (!strcmp(k->subresources[i].name, name))
			return &k->subresources[i];
	return NULL;
}

bool kind_subresource_has_verb(const kind_subresource *sub, const char *verb)
{
	for (const char *const *v = sub->verbs; v && *v; v++)
		if (!strcmp(*v, verb))
			return true;
	return false;
}

const char *kind_subresource_group(const kind_desc *k, const kind_subresource *sub)
{
	return sub->group ? sub->group : k->group;
}

const char *kind_subresource_version(const kind_desc *k, const kind_subresource *sub)
{
	return sub->version ? sub->version : k->version;
}

const char *kind_subresource_kind(const kind_desc *k, const kind_subresource *sub)
{
	return sub->kind ? sub->kind : k->kind;
}

const char *kind_subresource_api_version(const kind_desc *k, const kind_subresource *sub, char *buf,
                                         size_t n)
{
	const char *g = kind_subresource_group(k, sub);
	snprintf(buf, n, "%s%s%s", g, *g ? "/" : "", kind_subresource_version(k, sub));
	return buf;
}
