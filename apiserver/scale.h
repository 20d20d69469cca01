/* scale: the autoscaling/v1 Scale subresource of deployments and replicasets. */
#ifndef CK_APISERVER_SCALE_H
#define CK_APISERVER_SCALE_H

#include <cjson/cJSON.h>

/* The Scale view of obj (spec.replicas, status.replicas, status.selector as text).
 * Caller owns it. */
cJSON *scale_from_object(const cJSON *obj);

#endif
