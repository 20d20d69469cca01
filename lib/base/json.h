/* json: helpers over cJSON for Kubernetes objects.
 * Paths are dotted field names: "metadata.labels", "spec.template.spec". A segment
 * may be escaped with a backslash for keys holding dots
 * ("metadata.labels.app\\.kubernetes\\.io/name" in C source); "\\\\" is a literal
 * backslash. The empty path "" names obj itself. Where the node reached is an array, a
 * decimal segment indexes it ("spec.containers.0.image").
 * Getters never allocate and return borrowed pointers into the object.
 * Numbers are doubles (cJSON): integers are exact up to 2^53. */
#ifndef CK_BASE_JSON_H
#define CK_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/error.h"

void ck_json_deletep(cJSON **j);
#define _cleanup_json_ _cleanup_(ck_json_deletep)

/* Parses len bytes (need not be NUL-terminated). Returns NULL and sets *err
 * (-EINVAL, message naming the byte offset) on malformed input. Nesting deeper
 * than 256 levels is rejected, and so are numbers beyond the double range. Of members
 * with the same key only the last is kept (as Go's encoding/json). */
cJSON *ck_json_parse(const char *buf, size_t len, ck_err **err);

/* Compact serialisation, malloc'd ("null" for NULL). Integral numbers print without
 * exponent or fraction ("1700000000000", not "1.7e+12"); NaN/Inf print as null. */
char *ck_json_print(const cJSON *j);
/* Indented with 4 spaces, as `kubectl get -o json` prints; malloc'd, no final newline. */
char *ck_json_print_pretty(const cJSON *j);
struct ck_buf;
/* Appends the compact serialisation of j to b (see base/strbuf.h). */
void ck_json_print_buf(struct ck_buf *b, const cJSON *j);

/* Borrowed node at path, or NULL when any segment is missing. */
cJSON *ck_json_get(const cJSON *obj, const char *path);
/* Typed getters: the value at path, or def when missing or of another type. */
const char *ck_json_get_str(const cJSON *obj, const char *path, const char *def);
int64_t ck_json_get_int(const cJSON *obj, const char *path, int64_t def);
bool ck_json_get_bool(const cJSON *obj, const char *path, bool def);

/* Sets path to val (takes ownership of val, also on failure: it is then freed),
 * creating intermediate objects. Replaces an existing value. Returns 0, or -EINVAL
 * (obj unchanged) when a segment is not an object, an array index is out of range, the
 * path is empty or val is NULL. */
int ck_json_set(cJSON *obj, const char *path, cJSON *val);
int ck_json_set_str(cJSON *obj, const char *path, const char *s);
int ck_json_set_int(cJSON *obj, const char *path, int64_t v);
int ck_json_set_bool(cJSON *obj, const char *path, bool v);
/* Removes path if present (and frees the removed value). */
void ck_json_remove(cJSON *obj, const char *path);

/* Deep copy (never NULL for non-NULL input) and deep equality (object key order ignored). */
cJSON *ck_json_dup(const cJSON *j);
bool ck_json_equal(const cJSON *a, const cJSON *b);

/* JSON merge patch (RFC 7386): applies patch to *target in place (may replace *target
 * when the patch is not an object, or when *target is NULL or not an object). Returns 0. */
int ck_json_merge_patch(cJSON **target, const cJSON *patch);

/* JSON patch (RFC 6902): add, remove, replace, move, copy, test, with JSON pointers
 * (RFC 6901, ~0 ~1 escapes, "-" for array end). Atomic: on any failure *target is
 * unchanged. Returns 0, -EINVAL for a malformed patch or path, CK_ECONFLICT when a
 * `test` fails; *err says which operation. */
int ck_json_patch(cJSON **target, const cJSON *patch, ck_err **err);

/* The node an RFC 6901 JSON pointer names ("" is doc itself, "/a/0", "~1" for '/',
 * "~0" for '~'), borrowed; NULL when missing or the pointer is malformed. */
cJSON *ck_json_pointer_get(const cJSON *doc, const char *ptr);

/* RFC 3339 timestamps as Kubernetes writes them: "2026-11-22T17:33:27Z" (seconds)
 * and "2026-11-22T17:33:27.627123Z" (micro, for MicroTime). Output malloc'd, UTC. */
char *ck_time_rfc3339(const struct timespec *t, bool micro);
/* The current wall-clock time (CLOCK_REALTIME) as ck_time_rfc3339 writes it. */
char *ck_time_now_rfc3339(bool micro);
/* Parses any RFC 3339 form (fraction optional, Z or +hh:mm). Returns 0 or -EINVAL. */
int ck_time_parse_rfc3339(const char *s, struct timespec *out);

#endif
