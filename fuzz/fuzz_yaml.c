/* Fuzz entry: the YAML loader and the emitter round trip must never crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ck_err *err = NULL;
	cJSON *all = ck_yaml_parse_all((const char *)data, size, &err);
	ck_err_free(err);
	if (all) {
		char *text = ck_yaml_print(all);
		err = NULL;
		cJSON *back = ck_yaml_parse(text, strlen(text), &err);
		ck_err_free(err);
		cJSON_Delete(back);
		free(text);
		cJSON_Delete(all);
	}
	return 0;
}
