/* etcd_watch: watches (see etcd.h, etcd_internal.h). Every watch of a client shares one
 * bidirectional Watch stream; when the stream breaks it is re-opened on the next member
 * and every watch re-created from the revision after the last one it delivered. With no
 * watch left the stream is closed. */
#include <stdlib.h>
#include <string.h>

#include "net/etcd_internal.h"

static void ws_open(etcd_client *c);

static void watch_unlink(etcd_watch *w)
{
	if (w->next) {
		w->prev->next = w->next;
		w->next->prev = w->prev;
		w->next = w->prev = NULL;
	}
}

static void watch_final_deferred(void *arg)
{
	etcd_watch *w = arg;
	w->cb(w->end_rc, w->next_rev > 0 ? w->next_rev - 1 : 0, NULL, 0, w->end_err, w->data);
	ck_err_free(w->end_err);
	free(w->key);
	free(w->end);
	free(w);
}

/* Ends w: no more events; the callback runs once more with rc, later. */
static void watch_end(etcd_watch *w, int rc, ck_err *err)
{
	if (w->ended) {
		ck_err_free(err);
		return;
	}
	w->ended = true;
	w->end_rc = rc;
	w->end_err = err;
	watch_unlink(w);
	etcd_client *c = w->c;
	/* With no watch left the stream goes too, so that an idle client keeps no call
	 * (and the loop can end); the next watch opens a new one. */
	if (c->watches.next == &c->watches && !c->closing) {
		uv_timer_stop(&c->ws_timer);
		if (c->ws) {
			ckgrpc_stream_cancel(c->ws);
			c->ws = NULL;
		}
	}
	etcd__defer(c, watch_final_deferred, w);
}

/* Ends every watch of c with rc and the message msg. */
static void watch_end_all(etcd_client *c, int rc, const char *msg)
{
	while (c->watches.next != &c->watches) {
		ck_err *e = NULL;
		ck_err_set(&e, rc, "%s", msg);
		watch_end(c->watches.next, rc, e);
	}
}

static void ws_send_create(etcd_client *c, etcd_watch *w)
{
	Etcdserverpb__WatchCreateRequest cr = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
	cr.key = etcd__bin(w->key, w->key_len);
	if (w->end)
		cr.range_end = etcd__bin(w->end, w->end_len);
	cr.start_revision = w->next_rev;
	cr.progress_notify = w->progress_notify;
	cr.prev_kv = w->prev_kv;
	cr.watch_id = w->id;
	Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
	req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
	req.create_request = &cr;
	if (ckgrpc_stream_send(c->ws, &req.base) == 0)
		w->created = true;
}

static void ws_send_cancel(etcd_client *c, int64_t id)
{
	Etcdserverpb__WatchCancelRequest cr = ETCDSERVERPB__WATCH_CANCEL_REQUEST__INIT;
	cr.watch_id = id;
	Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
	req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CANCEL_REQUEST;
	req.cancel_request = &cr;
	ckgrpc_stream_send(c->ws, &req.base);
}

static etcd_watch *watch_find(etcd_client *c, int64_t id)
{
	for (etcd_watch *w = c->watches.next; w != &c->watches; w = w->next)
		if (w->id == id)
			return w;
	return NULL;
}

static void deliver_events(etcd_watch *w, const Etcdserverpb__WatchResponse *resp)
{
	size_t n = resp->n_events;
	_cleanup_free_ etcd_event *ev = ck_calloc(n, sizeof(*ev));
	_cleanup_free_ etcd_kv *prev = ck_calloc(n, sizeof(*prev));
	int64_t last = 0;
	for (size_t i = 0; i < n; i++) {
		const Mvccpb__Event *e = resp->events[i];
		ev[i].type = e->type == MVCCPB__EVENT__EVENT_TYPE__DELETE ? ETCD_EVENT_DELETE
		                                                          : ETCD_EVENT_PUT;
		if (e->kv)
			etcd__kv_from_pb(&ev[i].kv, e->kv);
		if (e->prev_kv) {
			etcd__kv_from_pb(&prev[i], e->prev_kv);
			ev[i].prev_kv = &prev[i];
		}
		if (ev[i].kv.mod_revision > last)
			last = ev[i].kv.mod_revision;
	}
	w->next_rev = last + 1;
	w->cb(0, last, ev, n, NULL, w->data);
}

static void ws_on_message(ckgrpc_stream *s, const ProtobufCMessage *msg, void *data)
{
	etcd_client *c = data;
	const Etcdserverpb__WatchResponse *resp = (const Etcdserverpb__WatchResponse *)msg;
	c->ws_answered = true;
	c->ws_failures = 0;
	etcd_watch *w = watch_find(c, resp->watch_id);
	if (!w) {
		/* A watch cancelled before its creation was confirmed. */
		if (resp->created && !resp->canceled && resp->watch_id >= 0)
			ws_send_cancel(c, resp->watch_id);
		return;
	}
	int64_t hrev = etcd__header_rev(resp->header);
	if (resp->canceled) {
		ck_err *e = NULL;
		if (resp->compact_revision > 0) {
			ck_err_set(&e, CK_ECOMPACTED,
			           "etcd watch: required revision %lld has been compacted; "
			           "compact revision %lld",
			           (long long)w->next_rev, (long long)resp->compact_revision);
			watch_end(w, CK_ECOMPACTED, e);
		} else {
			ck_err_set(&e, CK_EUNAVAILABLE, "etcd watch cancelled by the server: %s",
			           resp->cancel_reason && *resp->cancel_reason ? resp->cancel_reason
			                                                       : "no reason given");
			watch_end(w, CK_EUNAVAILABLE, e);
		}
		return;
	}
	if (resp->created) {
		/* A watch "from now" starts after the revision the creation saw. */
		if (w->next_rev == 0)
			w->next_rev = hrev + 1;
		if (resp->n_events == 0)
			return;
	}
	if (resp->n_events > 0) {
		deliver_events(w, resp);
		return;
	}
	/* Progress notification: every event up to hrev was sent. */
	if (hrev + 1 > w->next_rev)
		w->next_rev = hrev + 1;
	if (w->progress_notify)
		w->cb(0, hrev, NULL, 0, NULL, w->data);
}

