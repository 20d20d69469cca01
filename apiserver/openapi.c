/* openapi: /openapi/v2 and /openapi/v3 documents. */
#include "server.h"

#include "status.h"

void openapi_serve(http_exchange *x, const route *rt)
{
	status_path_not_found(x);
}
