/* server: /healthz and /metrics. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "net/http_server.h"

struct proxy_server {
	http_server *http;
	proxier *p;
};

static void handle(http_exchange *x, void *data)
{
	proxy_server *s = data;
	const http_request *r = http_exchange_request(x);
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
		http_respond(x, 405, "text/plain", "method not allowed\n", 19);
		return;
	}
	if (!strcmp(r->path, "/healthz") || !strcmp(r->path, "/livez")) {
		_cleanup_free_ char *body = NULL;
		bool ok = proxier_healthy(s->p, &body);
		http_respond(x, ok ? 200 : 503, "application/json", body, strlen(body));
		return;
	}
	if (!strcmp(r->path, "/metrics")) {
		_cleanup_buf_ ck_buf b = {0};
		proxier_metrics(s->p, &b);
		http_respond(x, 200, "text/plain; version=0.0.4", ck_buf_str(&b), b.len);
		return;
	}
	http_respond(x, 404, "text/plain", "404 page not found\n", 19);
}

int proxy_server_new(uv_loop_t *loop, const char *bind, proxier *p, proxy_server **out,
                     ck_err **err)
{
	_cleanup_free_ char *host = NULL;
	int port;
	if (proxy_split_host_port(bind, &host, &port) < 0)
		return ck_err_set(err, -EINVAL, "invalid bind address \"%s\"", bind);
	proxy_server *s = ck_calloc(1, sizeof(*s));
	s->p = p;
	http_server_opts o = {.bind_address = host, .port = port};
	int r = http_server_new(loop, &o, handle, s, &s->http, err);
	if (r < 0) {
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void proxy_server_free(proxy_server *s)
{
	if (!s)
		return;
	/* s stays the handler's data until the last connection closed. */
	http_server_shutdown(s->http, free, s);
}
