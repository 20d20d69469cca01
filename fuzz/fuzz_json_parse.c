/* Fuzzes ck_json_parse and the printers: whatever parses must print, and the compact
 * print must parse back to an equal value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_err_ ck_err *err = NULL;
	_cleanup_json_ cJSON *j = ck_json_parse((const char *)data, size, &err);
	if (!j) {
		if (!err || err->code != -EINVAL)
			abort();
		return 0;
	}
	_cleanup_free_ char *s = ck_json_print(j);
	_cleanup_free_ char *pretty = ck_json_print_pretty(j);
	_cleanup_json_ cJSON *back = ck_json_parse(s, strlen(s), NULL);
	_cleanup_json_ cJSON *back_pretty = ck_json_parse(pretty, strlen(pretty), NULL);
	if (!back || !ck_json_equal(j, back) || !back_pretty || !ck_json_equal(j, back_pretty))
		abort();
	_cleanup_json_ cJSON *copy = ck_json_dup(j);
	if (!ck_json_equal(copy, j))
		abort();
	return 0;
}
