/* etcd: the etcd v3 client (see etcd.h); how the work is split between the files is
 * in etcd_internal.h. This file: endpoints, the client, unary requests, status, teardown.
 *
 * Unary requests are serialized once (struct etcd__req) and sent to the current member;
 * an UNAVAILABLE answer moves the client to the next member and, when the request may
 * be repeated, sends it again there within its deadline (a short pause after each full
 * round over the members, so that an election can finish). */
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "net/etcd_internal.h"

#define ETCD_DEFAULT_TIMEOUT_MS 5000
#define ETCD_KEEPALIVE_MS       10000

/* ---- pure helpers ---- */

void etcd_endpoints_free(etcd_endpoint *eps, size_t n)
{
	if (!eps)
		return;
	for (size_t i = 0; i < n; i++)
		free(eps[i].target);
	free(eps);
}

int etcd_parse_endpoints(const char *s, etcd_endpoint **out, ck_err **err)
{
	etcd_endpoint *eps = NULL;
	size_t n = 0;
	const char *p = s ? s : "";
	while (*p) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *a = p, *b = end;
		p = *end ? end + 1 : end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a == b)
			continue;
		_cleanup_free_ char *entry = ck_strndup(a, (size_t)(b - a));
		bool tls = false;
		char *target;
		if (strncmp(entry, "unix:", 5) == 0) {
			target = ck_strdup(entry);
		} else {
			const char *hp = entry;
			if (strncmp(hp, "http://", 7) == 0) {
				hp += 7;
			} else if (strncmp(hp, "https://", 8) == 0) {
				hp += 8;
				tls = true;
			} else if (strstr(hp, "://")) {
				etcd_endpoints_free(eps, n);
				return ck_err_set(err, -EINVAL, "etcd endpoint %s: unknown scheme",
				                  entry);
			}
			size_t len = strlen(hp);
			if (len > 0 && hp[len - 1] == '/')
				len--;
			const char *colon = memchr(hp, ':', len);
			const char *rcolon = colon;
			for (const char *q = hp; q < hp + len; q++)
				if (*q == ':')
					rcolon = q;
			if (len == 0 || !colon || rcolon == hp || rcolon + 1 == hp + len ||
			    memchr(hp, '/', len)) {
				etcd_endpoints_free(eps, n);
				return ck_err_set(err, -EINVAL,
				                  "etcd endpoint %s: want [http[s]://]host:port",
				                  entry);
			}
			for (const char *q = rcolon + 1; q < hp + len; q++) {
				if (*q < '0' || *q > '9') {
					etcd_endpoints_free(eps, n);
					return ck_err_set(err, -EINVAL,
					                  "etcd endpoint %s: bad port", entry);
				}
			}
			target = ck_strndup(hp, len);
		}
		eps = ck_realloc(eps, (n + 1) * sizeof(*eps));
		eps[n++] = (etcd_endpoint){.target = target, .tls = tls};
	}
	if (n == 0)
		return ck_err_set(err, -EINVAL, "etcd: no endpoint in \"%s\"", s ? s : "");
	*out = eps;
	return (int)n;
}

size_t etcd_prefix_end(const void *key, size_t len, uint8_t **out)
{
	const uint8_t *k = key;
	while (len > 0 && k[len - 1] == 0xff)
		len--;
	if (len == 0) {
		*out = ck_calloc(1, 1);
		return 1;
	}
	uint8_t *end = ck_malloc(len);
	memcpy(end, k, len);
	end[len - 1]++;
	*out = end;
	return len;
}

/* ---- the client ---- */

struct etcd__deferred {
	struct etcd__deferred *next;
	void (*fn)(void *arg);
	void *arg;
};

static void on_handle_closed(uv_handle_t *h)
{
	etcd_client *c = h->data;
	if (--c->open_handles == 0)
		free(c);
}

static void run_deferred(etcd_client *c)
{
	while (c->defer_head) {
		struct etcd__deferred *d = c->defer_head;
		c->defer_head = NULL;
		c->defer_tail = &c->defer_head;
		while (d) {
			struct etcd__deferred *next = d->next;
			d->fn(d->arg);
			free(d);
			d = next;
		}
	}
}

static void on_defer_timer(uv_timer_t *t)
{
	run_deferred(t->data);
}

void etcd__defer(etcd_client *c, void (*fn)(void *), void *arg)
{
	struct etcd__deferred *d = ck_calloc(1, sizeof(*d));
	d->fn = fn;
	d->arg = arg;
	*c->defer_tail = d;
	c->defer_tail = &d->next;
	if (!c->closing && !uv_is_active((uv_handle_t *)&c->defer_timer))
		uv_timer_start(&c->defer_timer, on_defer_timer, 0, 0);
}

