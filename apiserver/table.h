/* table: meta.k8s.io/v1 Table responses (kubectl get's server-side printing). */
#ifndef CK_APISERVER_TABLE_H
#define CK_APISERVER_TABLE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "api/kind.h"

enum table_include {
	TABLE_INCLUDE_NONE,
	TABLE_INCLUDE_METADATA, /* rows carry a PartialObjectMetadata (upstream's default) */
	TABLE_INCLUDE_OBJECT,
};

/* A Table with k's column definitions (omitted with no_headers), no rows, and
 * metadata.resourceVersion rv (may be NULL). Caller owns it. A kind without a printer
 * gets upstream's default columns, Name and Age. */
cJSON *table_new(const kind_desc *k, const char *rv, bool no_headers);

/* Appends the row for obj (cells by k->cells, printed at the current time). */
void table_add_row(cJSON *table, const kind_desc *k, const cJSON *obj, enum table_include inc);

/* The include mode the includeObject query parameter names (NULL: metadata). */
enum table_include table_include_parse(const char *v);

#endif
