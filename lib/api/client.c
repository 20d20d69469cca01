/* client: typed apiserver requests. See client.h. */
#include "api/client.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/list.h"
#include "base/log.h"
#include "base/strbuf.h"

struct kc_client {
	uv_loop_t *loop;
	httpc *http;
	kc_watch *watches;     /* doubly linked */
	struct kc_call *calls; /* doubly linked, requests in flight */
};

/* ---- paths ---- */

char *kc_path(const kc_resource *r, const char *ns, const char *name, const char *subresource)
{
	ck_buf b = {0};
	if (!r->group || !*r->group)
		ck_buf_printf(&b, "/api/%s", r->version);
	else
		ck_buf_printf(&b, "/apis/%s/%s", r->group, r->version);
	if (ns && *ns && r->namespaced) {
		_cleanup_free_ char *e = httpc_escape(ns);
		ck_buf_printf(&b, "/namespaces/%s", e);
	}
	ck_buf_printf(&b, "/%s", r->plural);
	if (name && *name) {
		_cleanup_free_ char *e = httpc_escape(name);
		ck_buf_printf(&b, "/%s", e);
		if (subresource && *subresource)
			ck_buf_printf(&b, "/%s", subresource);
	}
	return ck_buf_steal(&b);
}

static void query_add(ck_buf *b, const char *key, const char *value)
{
	_cleanup_free_ char *e = httpc_escape(value);
	ck_buf_printf(b, "%c%s=%s", strchr(ck_buf_str(b), '?') ? '&' : '?', key, e);
}

char *kc_list_query(const char *path, const kc_list_opts *o, bool watch)
{
	ck_buf b = {0};
	ck_buf_puts(&b, path);
	if (watch)
		query_add(&b, "watch", "1");
	if (!o)
		return ck_buf_steal(&b);
	if (o->label_selector && *o->label_selector)
		query_add(&b, "labelSelector", o->label_selector);
	if (o->field_selector && *o->field_selector)
		query_add(&b, "fieldSelector", o->field_selector);
	if (o->resource_version && *o->resource_version)
		query_add(&b, "resourceVersion", o->resource_version);
	if (o->resource_version_match && *o->resource_version_match)
		query_add(&b, "resourceVersionMatch", o->resource_version_match);
	if (o->limit > 0) {
		char n[32];
		snprintf(n, sizeof(n), "%lld", (long long)o->limit);
		query_add(&b, "limit", n);
	}
	if (o->continue_ && *o->continue_)
		query_add(&b, "continue", o->continue_);
	if (watch && o->timeout_seconds > 0) {
		char n[32];
		snprintf(n, sizeof(n), "%d", o->timeout_seconds);
		query_add(&b, "timeoutSeconds", n);
	}
	if (watch && o->allow_watch_bookmarks)
		query_add(&b, "allowWatchBookmarks", "true");
	return ck_buf_steal(&b);
}

/* ---- errors ---- */

int kc_status_error(int status, const char *body, size_t len, ck_err **err)
{
	_cleanup_json_ cJSON *st = body && len ? ck_json_parse(body, len, NULL) : NULL;
	const char *reason = st ? ck_json_get_str(st, "reason", "") : "";
	const char *msg = st ? ck_json_get_str(st, "message", NULL) : NULL;
	_cleanup_free_ char *fallback = NULL;
	if (!msg) {
		size_t n = len > 200 ? 200 : len;
		fallback = body && n ? ck_strndup(body, n) : ck_asprintf("HTTP status %d", status);
		msg = fallback;
	}
	int code;
	switch (status) {
	case 404:
		code = -ENOENT;
		break;
	case 409:
		code = !strcmp(reason, "AlreadyExists") ? -EEXIST : CK_ECONFLICT;
		break;
	case 410:
		code = CK_EGONE;
		break;
	case 401:
	case 403:
		code = -EACCES;
		break;
	case 400:
	case 422:
		code = -EINVAL;
		break;
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		code = CK_EUNAVAILABLE;
		break;
	default:
		code = CK_EHTTP;
	}
	return ck_err_set(err, code, "%s", msg);
}

/* ---- async requests ---- */

typedef struct kc_call {
	kc_client *c;
	struct kc_call *prev, *next;
	kc_result_fn cb;
	void *user;
	httpc_req *req;
} call;

void *kc_call_user(const kc_call *cl)
{
	return cl->user;
}

