/* table: Table objects from the kinds' column descriptions. */
#include "table.h"

#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/json.h"

/* Upstream's default table for kinds without a printer: the name and the age. */
static const kind_column default_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Age", "date", "", 0,
     "CreationTimestamp is a timestamp representing the server time when this object was "
     "created."},
};

static void default_cells(const cJSON *obj, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(obj, "metadata.name"));
	kind_cell_take(row, kind_age(kind_str(obj, "metadata.creationTimestamp"), now));
}

static const kind_column *columns_of(const kind_desc *k, size_t *n)
{
	if (!k->cells) {
		*n = CK_ARRAY_SIZE(default_columns);
		return default_columns;
	}
	*n = k->n_columns;
	return k->columns;
}

cJSON *table_new(const kind_desc *k, const char *rv, bool no_headers)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "kind", "Table");
	cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
	cJSON *meta = cJSON_AddObjectToObject(t, "metadata");
	if (rv)
		cJSON_AddStringToObject(meta, "resourceVersion", rv);
	if (!no_headers) {
		cJSON *cols = cJSON_AddArrayToObject(t, "columnDefinitions");
		size_t n;
		const kind_column *columns = columns_of(k, &n);
		for (size_t i = 0; i < n; i++) {
			const kind_column *c = &columns[i];
			cJSON *col = cJSON_CreateObject();
			cJSON_AddStringToObject(col, "name", c->name);
			cJSON_AddStringToObject(col, "type", c->type);
			cJSON_AddStringToObject(col, "format", c->format);
			cJSON_AddStringToObject(col, "description", c->description);
			cJSON_AddNumberToObject(col, "priority", c->priority);
			cJSON_AddItemToArray(cols, col);
		}
	}
	cJSON_AddArrayToObject(t, "rows");
	return t;
}

void table_add_row(cJSON *table, const kind_desc *k, const cJSON *obj, enum table_include inc)
{
	cJSON *row = cJSON_CreateObject();
	cJSON *cells = cJSON_AddArrayToObject(row, "cells");
	(k->cells ? k->cells : default_cells)(obj, time(NULL), cells);
	if (inc == TABLE_INCLUDE_OBJECT) {
		cJSON_AddItemToObject(row, "object", ck_json_dup(obj));
	} else if (inc == TABLE_INCLUDE_METADATA) {
		cJSON *o = cJSON_AddObjectToObject(row, "object");
		cJSON_AddStringToObject(o, "kind", "PartialObjectMetadata");
		cJSON_AddStringToObject(o, "apiVersion", "meta.k8s.io/v1");
		const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
		cJSON_AddItemToObject(o, "metadata",
		                      meta ? ck_json_dup(meta) : cJSON_CreateObject());
	}
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(table, "rows"), row);
}

enum table_include table_include_parse(const char *v)
{
	if (v && !strcmp(v, "None"))
		return TABLE_INCLUDE_NONE;
	if (v && !strcmp(v, "Object"))
		return TABLE_INCLUDE_OBJECT;
	return TABLE_INCLUDE_METADATA;
}
