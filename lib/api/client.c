/* STUB: to be implemented. */
#include "api/client.h"
#include <errno.h>
#include <stdlib.h>

int kc_client_new(uv_loop_t *loop, const kubeconfig *kc, kc_client **out, ck_err **err)
{
	return -ENOSYS;
}

void kc_client_free(kc_client *c)
{
}

uv_loop_t *kc_client_loop(const kc_client *c)
{
	return NULL;
}

httpc *kc_client_http(kc_client *c)
{
	return NULL;
}

char *kc_path(const kc_resource *r, const char *ns, const char *name, const char *subresource)
{
	return NULL;
}

char *kc_list_query(const char *path, const kc_list_opts *o, bool watch)
{
	return NULL;
}

int kc_get(kc_client *c, const kc_resource *r, const char *ns, const char *name, kc_result_fn cb,
           void *user)
{
	return -ENOSYS;
}

int kc_list(kc_client *c, const kc_resource *r, const char *ns, const kc_list_opts *o,
            kc_result_fn cb, void *user)
{
	return -ENOSYS;
}

int kc_create(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj, kc_result_fn cb,
              void *user)
{
	return -ENOSYS;
}

int kc_update(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj, kc_result_fn cb,
              void *user)
{
	return -ENOSYS;
}

int kc_update_status(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj,
                     kc_result_fn cb, void *user)
{
	return -ENOSYS;
}

int kc_patch(kc_client *c, const kc_resource *r, const char *ns, const char *name, const char *sub,
             enum kc_patch_type type, const cJSON *patch, kc_result_fn cb, void *user)
{
	return -ENOSYS;
}

int kc_delete(kc_client *c, const kc_resource *r, const char *ns, const char *name,
              const kc_delete_opts *o, kc_result_fn cb, void *user)
{
	return -ENOSYS;
}

int kc_post_subresource(kc_client *c, const kc_resource *r, const char *ns, const char *name,
                        const char *sub, const cJSON *obj, kc_result_fn cb, void *user)
{
	return -ENOSYS;
}

int kc_request(kc_client *c, const char *method, const char *path, const char *content_type,
               const cJSON *body, kc_result_fn cb, void *user)
{
	return -ENOSYS;
}

int kc_watch_start(kc_client *c, const kc_resource *r, const char *ns, const kc_list_opts *o,
                   kc_event_fn on_event, kc_watch_end_fn on_end, void *user, kc_watch **out)
{
	return -ENOSYS;
}

void kc_watch_stop(kc_watch *w)
{
}

kc_watch_decoder *kc_watch_decoder_new(kc_event_fn on_event, void *user)
{
	return NULL;
}

int kc_watch_decoder_feed(kc_watch_decoder *d, const void *data, size_t len, ck_err **err)
{
	return -ENOSYS;
}

void kc_watch_decoder_free(kc_watch_decoder *d)
{
}

int kc_event_type_parse(const char *s)
{
	return -ENOSYS;
}

const char *kc_event_type_name(enum kc_event_type t)
{
	return NULL;
}

int kc_status_error(int status, const char *body, size_t len, ck_err **err)
{
	return -ENOSYS;
}

int kc_sync_new(const kubeconfig *kc, kc_sync **out, ck_err **err)
{
	return -ENOSYS;
}

void kc_sync_free(kc_sync *s)
{
}

int kc_sync_request(kc_sync *s, const char *method, const char *path, const char *content_type,
                    const cJSON *body, cJSON **out, ck_err **err)
{
	return -ENOSYS;
}

const char *kc_obj_namespace(const cJSON *obj)
{
	return NULL;
}

const char *kc_obj_name(const cJSON *obj)
{
	return NULL;
}

const char *kc_obj_uid(const cJSON *obj)
{
	return NULL;
}

const char *kc_obj_resource_version(const cJSON *obj)
{
	return NULL;
}

const kc_resource KC_PODS, KC_NODES, KC_NAMESPACES, KC_EVENTS, KC_SERVICES, KC_ENDPOINTS,
    KC_CONFIGMAPS, KC_SECRETS, KC_SERVICEACCOUNTS, KC_DEPLOYMENTS, KC_REPLICASETS, KC_STATEFULSETS,
    KC_DAEMONSETS, KC_JOBS, KC_LEASES, KC_ENDPOINTSLICES;