/* Fuzzes the text parsers of times and durations (API query parameters such as
 * ?timeout=30s and timestamps in objects): what parses must format and parse back equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/flags.h"
#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = ck_strndup((const char *)data, size);

	int64_t ms;
	if (ck_duration_parse(s, &ms) == 0 && ms > -9000000000000LL && ms < 9000000000000LL) {
		_cleanup_free_ char *f = ck_duration_format(ms);
		int64_t back;
		if (ck_duration_parse(f, &back) != 0 || back != ms)
			abort();
	}

	struct timespec t;
	if (ck_time_parse_rfc3339(s, &t) == 0) {
		if (t.tv_nsec < 0 || t.tv_nsec >= 1000000000L)
			abort();
		/* years 0001..9999 format back into the same form */
		if (t.tv_sec >= -62135596800LL && t.tv_sec <= 253402300799LL) {
			_cleanup_free_ char *f = ck_time_rfc3339(&t, true);
			struct timespec back;
			if (ck_time_parse_rfc3339(f, &back) != 0 || back.tv_sec != t.tv_sec ||
			    back.tv_nsec != t.tv_nsec / 1000 * 1000)
				abort();
		}
	}
	return 0;
}
