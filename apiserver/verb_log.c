/* verb_log: GET .../pods/<name>/log, proxied to the kubelet of the pod's node
 * (https://<node address>:<kubelet port>/containerLogs/<ns>/<pod>/<container>), streamed
 * back as it arrives (follow=true keeps it open). */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "status.h"
#include "storage.h"

typedef struct log_proxy {
	char *container;
	char *path; /* /containerLogs/<ns>/<pod>/<container>?<query> */
	httpc_req *h;
	bool streaming;
} log_proxy;

static void log_proxy_free(void *p)
{
	log_proxy *lp = p;
	free(lp->container);
	free(lp->path);
	free(lp);
}

static bool has_container(const cJSON *pod, const char *list, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ck_json_get(pod, list))
	{
		if (!strcmp(ck_json_get_str(c, "name", ""), name))
			return true;
	}
	return false;
}

/* The container the request names, or the pod's only one; NULL after answering 400. */
static char *pick_container(api_req *r, const cJSON *pod)
{
	_cleanup_free_ char *want = http_request_query(r->hr, "container");
	const cJSON *cs = ck_json_get(pod, "spec.containers");
	if (want && *want) {
		if (has_container(pod, "spec.containers", want) ||
		    has_container(pod, "spec.initContainers", want))
			return CK_TAKE_PTR(want);
		status_bad_request(r->x, "container %s is not valid for pod %s", want, r->rt.name);
		return NULL;
	}
	if (cJSON_GetArraySize(cs) == 1)
		return ck_strdup(ck_json_get_str(cs->child, "name", ""));
	_cleanup_buf_ ck_buf names = {0};
	const cJSON *c;
	cJSON_ArrayForEach(c, cs)
	{
		ck_buf_printf(&names, "%s%s", names.len ? " " : "", ck_json_get_str(c, "name", ""));
	}
	status_bad_request(r->x,
	                   "a container name must be specified for pod %s, choose one of: [%s]",
	                   r->rt.name, ck_buf_str(&names));
	return NULL;
}

/* /containerLogs/... with the log options the request carries. */
static char *kubelet_path(api_req *r, const char *container)
{
	static const char *const params[] = {"follow",     "tailLines",    "timestamps", "previous",
	                                     "limitBytes", "sinceSeconds", "sinceTime"};
	_cleanup_free_ char *ns = httpc_escape(r->rt.ns);
	_cleanup_free_ char *pod = httpc_escape(r->rt.name);
	_cleanup_free_ char *ctr = httpc_escape(container);
	_cleanup_buf_ ck_buf b = {0};
	ck_buf_printf(&b, "/containerLogs/%s/%s/%s", ns, pod, ctr);
	char sep = '?';
	for (size_t i = 0; i < CK_ARRAY_SIZE(params); i++) {
		_cleanup_free_ char *v = http_request_query(r->hr, params[i]);
		if (!v)
			continue;
		_cleanup_free_ char *ev = httpc_escape(v);
		ck_buf_printf(&b, "%c%s=%s", sep, params[i], ev);
		sep = '&';
	}
	return ck_buf_steal(&b);
}

static void on_client_gone(http_exchange *x, void *data)
{
	api_req *r = data;
	log_proxy *lp = r->verb_data;
	httpc_cancel(lp->h);
	if (lp->streaming)
		http_stream_end(x);
	else
		http_respond(x, 499, "text/plain", "", 0);
	api_req_free(r);
}

static int on_chunk(const void *data, size_t len, void *user)
{
	api_req *r = user;
	log_proxy *lp = r->verb_data;
	if (!lp->streaming) {
		http_stream_begin(r->x, httpc_req_status(lp->h), "text/plain");
		lp->streaming = true;
	}
	return http_stream_write(r->x, data, len) < 0;
}

static void on_done(const httpc_response *resp, void *user)
{
	api_req *r = user;
	log_proxy *lp = r->verb_data;
	if (lp->streaming)
		http_stream_end(r->x);
	else if (resp->rc)
		status_internal(r->x, "Get \"%s\": %s", lp->path,
		                resp->error ? resp->error : "failed");
	else
		http_respond(r->x, resp->status, "text/plain", "", 0);
	api_req_free(r);
}

static const char *node_address(const apiserver *s, const cJSON *node)
{
	for (char *const *t = s->kubelet_address_types; t && *t; t++) {
		const cJSON *a;
		cJSON_ArrayForEach(a, ck_json_get(node, "status.addresses"))
		{
			if (!strcmp(ck_json_get_str(a, "type", ""), *t))
				return ck_json_get_str(a, "address", NULL);
		}
	}
	return NULL;
}

static void got_node(api_req *r, const cJSON *node)
{
	log_proxy *lp = r->verb_data;
	if (http_exchange_closed(r->x)) {
		/* The client left while the pod and node were read. */
		http_respond(r->x, 499, "text/plain", "", 0);
		api_req_free(r);
		return;
	}
	const char *addr = node ? node_address(r->srv, node) : NULL;
	if (!addr) {
		status_bad_request(r->x, "no address of node %s is known to reach its kubelet",
		                   node ? ck_json_get_str(node, "metadata.name", "") : "(missing)");
		api_req_free(r);
		return;
	}
	int64_t port = ck_json_get_int(node, "status.daemonEndpoints.kubeletEndpoint.Port", 10250);
	_cleanup_free_ char *url =
	    ck_asprintf("%s://%s%s%s:%lld%s", r->srv->kubelet_scheme, strchr(addr, ':') ? "[" : "",
	                addr, strchr(addr, ':') ? "]" : "", (long long)port, lp->path);
	httpc_request hr = {.url = url,
	                    .accept = "*/*",
	                    .timeout_ms = -1,
	                    .no_retry = true,
	                    .on_chunk = on_chunk,
	                    .on_done = on_done,
	                    .user = r};
	if (httpc_start(r->srv->kubelet, &hr, &lp->h) < 0) {
		status_internal(r->x, "cannot reach the kubelet at %s", url);
		api_req_free(r);
		return;
	}
	http_exchange_on_close(r->x, on_client_gone, r);
}

static void got_pod(api_req *r, const cJSON *pod)
{
	log_proxy *lp = r->verb_data;
	if (!pod) {
		status_not_found(r->x, r->rt.kind, r->rt.name);
		api_req_free(r);
		return;
	}
	lp->container = pick_container(r, pod);
	if (!lp->container) {
		api_req_free(r);
		return;
	}
	const char *node = ck_json_get_str(pod, "spec.nodeName", "");
	if (!*node) {
		status_bad_request(r->x, "pod %s does not have a host assigned", r->rt.name);
		api_req_free(r);
		return;
	}
	lp->path = kubelet_path(r, lp->container);
	_cleanup_free_ char *key =
	    storage_key(r->srv, kind_by_resource("", "v1", "nodes"), NULL, node);
	storage_get(r, key, got_node);
}

void verb_log(api_req *r)
{
	r->verb_data = ck_calloc(1, sizeof(log_proxy));
	r->verb_free = log_proxy_free;
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_get(r, key, got_pod);
}
