/* STUB: to be implemented. */
#include "base/yaml.h"
#include <errno.h>
#include <stdlib.h>

cJSON *ck_yaml_parse(const char *buf, size_t len, ck_err **err)
{
	return NULL;
}

cJSON *ck_yaml_parse_all(const char *buf, size_t len, ck_err **err)
{
	return NULL;
}

char *ck_yaml_print(const cJSON *j)
{
	return NULL;
}
