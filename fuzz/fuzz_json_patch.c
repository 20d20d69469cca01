/* Fuzzes ck_json_patch (RFC 6902). Input: target JSON, a NUL byte, patch JSON.
 * Checks atomicity: on failure the target is the same object with the same value. */
#include <stdint.h>
#include <stdlib.h>

#include "base/json.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t, *p;
	size_t tlen, plen;
	if (fuzz_split(data, size, &t, &tlen, &p, &plen) < 0)
		return 0;
	_cleanup_json_ cJSON *target = ck_json_parse(t, tlen, NULL);
	_cleanup_json_ cJSON *patch = ck_json_parse(p, plen, NULL);
	if (!target || !patch)
		return 0;
	_cleanup_json_ cJSON *orig = ck_json_dup(target);
	cJSON *before = target;
	_cleanup_err_ ck_err *err = NULL;
	int r = ck_json_patch(&target, patch, &err);
	if (r < 0) {
		if (!err || err->code != r || (r != -EINVAL && r != CK_ECONFLICT))
			abort();
		if (target != before || !ck_json_equal(target, orig))
			abort();
		return 0;
	}
	if (err || !target)
		abort();
	_cleanup_free_ char *s = ck_json_print(target);
	if (!s || !*s)
		abort();
	return 0;
}
