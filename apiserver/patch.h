/* patch: the PATCH request body types the apiserver accepts. */
#ifndef CK_APISERVER_PATCH_H
#define CK_APISERVER_PATCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "api/schema.h"
#include "base/error.h"

enum patch_type {
	PATCH_UNSUPPORTED,
	PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
	PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
	PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
	PATCH_APPLY,     /* application/apply-patch+yaml (server-side apply, as a merge) */
};

/* The patch type of a Content-Type header value (parameters ignored). */
enum patch_type patch_type_of(const char *content_type);

/* Parses a patch body of type t. Returns the patch document (caller owns it) or NULL
 * with *err (-EINVAL) when it cannot be decoded. */
cJSON *patch_parse(enum patch_type t, const char *body, size_t len, ck_err **err);

/* Applies patch (of type t) to *obj in place; type is the schema of *obj (a strategic
 * patch needs it to merge lists; NULL: lists are replaced). Returns 0, -EINVAL for a
 * patch that does not apply (bad path, wrong shape), CK_ECONFLICT for a failed JSON
 * patch test. */
int patch_apply(enum patch_type t, const cJSON *patch, const schema_type *type, cJSON **obj,
                ck_err **err);

/* Strategic merge patch of target, an object of schema type (NULL when unknown): a merge
 * patch where the lists the schema gives patch strategy "merge" merge, element by
 * element on their merge key or as a set of primitives, the others are replaced;
 * "$patch: delete|replace" directives apply, "$deleteFromPrimitiveList/..." deletes
 * and "$retainKeys" keeps only the keys it names; "$setElementOrder/..." is accepted.
 * Returns the patched value (target is consumed). */
cJSON *patch_strategic(cJSON *target, const cJSON *patch, const schema_type *type);

#endif
