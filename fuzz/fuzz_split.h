/* Splits a fuzz input at its first NUL byte into a target document and a patch. */
#ifndef CK_FUZZ_SPLIT_H
#define CK_FUZZ_SPLIT_H

#include <stdint.h>
#include <string.h>

static inline int fuzz_split(const uint8_t *data, size_t size, const char **a, size_t *alen,
                             const char **b, size_t *blen)
{
	const uint8_t *nul = memchr(data, 0, size);
	if (!nul)
		return -1;
	*a = (const char *)data;
	*alen = (size_t)(nul - data);
	*b = (const char *)nul + 1;
	*blen = size - *alen - 1;
	return 0;
}

#endif
