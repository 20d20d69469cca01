/* filter: which objects a list or watch returns (namespace, labelSelector, fieldSelector). */
#ifndef CK_APISERVER_FILTER_H
#define CK_APISERVER_FILTER_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "api/selector.h"
#include "server.h"

typedef struct api_filter {
	const kind_desc *kind;
	char *ns; /* NULL: every namespace */
	selector *labels;
	selector *fields;
} api_filter;

/* From the request's route (namespace, and the name of a watch on one object's path) and
 * its labelSelector and fieldSelector. On a malformed selector or a field the kind does not
 * answer, answers 400 and returns -1 (f is then cleared). */
int api_filter_init(api_req *r, api_filter *f);
/* True when obj is in the namespace and satisfies both selectors. */
bool api_filter_match(const api_filter *f, const cJSON *obj);
/* Frees what f holds and zeroes it. */
void api_filter_clear(api_filter *f);

#endif
