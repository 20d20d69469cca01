/* etcd_client_harness: see the header. */
#include "etcd_client_harness.h"

#include <stdio.h>

/* What every callback stores: the call ran, its code and its error's message. Returns
 * the result. */
static ech_result *got(void *data, int rc, const ck_err *err)
{
	ech_result *r = data;
	r->done = true;
	r->rc = rc;
	snprintf(r->err, sizeof(r->err), "%s", err ? err->msg : "");
	return r;
}

void ech_on_write(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
	ech_result *r = got(data, rc, err);
	if (res)
		r->revision = res->revision;
}

void ech_on_range(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	ech_result *r = got(data, rc, err);
	if (!res)
		return;
	r->revision = res->revision;
	r->n_kvs = res->n_kvs;
	if (res->n_kvs)
		snprintf(r->value, sizeof(r->value), "%.*s", (int)res->kvs[0].value_len,
		         (const char *)res->kvs[0].value);
}

void ech_on_status(int rc, const etcd_status_result *st, const ck_err *err, void *data)
{
	ech_result *r = got(data, rc, err);
	if (!st)
		return;
	r->revision = st->revision;
	snprintf(r->endpoint, sizeof(r->endpoint), "%s", st->endpoint ? st->endpoint : "");
}

void ech_on_watch(int rc, int64_t revision, const etcd_event *ev, size_t n, const ck_err *err,
                  void *data)
{
	ech_watch *w = data;
	if (rc != 0) {
		w->ended = true;
		w->end_rc = rc;
		snprintf(w->end_err, sizeof(w->end_err), "%s", err ? err->msg : "");
		return;
	}
	for (size_t i = 0; i < n && w->n < ECH_WATCH_MAX; i++) {
		snprintf(w->values[w->n], sizeof(w->values[0]), "%.*s", (int)ev[i].kv.value_len,
		         (const char *)ev[i].kv.value);
		w->revs[w->n++] = ev[i].kv.mod_revision;
	}
	if (w->want && w->n >= w->want)
		w->reached = true;
}

int ech_client_close(uv_loop_t *loop, etcd_client *c)
{
	etcd_client_free(c);
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop);
}
