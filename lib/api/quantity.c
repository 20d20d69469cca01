/* STUB: to be implemented. */
#include "api/quantity.h"
#include <errno.h>
#include <stdlib.h>

int quantity_parse(const char *s, quantity *out)
{
	return -ENOSYS;
}

int quantity_from_json(const cJSON *j, quantity *out)
{
	return -ENOSYS;
}

int64_t quantity_milli(const char *s, int64_t def)
{
	return 0;
}

int64_t quantity_value(const quantity *q)
{
	return 0;
}

char *quantity_format(const quantity *q)
{
	return NULL;
}
