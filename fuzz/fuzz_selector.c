/* libFuzzer target: arbitrary text through the label and field selector parsers. A label
 * selector that parses prints to a canonical form that parses again to the same form, and
 * matching never crashes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = ck_strndup((const char *)data, size);
	selector *sel = NULL;
	ck_err *err = NULL;
	if (selector_parse_labels(s, &sel, &err) == 0) {
		char *text = selector_format(sel);
		selector *again = NULL;
		if (selector_parse_labels(text, &again, NULL) < 0)
			abort();
		char *text2 = selector_format(again);
		if (strcmp(text, text2))
			abort();
		cJSON *labels = cJSON_CreateObject();
		cJSON_AddStringToObject(labels, "app", "web");
		(void)selector_match_labels(sel, labels);
		cJSON_Delete(labels);
		free(text);
		free(text2);
		selector_free(again);
	}
	sel = selector_free(sel);
	err = ck_err_free(err);
	if (selector_parse_fields(s, &sel, &err) == 0 && !sel)
		abort();
	selector_free(sel);
	ck_err_free(err);
	free(s);
	return 0;
}