void kc_call_cancel(kc_call *cl)
{
	if (!cl)
		return;
	httpc_cancel(cl->req);
	CK_LIST_REMOVE(cl->c->calls, cl);
	free(cl);
}

static void result_from_response(const httpc_response *r, kc_result *res)
{
	memset(res, 0, sizeof(*res));
	res->status = r->status;
	if (r->rc < 0) {
		res->rc =
		    ck_err_set(&res->err, r->rc, "%s", r->error ? r->error : ck_strerror(r->rc));
		return;
	}
	if (r->status < 200 || r->status >= 300) {
		res->rc = kc_status_error(r->status, r->body, r->body_len, &res->err);
		res->obj = r->body_len ? ck_json_parse(r->body, r->body_len, NULL) : NULL;
		return;
	}
	if (r->body_len) {
		ck_err *e = NULL;
		res->obj = ck_json_parse(r->body, r->body_len, &e);
		if (!res->obj) {
			res->rc = ck_err_wrap(&e, CK_EPROTO, "decoding the response");
			res->err = e;
		}
	}
}

static void on_call_done(const httpc_response *r, void *user)
{
	call *cl = user;
	CK_LIST_REMOVE(cl->c->calls, cl);
	kc_result res;
	result_from_response(r, &res);
	cl->cb(&res, cl->user);
	cJSON_Delete(res.obj);
	ck_err_free(res.err);
	free(cl);
}

/* The HTTP request for method and path with text (NULL: none) as its body. */
static httpc_request request_of(const char *method, const char *path, const char *content_type,
                                const char *text)
{
	return (httpc_request){
	    .method = method,
	    .path = path,
	    .content_type = content_type,
	    .body = text,
	    .body_len = text ? strlen(text) : 0,
	};
}

static int start_call(kc_client *c, const char *method, const char *path, const char *content_type,
                      const cJSON *body, bool background, kc_result_fn cb, void *user, call **out)
{
	_cleanup_free_ char *text = body ? ck_json_print(body) : NULL;
	call *cl = ck_calloc(1, sizeof(*cl));
	cl->cb = cb;
	cl->user = user;
	httpc_request q = request_of(method, path, content_type, text);
	q.background = background;
	q.on_done = on_call_done;
	q.user = cl;
	int rc = httpc_start(c->http, &q, &cl->req);
	if (rc < 0) {
		free(cl);
		return rc;
	}
	cl->c = c;
	CK_LIST_PREPEND(c->calls, cl);
	if (out)
		*out = cl;
	return 0;
}

static int start(kc_client *c, const char *method, const char *path, const char *content_type,
                 const cJSON *body, kc_result_fn cb, void *user)
{
	return start_call(c, method, path, content_type, body, false, cb, user, NULL);
}

int kc_request_call(kc_client *c, const char *method, const char *path, const char *content_type,
                    const cJSON *body, kc_result_fn cb, void *user, kc_call **out)
{
	return start_call(c, method, path, content_type, body, false, cb, user, out);
}

int kc_request(kc_client *c, const char *method, const char *path, const char *content_type,
               const cJSON *body, kc_result_fn cb, void *user)
{
	return start(c, method, path, content_type, body, cb, user);
}

int kc_get(kc_client *c, const kc_resource *r, const char *ns, const char *name, kc_result_fn cb,
           void *user)
{
	_cleanup_free_ char *p = kc_path(r, ns, name, NULL);
	return start(c, "GET", p, NULL, NULL, cb, user);
}

int kc_list(kc_client *c, const kc_resource *r, const char *ns, const kc_list_opts *o,
            kc_result_fn cb, void *user)
{
	_cleanup_free_ char *p = kc_path(r, ns, NULL, NULL);
	_cleanup_free_ char *q = kc_list_query(p, o, false);
	return start(c, "GET", q, NULL, NULL, cb, user);
}

int kc_create(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj, kc_result_fn cb,
              void *user)
{
	_cleanup_free_ char *p = kc_path(r, ns ? ns : kc_obj_namespace(obj), NULL, NULL);
	return start(c, "POST", p, NULL, obj, cb, user);
}

int kc_create_background(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj,
                         kc_result_fn cb, void *user)
{
	_cleanup_free_ char *p = kc_path(r, ns ? ns : kc_obj_namespace(obj), NULL, NULL);
	return start_call(c, "POST", p, NULL, obj, true, cb, user, NULL);
}

