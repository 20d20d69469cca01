/* bootstrap: what every cluster has from its first start. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "defaults.h"
#include "storage.h"

static const char *const system_namespaces[] = {"default", "kube-system", "kube-public",
                                                "kube-node-lease"};

typedef struct bootstrap {
	size_t pending;
	int rc;
	ck_err *err;
	void (*done)(int rc, const ck_err *err, void *data);
	void *data;
} bootstrap;

static void created(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
	bootstrap *b = data;
	/* A conflict means another apiserver (or an earlier start) created it. */
	if (rc < 0 && rc != CK_ECONFLICT && !b->rc) {
		b->rc = rc;
		ck_err_set(&b->err, rc, "creating the cluster's first objects: %s",
		           err ? err->msg : ck_strerror(rc));
	}
	if (--b->pending)
		return;
	b->done(b->rc, b->err, b->data);
	ck_err_free(b->err);
	free(b);
}

static void put_if_absent(apiserver *s, bootstrap *b, const char *key, const char *val)
{
	b->pending++;
	etcd_put_if(s->etcd, key, strlen(key), 0, val, strlen(val), 0, created, b);
}

/* Creates obj (JSON text) of kind plural in ns unless it exists. */
static void create_object(apiserver *s, bootstrap *b, const char *plural, const char *ns,
                          const char *json)
{
	const kind_desc *k = kind_by_resource("", "v1", plural);
	_cleanup_json_ cJSON *obj = ck_json_parse(json, strlen(json), NULL);
	defaults_for_create(k, obj, ns);
	_cleanup_free_ char *key = storage_key(s, k, ns, ck_json_get_str(obj, "metadata.name", ""));
	_cleanup_free_ char *val = storage_encode(k, obj);
	put_if_absent(s, b, key, val);
}

void server_bootstrap(apiserver *s, const char *advertise_address, int secure_port,
                      void (*done)(int rc, const ck_err *err, void *data), void *data)
{
	bootstrap *b = ck_calloc(1, sizeof(*b));
	b->done = done;
	b->data = data;
	/* Held until every write is started, so that done runs once, after the last. */
	b->pending = 1;
	for (size_t i = 0; i < CK_ARRAY_SIZE(system_namespaces); i++) {
		_cleanup_free_ char *ns =
		    ck_asprintf("{\"metadata\":{\"name\":\"%s\"}}", system_namespaces[i]);
		create_object(s, b, "namespaces", NULL, ns);
	}
	/* The "kubernetes" service on the range's first address, as upstream. */
	_cleanup_free_ char *ip = alloc_value_text(&s->svc_ips, 1);
	int port = secure_port ? secure_port : 6443;
	_cleanup_free_ char *svc = ck_asprintf(
	    "{\"metadata\":{\"name\":\"kubernetes\",\"labels\":{\"component\":\"apiserver\","
	    "\"provider\":\"kubernetes\"}},\"spec\":{\"clusterIP\":\"%s\",\"clusterIPs\":[\"%s\"],"
	    "\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\",\"targetPort\":%d}]}"
	    "}",
	    ip, ip, port);
	create_object(s, b, "services", "default", svc);
	_cleanup_free_ char *ip_key = alloc_value_key(s, &s->svc_ips, ip);
	put_if_absent(s, b, ip_key, "default/kubernetes");
	if (advertise_address && *advertise_address) {
		_cleanup_free_ char *ep = ck_asprintf(
		    "{\"metadata\":{\"name\":\"kubernetes\",\"labels\":{\"endpointslice.kubernetes."
		    "io/"
		    "skip-mirror\":\"true\"}},\"subsets\":[{\"addresses\":[{\"ip\":\"%s\"}],"
		    "\"ports\":[{\"name\":\"https\",\"port\":%d,\"protocol\":\"TCP\"}]}]}",
		    advertise_address, port);
		create_object(s, b, "endpoints", "default", ep);
	}
	created(0, NULL, NULL, b);
}
