/* validate: upstream's checks on names and metadata plus the kind's own rules. */
#ifndef CK_APISERVER_VALIDATE_H
#define CK_APISERVER_VALIDATE_H

#include <cjson/cJSON.h>

#include "api/kind.h"

/* Returns the causes found (a JSON array, caller owns it) or NULL when obj is valid. old is
 * the stored object obj replaces (NULL on create), for the kinds' rules on updates. */
cJSON *validate_object(const kind_desc *k, const cJSON *old, const cJSON *obj);

#endif
