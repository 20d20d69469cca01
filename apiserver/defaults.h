/* defaults: what the apiserver sets on objects it stores (system metadata, upstream's
 * per-kind defaults from the kind tables). */
#ifndef CK_APISERVER_DEFAULTS_H
#define CK_APISERVER_DEFAULTS_H

#include <cjson/cJSON.h>

#include "api/kind.h"

/* Prepares a new object for storage: name from generateName when unset, uid,
 * creationTimestamp, generation 1, no resourceVersion or deletion fields, namespace ns
 * (NULL for cluster-scoped), the kind's create-time status and defaults, and apiVersion
 * and kind. */
void defaults_for_create(const kind_desc *k, cJSON *obj, const char *ns);

/* The kind's defaults only (updates and patches). */
void defaults_apply(const kind_desc *k, cJSON *obj);

#endif