int kc_update(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj, kc_result_fn cb,
              void *user)
{
	const char *name = kc_obj_name(obj);
	if (!*name)
		return -EINVAL;
	_cleanup_free_ char *p = kc_path(r, ns ? ns : kc_obj_namespace(obj), name, NULL);
	return start(c, "PUT", p, NULL, obj, cb, user);
}

int kc_update_status(kc_client *c, const kc_resource *r, const char *ns, const cJSON *obj,
                     kc_result_fn cb, void *user)
{
	const char *name = kc_obj_name(obj);
	if (!*name)
		return -EINVAL;
	_cleanup_free_ char *p = kc_path(r, ns ? ns : kc_obj_namespace(obj), name, "status");
	return start(c, "PUT", p, NULL, obj, cb, user);
}

static const char *patch_content_type(enum kc_patch_type t)
{
	switch (t) {
	case KC_PATCH_JSON:
		return "application/json-patch+json";
	case KC_PATCH_STRATEGIC:
		return "application/strategic-merge-patch+json";
	case KC_PATCH_MERGE:
	default:
		return "application/merge-patch+json";
	}
}

int kc_patch(kc_client *c, const kc_resource *r, const char *ns, const char *name, const char *sub,
             enum kc_patch_type type, const cJSON *patch, kc_result_fn cb, void *user)
{
	_cleanup_free_ char *p = kc_path(r, ns, name, sub);
	return start(c, "PATCH", p, patch_content_type(type), patch, cb, user);
}

static cJSON *delete_options(const kc_delete_opts *o)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "kind", "DeleteOptions");
	cJSON_AddStringToObject(d, "apiVersion", "v1");
	if (o->grace_period_seconds >= 0)
		cJSON_AddNumberToObject(d, "gracePeriodSeconds", (double)o->grace_period_seconds);
	if (o->propagation_policy)
		cJSON_AddStringToObject(d, "propagationPolicy", o->propagation_policy);
	if (o->precondition_uid || o->precondition_resource_version) {
		cJSON *pre = cJSON_AddObjectToObject(d, "preconditions");
		if (o->precondition_uid)
			cJSON_AddStringToObject(pre, "uid", o->precondition_uid);
		if (o->precondition_resource_version)
			cJSON_AddStringToObject(pre, "resourceVersion",
			                        o->precondition_resource_version);
	}
	return d;
}

int kc_delete(kc_client *c, const kc_resource *r, const char *ns, const char *name,
              const kc_delete_opts *o, kc_result_fn cb, void *user)
{
	_cleanup_free_ char *p = kc_path(r, ns, name, NULL);
	_cleanup_json_ cJSON *body = o ? delete_options(o) : NULL;
	return start(c, "DELETE", p, NULL, body, cb, user);
}

int kc_post_subresource(kc_client *c, const kc_resource *r, const char *ns, const char *name,
                        const char *sub, const cJSON *obj, kc_result_fn cb, void *user)
{
	_cleanup_free_ char *p = kc_path(r, ns, name, sub);
	return start(c, "POST", p, NULL, obj, cb, user);
}

/* ---- client ---- */

int kc_client_new(uv_loop_t *loop, const kubeconfig *kc, kc_client **out, ck_err **err)
{
	httpc_opts o = {0};
	kubeconfig_httpc_opts(kc, &o);
	o.user_agent = "ckube/" CKUBE_VERSION;
	kc_client *c = ck_calloc(1, sizeof(*c));
	c->loop = loop;
	int rc = httpc_new(loop, &o, &c->http, err);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

uv_loop_t *kc_client_loop(const kc_client *c)
{
	return c->loop;
}

httpc *kc_client_http(kc_client *c)
{
	return c->http;
}

/* ---- watch decoding ----
 * Events are found by their JSON object boundaries (depth tracking outside strings), so
 * that both newline-delimited and back-to-back streams decode. */

struct kc_watch_decoder {
	kc_event_fn on_event;
	void *user;
	ck_buf buf;
	size_t scanned; /* bytes of buf already scanned */
	size_t start;   /* start of the current object, valid when depth > 0 */
	int depth;
	bool in_string, escape, spent;
};

kc_watch_decoder *kc_watch_decoder_new(kc_event_fn on_event, void *user)
{
	kc_watch_decoder *d = ck_calloc(1, sizeof(*d));
	d->on_event = on_event;
	d->user = user;
	return d;
}

void kc_watch_decoder_free(kc_watch_decoder *d)
{
	if (!d)
		return;
	ck_buf_free(&d->buf);
	free(d);
}

int kc_event_type_parse(const char *s)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
	for (size_t i = 0; s && i < CK_ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -EINVAL;
}

const char *kc_event_type_name(enum kc_event_type t)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
	return (unsigned)t < CK_ARRAY_SIZE(names) ? names[t] : "UNKNOWN";
}

