/* openapi: the OpenAPI documents kubectl reads before validating manifests.
 *
 * kubectl asks /openapi/v3 first and falls back to /openapi/v2, which client-go decodes as
 * a protobuf openapi_v2.Document. An empty document is a valid message: kubectl then
 * finds no schema for a kind and skips client-side validation, and the server validates. */
#include "server.h"

#include "status.h"

void openapi_serve(http_exchange *x, const route *rt)
{
	if (rt->type == ROUTE_OPENAPI_V2) {
		http_respond(x, 200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
		             "", 0);
		return;
	}
	status_path_not_found(x);
}