int etcd_client_new(uv_loop_t *loop, const etcd_client_opts *opts, etcd_client **out, ck_err **err)
{
	etcd_endpoint *eps = NULL;
	int n = etcd_parse_endpoints(opts->endpoints, &eps, err);
	if (n < 0)
		return n;
	etcd_client *c = ck_calloc(1, sizeof(*c));
	c->loop = loop;
	c->eps = eps;
	c->n_eps = (size_t)n;
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : ETCD_DEFAULT_TIMEOUT_MS;
	c->defer_tail = &c->defer_head;
	c->watches.next = c->watches.prev = &c->watches;
	c->next_watch_id = 1;
	c->chs = ck_calloc(c->n_eps, sizeof(*c->chs));
	int r = 0;
	for (size_t i = 0; i < c->n_eps && r == 0; i++) {
		ckgrpc_channel_opts co = {.keepalive_ms = ETCD_KEEPALIVE_MS};
		if (eps[i].tls || opts->ca_file || opts->cert_file) {
			co.tls = true;
			co.ca_file = opts->ca_file;
			co.cert_file = opts->cert_file;
			co.key_file = opts->key_file;
		}
		r = ckgrpc_channel_new(eps[i].target, &co, &c->chs[i], err);
	}
	if (r == 0)
		r = ckgrpc_loop_new(loop, &c->gl, err);
	if (r < 0) {
		for (size_t i = 0; i < c->n_eps; i++)
			ckgrpc_channel_free(c->chs[i]);
		free(c->chs);
		etcd_endpoints_free(c->eps, c->n_eps);
		free(c);
		return ck_err_wrap(err, r, "etcd client");
	}
	uv_timer_init(loop, &c->defer_timer);
	uv_timer_init(loop, &c->ws_timer);
	c->defer_timer.data = c->ws_timer.data = c;
	c->open_handles = 2;
	*out = c;
	return 0;
}

/* ---- unary requests ---- */

static void free_timer(uv_handle_t *h)
{
	free(h);
}

static void req_free(struct etcd__req *r)
{
	CK_LIST_REMOVE(r->c->reqs, r);
	if (r->backoff)
		uv_close((uv_handle_t *)r->backoff, free_timer);
	ck_err_free(r->fail_err);
	free(r->body);
	free(r);
}

static void req_finish(struct etcd__req *r, int rc, const ProtobufCMessage *resp, const ck_err *err)
{
	_cleanup_err_ ck_err *mapped = NULL;
	/* etcd reports compaction as OUT_OF_RANGE "mvcc: required revision has been
	 * compacted". */
	if (rc == -ERANGE && err && strstr(err->msg, "compacted")) {
		rc = ck_err_set(&mapped, CK_ECOMPACTED, "%s", err->msg);
		err = mapped;
	}
	r->done(r, rc, rc == 0 ? resp : NULL, err);
	req_free(r);
}

static void req_fail_deferred(void *arg)
{
	struct etcd__req *r = arg;
	req_finish(r, r->fail_rc, NULL, r->fail_err);
}

static bool unsent(const ck_err *err)
{
	return err &&
	       (strstr(err->msg, "failed to connect") || strstr(err->msg, "no ready subchannel") ||
	        strstr(err->msg, "connections to all backends failing"));
}

static void on_backoff(uv_timer_t *t)
{
	struct etcd__req *r = t->data;
	uv_close((uv_handle_t *)r->backoff, free_timer);
	r->backoff = NULL;
	etcd__req_attempt(r);
}

static void on_reply(int rc, const ProtobufCMessage *resp, const ck_err *err, void *data)
{
	struct etcd__req *r = data;
	etcd_client *c = r->c;
	r->call = NULL;
	if (rc == CK_EUNAVAILABLE && !c->closing) {
		if (c->n_eps > 1 && c->cur == r->ep)
			c->cur = (c->cur + 1) % c->n_eps;
		bool may = r->retry == ETCD__RETRY_SAFE || unsent(err);
		size_t max_attempts = 3 * (c->n_eps > 1 ? c->n_eps : 2);
		uint64_t now = uv_hrtime();
		if (may && (size_t)r->attempts < max_attempts &&
		    now + 50 * ETCD_NS_PER_MS < r->deadline) {
			if (r->attempts % (int)c->n_eps != 0) {
				etcd__req_attempt(r);
				return;
			}
			/* A full round failed: give an election time to finish. */
			uint64_t pause = 100u * (uint64_t)(r->attempts / (int)c->n_eps);
			r->backoff = ck_malloc(sizeof(*r->backoff));
			uv_timer_init(c->loop, r->backoff);
			r->backoff->data = r;
			uv_timer_start(r->backoff, on_backoff, pause > 500 ? 500 : pause, 0);
			return;
		}
	}
	req_finish(r, rc, resp, err);
}

