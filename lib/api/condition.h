/* condition: the status.conditions lists of Kubernetes objects (Pod, Node, Deployment,
 * Namespace, ...): lists of {type, status, reason, message, lastTransitionTime, ...}
 * keyed by type. */
#ifndef CK_API_CONDITION_H
#define CK_API_CONDITION_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* The condition of type in obj's status.conditions, or NULL. */
const cJSON *condition_find(const cJSON *obj, const char *type);

/* The status ("True", "False", "Unknown") of that condition, or def when it is missing. */
const char *condition_status(const cJSON *obj, const char *type, const char *def);

/* True when the condition of type has status "True". */
bool condition_true(const cJSON *obj, const char *type);

/* The lastTransitionTime a condition of type with status gets when it replaces one of
 * the list conds (an array; NULL: none): the old one's when its status is the same, else
 * now. */
const char *condition_since(const cJSON *conds, const char *type, const char *status,
                            const char *now);

/* Sets the condition of type in obj's status.conditions (made when missing) to status,
 * reason and message (NULL: removed). lastTransitionTime becomes now (RFC 3339) when the
 * condition is new or its status changes, and stays otherwise; lastProbeTime is written
 * null when probe_time is set, as the Pod conditions carry it. Returns true when anything
 * changed. */
bool condition_set(cJSON *obj, const char *type, const char *status, const char *reason,
                   const char *message, const char *now, bool probe_time);

#endif