static void on_ws_timer(uv_timer_t *t)
{
	etcd_client *c = t->data;
	if (!c->ws && c->watches.next != &c->watches)
		ws_open(c);
}

static void ws_on_close(ckgrpc_stream *s, int rc, const ck_err *err, void *data)
{
	etcd_client *c = data;
	/* A stream replaced already (all watches ended, then a new one started). */
	if (c->ws != s)
		return;
	c->ws = NULL;
	if (c->closing)
		return;
	for (etcd_watch *w = c->watches.next; w != &c->watches; w = w->next)
		w->created = false;
	if (c->watches.next == &c->watches)
		return;
	/* Move on to the next member, and come back to this one only after the others. */
	if (c->n_eps > 1 && c->cur == c->ws_ep)
		c->cur = (c->cur + 1) % c->n_eps;
	uint64_t now = uv_hrtime();
	if (c->ws_answered || c->ws_failures == 0) {
		c->ws_failures = 0;
		c->ws_broken_since = now;
	}
	c->ws_failures++;
	uint64_t budget = (uint64_t)(c->timeout_ms > 5000 ? c->timeout_ms : 5000) * ETCD_NS_PER_MS;
	if ((size_t)c->ws_failures > c->n_eps && now - c->ws_broken_since > budget) {
		/* No member took the stream for a whole deadline: give up. */
		_cleanup_free_ char *msg = ck_asprintf("etcd watch: stream lost: %s",
		                                       err ? err->msg : "closed by the server");
		watch_end_all(c, CK_EUNAVAILABLE, msg);
		c->ws_failures = 0;
		return;
	}
	/* Reopen at once on another member; after a full round, pause a little. */
	uint64_t pause = 0;
	if ((size_t)c->ws_failures >= c->n_eps)
		pause = 100u * (uint64_t)(c->ws_failures / (int)c->n_eps);
	uv_timer_start(&c->ws_timer, on_ws_timer, pause > 1000 ? 1000 : pause, 0);
}

static const ckgrpc_stream_ops watch_ops = {
    .resp_desc = &etcdserverpb__watch_response__descriptor,
    .on_message = ws_on_message,
    .on_close = ws_on_close,
};

static void ws_open(etcd_client *c)
{
	_cleanup_err_ ck_err *e = NULL;
	c->ws_ep = c->cur;
	c->ws_answered = false;
	int rc = ckgrpc_stream_open(c->gl, c->chs[c->ws_ep], "/etcdserverpb.Watch/Watch", 0,
	                            &watch_ops, c, &c->ws, &e);
	if (rc < 0) {
		c->ws = NULL;
		_cleanup_free_ char *msg =
		    ck_asprintf("etcd watch: %s", e ? e->msg : ck_strerror(rc));
		watch_end_all(c, rc, msg);
		return;
	}
	for (etcd_watch *w = c->watches.next; w != &c->watches; w = w->next)
		ws_send_create(c, w);
}

int etcd_watch_start(etcd_client *c, const etcd_watch_opts *opts, etcd_watch_cb cb, void *data,
                     etcd_watch **out)
{
	size_t klen = etcd__key_len(opts->key, opts->key_len);
	if (!opts->key || klen == 0 || !cb || c->closing)
		return -EINVAL;
	etcd_watch *w = ck_calloc(1, sizeof(*w));
	w->c = c;
	w->id = c->next_watch_id++;
	w->key = ck_malloc(klen);
	memcpy(w->key, opts->key, klen);
	w->key_len = klen;
	if (opts->prefix)
		w->end_len = etcd_prefix_end(opts->key, klen, &w->end);
	w->prev_kv = opts->prev_kv;
	w->progress_notify = opts->progress_notify;
	w->next_rev = opts->start_revision > 0 ? opts->start_revision : 0;
	w->cb = cb;
	w->data = data;
	w->prev = c->watches.prev;
	w->next = &c->watches;
	c->watches.prev->next = w;
	c->watches.prev = w;
	if (!c->ws) {
		if (!uv_is_active((uv_handle_t *)&c->ws_timer))
			ws_open(c);
	} else {
		ws_send_create(c, w);
	}
	if (out)
		*out = w;
	return 0;
}

void etcd_watch_cancel(etcd_watch *w)
{
	if (!w || w->ended)
		return;
	etcd_client *c = w->c;
	if (c->ws && w->created)
		ws_send_cancel(c, w->id);
	ck_err *e = NULL;
	ck_err_set(&e, -ECANCELED, "etcd watch cancelled");
	watch_end(w, -ECANCELED, e);
}

void etcd__watch_close_all(etcd_client *c)
{
	uv_timer_stop(&c->ws_timer);
	watch_end_all(c, -ECANCELED, "etcd client closed");
	if (c->ws)
		ckgrpc_stream_cancel(c->ws);
}