void etcd__req_attempt(struct etcd__req *r)
{
	etcd_client *c = r->c;
	uint64_t now = uv_hrtime();
	if (c->closing || now >= r->deadline) {
		r->fail_rc = c->closing ? ck_err_set(&r->fail_err, -ECANCELED, "etcd %s: cancelled",
		                                     r->method)
		                        : ck_err_set(&r->fail_err, -ETIMEDOUT,
		                                     "etcd %s: deadline exceeded", r->method);
		etcd__defer(c, req_fail_deferred, r);
		return;
	}
	r->ep = c->cur;
	r->attempts++;
	int left = (int)((r->deadline - now) / ETCD_NS_PER_MS) + 1;
	int rc = ckgrpc_unary_bytes(c->gl, c->chs[r->ep], r->method, r->body, r->body_len,
	                            r->resp_desc, left, on_reply, r, &r->call, &r->fail_err);
	if (rc < 0) {
		r->fail_rc = rc;
		etcd__defer(c, req_fail_deferred, r);
	}
}

struct etcd__req *etcd__req_start(etcd_client *c, const char *method, const ProtobufCMessage *msg,
                                  const ProtobufCMessageDescriptor *resp_desc,
                                  enum etcd__retry retry, etcd__req_done_fn done, void *data)
{
	struct etcd__req *r = ck_calloc(1, sizeof(*r));
	r->c = c;
	r->method = method;
	r->resp_desc = resp_desc;
	r->retry = retry;
	r->done = done;
	r->data = data;
	r->body_len = protobuf_c_message_get_packed_size(msg);
	r->body = ck_malloc(r->body_len);
	protobuf_c_message_pack(msg, r->body);
	r->deadline = uv_hrtime() + (uint64_t)c->timeout_ms * ETCD_NS_PER_MS;
	CK_LIST_PREPEND(c->reqs, r);
	return r;
}

/* ---- maintenance ---- */

static void status_done(struct etcd__req *r, int rc, const ProtobufCMessage *msg, const ck_err *err)
{
	if (rc < 0) {
		r->cb.status(rc, NULL, err, r->data);
		return;
	}
	const Etcdserverpb__StatusResponse *resp = (const Etcdserverpb__StatusResponse *)msg;
	etcd_status_result st = {
	    .version = resp->version ? resp->version : "",
	    .db_size = resp->dbsize,
	    .leader = (int64_t)resp->leader,
	    .revision = etcd__header_rev(resp->header),
	    .raft_term = (int64_t)resp->raftterm,
	    .endpoint = r->c->eps[r->ep].target,
	    .member_id = resp->header ? (int64_t)resp->header->member_id : 0,
	};
	r->cb.status(0, &st, NULL, r->data);
}

void etcd_status(etcd_client *c, etcd_status_cb cb, void *data)
{
	Etcdserverpb__StatusRequest req = ETCDSERVERPB__STATUS_REQUEST__INIT;
	struct etcd__req *r = etcd__req_start(c, "/etcdserverpb.Maintenance/Status", &req.base,
	                                      &etcdserverpb__status_response__descriptor,
	                                      ETCD__RETRY_SAFE, status_done, data);
	r->cb.status = cb;
	etcd__req_attempt(r);
}

/* ---- teardown ---- */

void etcd_client_free(etcd_client *c)
{
	if (!c)
		return;
	c->closing = true;
	etcd__watch_close_all(c);
	/* Requests pausing before a retry are not gRPC calls: finish them here. */
	for (struct etcd__req *r = c->reqs; r; r = r->next) {
		if (r->backoff) {
			uv_close((uv_handle_t *)r->backoff, free_timer);
			r->backoff = NULL;
			r->fail_rc =
			    ck_err_set(&r->fail_err, -ECANCELED, "etcd %s: cancelled", r->method);
			etcd__defer(c, req_fail_deferred, r);
		}
	}
	/* Runs the callbacks of every call in flight (-ECANCELED). */
	c->gl = ckgrpc_loop_free(c->gl);
	run_deferred(c);
	for (size_t i = 0; i < c->n_eps; i++)
		ckgrpc_channel_free(c->chs[i]);
	free(c->chs);
	etcd_endpoints_free(c->eps, c->n_eps);
	uv_timer_stop(&c->defer_timer);
	uv_close((uv_handle_t *)&c->defer_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->ws_timer, on_handle_closed);
}
