/* libFuzzer target: arbitrary bytes through the HTTP request parser, with small limits
 * so that the 413/431 paths are reached too. */
#include <stddef.h>
#include <stdint.h>

#include "net/http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n = 0;
	http_parse_for_test(data, size, 4096, 65536, &n);
	return 0;
}