static int decode_event(kc_watch_decoder *d, const char *p, size_t len, ck_err **err)
{
	_cleanup_json_ cJSON *ev = ck_json_parse(p, len, err);
	if (!ev)
		return ck_err_wrap(err, CK_EPROTO, "watch event");
	int type = kc_event_type_parse(ck_json_get_str(ev, "type", NULL));
	cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(ev, "object");
	if (type < 0 || !cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return ck_err_set(err, CK_EPROTO, "watch event without a known type and an object");
	}
	d->on_event((enum kc_event_type)type, &obj, d->user);
	cJSON_Delete(obj);
	return 0;
}

int kc_watch_decoder_feed(kc_watch_decoder *d, const void *data, size_t len, ck_err **err)
{
	if (d->spent)
		return ck_err_set(err, CK_EPROTO, "watch stream already failed");
	ck_buf_append(&d->buf, data, len);
	for (size_t i = d->scanned; i < d->buf.len; i++) {
		char ch = d->buf.s[i];
		if (d->in_string) {
			if (d->escape)
				d->escape = false;
			else if (ch == '\\')
				d->escape = true;
			else if (ch == '"')
				d->in_string = false;
			continue;
		}
		if (d->depth == 0) {
			if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
				continue;
			if (ch != '{') {
				d->spent = true;
				return ck_err_set(err, CK_EPROTO,
				                  "watch stream: unexpected byte 0x%02x",
				                  (unsigned char)ch);
			}
			d->start = i;
		}
		if (ch == '"') {
			d->in_string = true;
		} else if (ch == '{' || ch == '[') {
			if (++d->depth > 512) {
				d->spent = true;
				return ck_err_set(err, CK_EPROTO, "watch stream: nesting too deep");
			}
		} else if (ch == '}' || ch == ']') {
			if (--d->depth == 0) {
				int rc =
				    decode_event(d, d->buf.s + d->start, i + 1 - d->start, err);
				if (rc < 0) {
					d->spent = true;
					return rc;
				}
			}
		}
	}
	/* Keep only the object still incomplete. */
	if (d->depth > 0) {
		size_t rest = d->buf.len - d->start;
		memmove(d->buf.s, d->buf.s + d->start, rest);
		ck_buf_truncate(&d->buf, rest);
		d->start = 0;
	} else {
		ck_buf_clear(&d->buf);
	}
	d->scanned = d->buf.len;
	return 0;
}

/* ---- watch ---- */

struct kc_watch {
	kc_client *c;
	kc_watch *prev, *next;
	httpc_req *req;
	kc_watch_decoder *dec;
	kc_event_fn on_event;
	kc_watch_end_fn on_end;
	void *user;
	ck_err *err; /* decoding failure */
	int rc;
	bool in_feed; /* inside the decoder: stopping is deferred */
	bool stopped;
};

static void watch_unlink(kc_watch *w)
{
	if (w->c)
		CK_LIST_REMOVE(w->c->watches, w);
}

static void watch_free(kc_watch *w)
{
	kc_watch_decoder_free(w->dec);
	ck_err_free(w->err);
	free(w);
}

static void on_watch_event(enum kc_event_type type, cJSON **obj, void *user)
{
	kc_watch *w = user;
	if (!w->stopped)
		w->on_event(type, obj, w->user);
}

static int on_watch_chunk(const void *data, size_t len, void *user)
{
	kc_watch *w = user;
	w->in_feed = true;
	int rc = kc_watch_decoder_feed(w->dec, data, len, &w->err);
	w->in_feed = false;
	if (w->stopped) {
		watch_free(w);
		return 1;
	}
	if (rc < 0) {
		w->rc = rc;
		return 1;
	}
	return 0;
}

