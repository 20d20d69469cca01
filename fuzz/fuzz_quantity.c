/* Fuzz entry: quantity parsing never crashes, and what parses formats and reads back equal. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	quantity q;
	if (quantity_parse(s, &q) == 0) {
		char *f = quantity_format(&q);
		quantity back;
		if (quantity_parse(f, &back) != 0 || back.milli != q.milli)
			abort();
		free(f);
	}
	free(s);
	return 0;
}
