/* schema: lookups over the tables ckube-schemagen writes (schema_gen.c in the build). */
#include "api/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"

extern const schema_type schema_gen_types[];
extern const size_t schema_gen_n_types;

const schema_type *schema_all(size_t *n)
{
	*n = schema_gen_n_types;
	return schema_gen_types;
}

static int name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const schema_type *)elem)->name);
}

const schema_type *schema_type_by_name(const char *name)
{
	return bsearch(name, schema_gen_types, schema_gen_n_types, sizeof(schema_type), name_cmp);
}

const schema_type *schema_type_of(const ProtobufCMessageDescriptor *md)
{
	return md ? schema_type_by_name(md->name) : NULL;
}

/* A kind's description names its message; one that has none (events.k8s.io Events are
 * stored as core ones) finds upstream's by name: k8s.io.api.<first label of the group,
 * "core" for "">.<version>.<Kind>. */
const schema_type *schema_type_of_kind(const kind_desc *k)
{
	char name[256];
	size_t glen = strcspn(k->group, ".");

	if (k->pb)
		return schema_type_of(k->pb);
	if (glen == 0)
		snprintf(name, sizeof(name), "k8s.io.api.core.%s.%s", k->version, k->kind);
	else
		snprintf(name, sizeof(name), "k8s.io.api.%.*s.%s.%s", (int)glen, k->group,
		         k->version, k->kind);
	return schema_type_by_name(name);
}

const schema_field *schema_field_of(const schema_type *t, const ProtobufCFieldDescriptor *f)
{
	return &t->fields[f - t->pb->fields];
}

const schema_field *schema_field_find(const schema_type *t, const char *name)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_fields; i++)
		if (!t->fields[i].inline_ && !strcmp(t->fields[i].name, name))
			return &t->fields[i];
	for (size_t i = 0; i < t->n_fields; i++) {
		const schema_field *f =
		    t->fields[i].inline_ ? schema_field_find(t->fields[i].type, name) : NULL;
		if (f)
			return f;
	}
	return NULL;
}
