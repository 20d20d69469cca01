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
		ck_err_set(&b->err, rc, "creating system namespaces: %s",
		           err ? err->msg : ck_strerror(rc));
	}
	if (--b->pending)
		return;
	b->done(b->rc, b->err, b->data);
	ck_err_free(b->err);
	free(b);
}

void server_bootstrap(apiserver *s, void (*done)(int rc, const ck_err *err, void *data), void *data)
{
	bootstrap *b = ck_calloc(1, sizeof(*b));
	b->done = done;
	b->data = data;
	b->pending = CK_ARRAY_SIZE(system_namespaces);
	const kind_desc *k = kind_by_resource("", "v1", "namespaces");
	for (size_t i = 0; i < CK_ARRAY_SIZE(system_namespaces); i++) {
		_cleanup_json_ cJSON *ns = cJSON_CreateObject();
		ck_json_set_str(ns, "metadata.name", system_namespaces[i]);
		defaults_for_create(k, ns, NULL);
		_cleanup_free_ char *key = storage_key(s, k, NULL, system_namespaces[i]);
		_cleanup_free_ char *val = storage_encode(k, ns);
		etcd_put_if(s->etcd, key, strlen(key), 0, val, strlen(val), 0, created, b);
	}
}
