/* STUB: to be implemented. */
#include "net/http_client.h"
#include <errno.h>
#include <stdlib.h>

int httpc_new(uv_loop_t *loop, const httpc_opts *opts, httpc **out, ck_err **err)
{
	return -ENOSYS;
}

void httpc_free(httpc *c)
{
}

int httpc_start(httpc *c, const httpc_request *r, httpc_req **out)
{
	return -ENOSYS;
}

void httpc_cancel(httpc_req *h)
{
}

int httpc_req_status(const httpc_req *h)
{
	return -ENOSYS;
}

size_t httpc_in_flight(const httpc *c)
{
	return 0;
}

int httpc_sync_new(const httpc_opts *opts, httpc_sync **out, ck_err **err)
{
	return -ENOSYS;
}

int httpc_sync_do(httpc_sync *s, const httpc_request *r, httpc_response *resp, ck_err **err)
{
	return -ENOSYS;
}

void httpc_sync_free(httpc_sync *s)
{
}

void httpc_response_clear(httpc_response *resp)
{
}

char *httpc_escape(const char *s)
{
	return NULL;
}
