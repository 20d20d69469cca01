/* libFuzzer target: arbitrary bytes through the HTTP request parser (with small limits,
 * so that the 413 and 431 paths are reached too). Checks that parsing is incremental: a
 * prefix never sees more requests than the whole input, and an error in a prefix is
 * the same error, after the same requests, in the whole. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n_all = 0, n_pre = 0;
	int st_all = http_parse_for_test(data, size, 4096, 65536, &n_all);
	if (st_all != 0 && st_all != 400 && st_all != 413 && st_all != 431)
		abort();
	if (size < 2)
		return 0;
	size_t cut = (size_t)data[0] * size / 256;
	int st_pre = http_parse_for_test(data, cut, 4096, 65536, &n_pre);
	if (n_pre > n_all)
		abort();
	if (st_pre && (st_pre != st_all || n_pre != n_all))
		abort();
	return 0;
}
