/* scale: the autoscaling/v1 Scale view of an object, at the replica and selector paths
 * its kind's scale subresource names. */
#ifndef CK_APISERVER_SCALE_H
#define CK_APISERVER_SCALE_H

#include <cjson/cJSON.h>

#include "api/kind.h"
#include "router.h"

/* The Scale of obj at paths (spec.replicas, status.replicas, status.selector as text).
 * Caller owns it. */
cJSON *scale_from_object(const cJSON *obj, const kind_scale_paths *paths);

/* Sets the replicas a Scale asks for (its spec.replicas) on obj. */
void scale_apply(cJSON *obj, const cJSON *scale, const kind_scale_paths *paths);

/* What a read of rt shows of obj: its Scale for a scale subresource (caller owns it),
 * else NULL (the object itself). */
cJSON *scale_view(const route *rt, const cJSON *obj);

#endif
