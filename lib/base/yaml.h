/* yaml: YAML 1.1 (libyaml) to and from cJSON, for kubeconfigs and manifests.
 *
 * Mappings become objects, sequences arrays; plain scalars are typed as YAML core schema
 * (null/~, true/false, integers, floats), quoted scalars are strings. Anchors and aliases
 * are resolved (an alias is a copy; at most 10000 nodes may be produced, so that alias
 * bombs fail). Mapping keys are taken as strings. Nesting deeper than 256 is rejected. */
#ifndef CK_BASE_YAML_H
#define CK_BASE_YAML_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/error.h"

/* Parses the first document of buf (len bytes, need not be NUL-terminated). An empty
 * stream gives a cJSON null. Returns NULL with *err (-EINVAL, "line L column C: ...") on
 * malformed input. */
cJSON *ck_yaml_parse(const char *buf, size_t len, ck_err **err);

/* Parses every document of a stream ("---" separated) into a cJSON array (empty documents
 * are skipped). Returns NULL with *err on malformed input. */
cJSON *ck_yaml_parse_all(const char *buf, size_t len, ck_err **err);

/* Emits j as a YAML block document (no leading "---"), malloc'd, ending in "\n".
 * Strings that would read back as another type are quoted. */
char *ck_yaml_print(const cJSON *j);

#endif
