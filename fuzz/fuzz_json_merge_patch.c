/* Fuzzes ck_json_merge_patch. Input: target JSON, a NUL byte, patch JSON.
 * Checks that a merge patch is idempotent (RFC 7386) and leaves the patch untouched. */
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
	_cleanup_json_ cJSON *patch_copy = ck_json_dup(patch);
	if (ck_json_merge_patch(&target, patch) != 0 || !target)
		abort();
	_cleanup_json_ cJSON *again = ck_json_dup(target);
	if (ck_json_merge_patch(&again, patch) != 0 || !ck_json_equal(again, target))
		abort();
	if (!ck_json_equal(patch, patch_copy))
		abort();
	_cleanup_free_ char *s = ck_json_print(target);
	if (!s || !*s)
		abort();
	return 0;
}