static void on_watch_done(const httpc_response *r, void *user)
{
	kc_watch *w = user;
	watch_unlink(w);
	_cleanup_err_ ck_err *err = NULL;
	int rc;
	if (w->rc < 0) {
		rc = w->rc;
		err = CK_TAKE_PTR(w->err);
	} else if (r->rc < 0) {
		rc = ck_err_set(&err, r->rc, "watch: %s", r->error ? r->error : ck_strerror(r->rc));
	} else if (r->status != 200) {
		rc = kc_status_error(r->status, r->body, r->body_len, &err);
	} else {
		rc = 0;
	}
	w->on_end(rc, err, w->user);
	watch_free(w);
}

int kc_watch_start(kc_client *c, const kc_resource *r, const char *ns, const kc_list_opts *o,
                   kc_event_fn on_event, kc_watch_end_fn on_end, void *user, kc_watch **out)
{
	_cleanup_free_ char *p = kc_path(r, ns, NULL, NULL);
	_cleanup_free_ char *q = kc_list_query(p, o, true);
	kc_watch *w = ck_calloc(1, sizeof(*w));
	w->c = c;
	w->on_event = on_event;
	w->on_end = on_end;
	w->user = user;
	w->dec = kc_watch_decoder_new(on_watch_event, w);
	/* The server ends a watch after timeoutSeconds; past that (plus slack) the connection
	 * is presumed dead. */
	int timeout_ms = o && o->timeout_seconds > 0 ? (o->timeout_seconds + 60) * 1000 : -1;
	httpc_request req = {
	    .path = q,
	    .timeout_ms = timeout_ms,
	    .on_chunk = on_watch_chunk,
	    .on_done = on_watch_done,
	    .user = w,
	};
	int rc = httpc_start(c->http, &req, &w->req);
	if (rc < 0) {
		watch_free(w);
		return rc;
	}
	CK_LIST_PREPEND(c->watches, w);
	if (out)
		*out = w;
	return 0;
}

void kc_watch_stop(kc_watch *w)
{
	if (!w)
		return;
	httpc_cancel(w->req);
	watch_unlink(w);
	w->c = NULL;
	if (w->in_feed)
		w->stopped = true;
	else
		watch_free(w);
}

void kc_client_free(kc_client *c)
{
	if (!c)
		return;
	while (c->watches)
		kc_watch_stop(c->watches);
	while (c->calls) {
		call *cl = c->calls;
		c->calls = cl->next;
		free(cl);
	}
	/* Cancels every request left: no callback runs for them. */
	httpc_free(c->http);
	free(c);
}

/* ---- blocking ---- */

struct kc_sync {
	httpc_sync *http;
};

int kc_sync_new(const kubeconfig *kc, kc_sync **out, ck_err **err)
{
	httpc_opts o = {0};
	kubeconfig_httpc_opts(kc, &o);
	kc_sync *s = ck_calloc(1, sizeof(*s));
	int rc = httpc_sync_new(&o, &s->http, err);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void kc_sync_free(kc_sync *s)
{
	if (!s)
		return;
	httpc_sync_free(s->http);
	free(s);
}

int kc_sync_request(kc_sync *s, const char *method, const char *path, const char *content_type,
                    const cJSON *body, cJSON **out, ck_err **err)
{
	_cleanup_free_ char *text = body ? ck_json_print(body) : NULL;
	httpc_request q = request_of(method, path, content_type, text);
	httpc_response r;
	int rc = httpc_sync_do(s->http, &q, &r, err);
	if (rc < 0) {
		httpc_response_clear(&r);
		return rc;
	}
	kc_result res;
	result_from_response(&r, &res);
	httpc_response_clear(&r);
	rc = res.rc;
	if (rc < 0) {
		if (err && !*err)
			*err = CK_TAKE_PTR(res.err);
	} else if (out) {
		*out = CK_TAKE_PTR(res.obj);
	}
	ck_err_free(res.err);
	cJSON_Delete(res.obj);
	return rc;
}

/* ---- object helpers ---- */

const char *kc_obj_namespace(const cJSON *obj)
{
	return ck_json_get_str(obj, "metadata.namespace", "");
}

const char *kc_obj_name(const cJSON *obj)
{
	return ck_json_get_str(obj, "metadata.name", "");
}

const char *kc_obj_uid(const cJSON *obj)
{
	return ck_json_get_str(obj, "metadata.uid", "");
}

const char *kc_obj_resource_version(const cJSON *obj)
{
	return ck_json_get_str(obj, "metadata.resourceVersion", "");
}
