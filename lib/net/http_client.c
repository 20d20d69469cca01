/* http_client: requests, retries, the pool of idle connections and the blocking interface.
 * See http_client.h; one connection's I/O and parsing are in http_client_conn.c, the shared
 * types in http_client_internal.h.
 *
 * A request makes attempts: each takes an idle connection to the same host and port from
 * the pool or opens a new one. When the response is complete the connection goes, before
 * on_done runs, to the oldest request waiting for a new connection to the same place, else
 * back to the pool (unless it cannot carry another request), so that a request started from
 * on_done finds it. A new connection whose request went on another one that way (an orphan)
 * is put to the same use once it is up, or closed when that takes longer than the connect
 * timeout: as with Go's net/http, a burst of requests goes on whichever connections come
 * first. */
#include "net/http_client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "base/list.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "net/http_client_internal.h"

/* ---- options ---- */

static void opts_clear(client_opts *o)
{
	free(o->base_url);
	free(o->ca_file);
	free(o->ca_pem);
	free(o->cert_file);
	free(o->cert_pem);
	free(o->key_file);
	free(o->key_pem);
	free(o->bearer_token);
	free(o->user_agent);
	memset(o, 0, sizeof(*o));
}

static int opts_copy(client_opts *o, const httpc_opts *in, ck_err **err)
{
	memset(o, 0, sizeof(*o));
	const char *files[] = {in->ca_pem ? NULL : in->ca_file, in->cert_pem ? NULL : in->cert_file,
	                       in->key_pem ? NULL : in->key_file};
	for (size_t i = 0; i < CK_ARRAY_SIZE(files); i++)
		if (files[i] && access(files[i], R_OK) < 0)
			return ck_err_errno(err, -errno, "%s", files[i]);
	if ((in->cert_file || in->cert_pem) != (in->key_file || in->key_pem))
		return ck_err_set(err, -EINVAL, "a client certificate needs a key and vice versa");
	o->base_url = ck_strdup_or_null(in->base_url);
	o->ca_file = ck_strdup_or_null(in->ca_file);
	o->ca_pem = ck_strdup_or_null(in->ca_pem);
	o->cert_file = ck_strdup_or_null(in->cert_file);
	o->cert_pem = ck_strdup_or_null(in->cert_pem);
	o->key_file = ck_strdup_or_null(in->key_file);
	o->key_pem = ck_strdup_or_null(in->key_pem);
	o->bearer_token = ck_strdup_or_null(in->bearer_token);
	o->user_agent = ck_strdup(in->user_agent ? in->user_agent : "ckube/" CKUBE_VERSION);
	o->insecure = in->insecure_skip_verify;
	o->timeout_ms = in->timeout_ms ? in->timeout_ms : 60000;
	o->connect_timeout_ms = in->connect_timeout_ms > 0 ? in->connect_timeout_ms : 10000;
	o->max_retries = in->max_retries ? (in->max_retries < 0 ? 0 : in->max_retries) : 4;
	o->retry_base_ms = in->retry_base_ms > 0 ? in->retry_base_ms : 200;
	o->retry_max_ms = in->retry_max_ms > 0 ? in->retry_max_ms : 5000;
	o->max_conns = in->max_conns ? in->max_conns : 8;
	return 0;
}

int httpc__tls_ctx(httpc *c, tls_ctx **out, char **msg)
{
	if (!c->tls) {
		const client_opts *o = &c->o;
		tls_client_opts t = {.ca_file = o->ca_file,
		                     .ca_pem = o->ca_pem,
		                     .cert_file = o->cert_file,
		                     .cert_pem = o->cert_pem,
		                     .key_file = o->key_file,
		                     .key_pem = o->key_pem,
		                     .insecure_skip_verify = o->insecure};
		_cleanup_err_ ck_err *err = NULL;
		int rc = tls_client_ctx_new(&t, &c->tls, &err);
		if (rc < 0) {
			*msg = ck_strdup(err->msg);
			return rc;
		}
	}
	*out = c->tls;
	return 0;
}

/* ---- URLs and the bytes of a request ---- */

/* A URL split into what a connection and a request line need. */
typedef struct url_parts {
	bool tls;
	char *host; /* without brackets */
	int port;
	char *authority; /* host[:port] as written, for the Host header */
	char *target;    /* path and query */
} url_parts;

static void url_parts_clear(url_parts *u)
{
	free(u->host);
	free(u->authority);
	free(u->target);
}

static bool is_host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_';
}

/* Splits an http or https URL (no user info, no zone in an IPv6 address). Returns 0 or
 * -EINVAL. */
static int url_split(const char *url, url_parts *u)
{
	const char *p;
	if (!strncasecmp(url, "https://", 8)) {
		u->tls = true;
		p = url + 8;
	} else if (!strncasecmp(url, "http://", 7)) {
		p = url + 7;
	} else {
		return -EINVAL;
	}
	size_t alen = strcspn(p, "/?#");
	const char *host = p, *end = p + alen, *colon = NULL;
	size_t hlen;
	if (*p == '[') {
		const char *close = memchr(p, ']', alen);
		if (!close || (close + 1 < end && close[1] != ':'))
			return -EINVAL;
		host = p + 1;
		hlen = (size_t)(close - host);
		colon = close + 1 < end ? close + 1 : NULL;
		unsigned char a[sizeof(struct in6_addr)];
		_cleanup_free_ char *ip = ck_strndup(host, hlen);
		if (inet_pton(AF_INET6, ip, a) != 1)
			return -EINVAL;
	} else {
		colon = memchr(p, ':', alen);
		hlen = (size_t)((colon ? colon : end) - host);
		for (size_t i = 0; i < hlen; i++)
			if (!is_host_char(host[i]))
				return -EINVAL;
	}
	if (!hlen || hlen > 253)
		return -EINVAL;
	u->port = u->tls ? 443 : 80;
	if (colon && colon + 1 < end) {
		long port = 0;
		for (const char *d = colon + 1; d < end; d++) {
			if (*d < '0' || *d > '9' || (port = port * 10 + (*d - '0')) > 65535)
				return -EINVAL;
		}
		if (!port)
			return -EINVAL;
		u->port = (int)port;
	}
	const char *path = end;
	size_t plen = strcspn(path, "#");
	for (size_t i = 0; i < plen; i++)
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f)
			return -EINVAL;
	u->host = ck_strndup(host, hlen);
	u->authority = ck_strndup(p, alen);
	u->target = *path == '/' ? ck_strndup(path, plen) : ck_asprintf("/%.*s", (int)plen, path);
	return 0;
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_host_char(*s) && !strchr("!#$%&'*+^`|~", *s))
			return false;
	return true;
}

static bool is_field_value(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < ' ' && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static bool has_header(const httpc_request *in, const char *name)
{
	for (size_t i = 0; i < in->n_headers; i++)
		if (!strcasecmp(in->headers[i].name, name))
			return true;
	return false;
}

/* One of our headers, unless the request gives its own. */
static void put_header(ck_buf *w, const httpc_request *in, const char *name, const char *value)
{
	if (!has_header(in, name))
		ck_buf_printf(w, "%s: %s\r\n", name, value);
}

static bool method_idempotent(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
	       !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

/* Fills in where r goes and the bytes it sends. Returns 0 or -EINVAL. */
static int req_build(httpc_req *r, const client_opts *o, const httpc_request *in)
{
	if (in->url)
		r->url = ck_strdup(in->url);
	else if (o->base_url && in->path)
		r->url = ck_asprintf("%s%s", o->base_url, in->path);
	else
		return -EINVAL;
	r->method = ck_strdup(in->method ? in->method : "GET");
	_cleanup_(url_parts_clear) url_parts u = {0};
	if (url_split(r->url, &u) < 0 || !is_token(r->method))
		return -EINVAL;
	const char *accept = in->accept ? in->accept : "application/json";
	const char *ctype = in->content_type ? in->content_type : "application/json";
	if (!is_field_value(accept) || !is_field_value(ctype) || !is_field_value(o->user_agent) ||
	    (o->bearer_token && !is_field_value(o->bearer_token)))
		return -EINVAL;
	for (size_t i = 0; i < in->n_headers; i++) {
		const httpc_header *h = &in->headers[i];
		/* The body's framing is ours. */
		if (!is_token(h->name) || !is_field_value(h->value) ||
		    !strcasecmp(h->name, "Content-Length") ||
		    !strcasecmp(h->name, "Transfer-Encoding"))
			return -EINVAL;
	}
	r->tls = u.tls;
	r->host = CK_TAKE_PTR(u.host);
	r->port = u.port;
	ck_buf *w = &r->wire;
	ck_buf_printf(w, "%s %s HTTP/1.1\r\n", r->method, u.target);
	put_header(w, in, "Host", u.authority);
	put_header(w, in, "User-Agent", o->user_agent);
	put_header(w, in, "Accept", accept);
	if (in->body)
		put_header(w, in, "Content-Type", ctype);
	if (o->bearer_token) {
		_cleanup_free_ char *v = ck_asprintf("Bearer %s", o->bearer_token);
		put_header(w, in, "Authorization", v);
	}
	if (in->body || !strcmp(r->method, "POST") || !strcmp(r->method, "PUT") ||
	    !strcmp(r->method, "PATCH"))
		ck_buf_printf(w, "Content-Length: %zu\r\n", in->body ? in->body_len : 0);
	for (size_t i = 0; i < in->n_headers; i++)
		ck_buf_printf(w, "%s: %s\r\n", in->headers[i].name, in->headers[i].value);
	ck_buf_puts(w, "\r\n");
	if (in->body)
		ck_buf_append(w, in->body, in->body_len);
	r->head = !strcmp(r->method, "HEAD");
	r->retry = !in->no_retry && method_idempotent(r->method);
	r->timeout_ms = in->timeout_ms ? in->timeout_ms : o->timeout_ms;
	return 0;
}

/* ---- requests ---- */

static void req_clear(httpc_req *r)
{
	free(r->method);
	free(r->url);
	free(r->host);
	free(r->err);
	ck_buf_free(&r->wire);
	ck_buf_free(&r->ctype);
	ck_buf_free(&r->body);
}

static void on_req_closed(uv_handle_t *h)
{
	httpc_req *r = h->data;
	httpc *c = r->c;
	free(r);
	httpc__unref(c);
}

static void slot_release(httpc_req *r);

/* No callback runs for r afterwards; it is freed once its timer is closed. */
static void req_free(httpc_req *r)
{
	if (r->gone)
		return;
	r->gone = true;
	slot_release(r);
	if (r->conn)
		httpc__conn_close(r->conn);
	CK_LIST_REMOVE(r->c->reqs, r);
	req_clear(r);
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, on_req_closed);
}

void httpc__response_of(httpc_req *r, httpc_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = r->status;
	/* Headers count once they are all there (the status is set then). */
	if (r->status && r->has_ctype) {
		ck_buf_puts(&r->ctype, "");
		resp->content_type = r->ctype.s;
	}
	ck_buf_puts(&r->body, "");
	resp->body = r->body.s;
	resp->body_len = r->body.len;
}

void httpc__response_copy(httpc_response *dst, const httpc_response *src)
{
	dst->rc = src->rc;
	dst->status = src->status;
	dst->error = ck_strdup_or_null(src->error);
	dst->content_type = ck_strdup_or_null(src->content_type);
	dst->body = ck_malloc(src->body_len + 1);
	memcpy(dst->body, src->body, src->body_len);
	dst->body[src->body_len] = '\0';
	dst->body_len = src->body_len;
}

/* Calls on_done with resp, then frees r. */
static void req_finish(httpc_req *r, const httpc_response *resp)
{
	uv_timer_stop(&r->timer);
	/* Unlinked first: httpc_free from inside on_done does not see r. */
	CK_LIST_REMOVE(r->c->reqs, r);
	if (r->on_done)
		r->on_done(resp, r->user);
	req_free(r);
}

void httpc__req_done(httpc_req *r)
{
	httpc_response resp;
	httpc__response_of(r, &resp);
	req_finish(r, &resp);
}

static void req_deliver_failure(httpc_req *r)
{
	httpc_response resp;
	httpc__response_of(r, &resp);
	resp.rc = r->rc;
	resp.error = r->err;
	req_finish(r, &resp);
}

static void on_req_timer(uv_timer_t *t);

static void req_arm(httpc_req *r, uint64_t ms)
{
	uv_timer_start(&r->timer, on_req_timer, ms, 0);
}

/* Arms the timer for the deadline that applies now, if any. */
static void req_arm_deadline(httpc_req *r)
{
	uint64_t when = r->deadline;
	if (r->state == REQ_CONNECTING && (!when || r->connect_deadline < when))
		when = r->connect_deadline;
	if (!when) {
		uv_timer_stop(&r->timer);
		return;
	}
	uint64_t now = uv_now(r->c->loop);
	req_arm(r, when > now ? when - now : 0);
}

/* Delivers the failure from the timer: never from inside httpc_start. */
static void req_fail(httpc_req *r, int rc, const char *msg)
{
	r->state = REQ_FAILED;
	r->rc = rc;
	free(r->err);
	r->err = ck_strdup(msg);
	req_arm(r, 0);
}

/* Whether k goes to host and port, with TLS or without. */
static bool conn_goes_to(const hconn *k, const char *host, int port, bool tls)
{
	return k->tls_wanted == tls && k->port == port && !strcasecmp(k->host, host);
}

/* Whether k goes where r goes. */
static bool conn_fits(const hconn *k, const httpc_req *r)
{
	return conn_goes_to(k, r->host, r->port, r->tls);
}

static hconn *pool_take(httpc *c, const httpc_req *r)
{
	for (hconn *k = c->idle; k; k = k->next) {
		if (conn_fits(k, r)) {
			httpc__conn_unlist(k);
			return k;
		}
	}
	return NULL;
}

/* The request first in line of those in state (and, when k is set, going where k goes):
 * the oldest, background requests after all others. NULL when there is none. */
static httpc_req *req_first_in_line(httpc *c, enum req_state state, const hconn *k)
{
	httpc_req *first = NULL;
	for (httpc_req *q = c->reqs; q; q = q->next) {
		if (q->state != state || q->gone || (k && !conn_fits(k, q)))
			continue;
		if (!first || (first->background && !q->background) ||
		    (first->background == q->background && q->queue < first->queue))
			first = q;
	}
	return first;
}

/* ---- connection slots (max_conns) ---- */

static void req_attempt(httpc_req *r);

/* Takes a slot for r, or queues r (false) when max_conns are busy, or when r is a
 * background request and another one holds a slot: they go one at a time. */
static bool slot_take(httpc_req *r)
{
	httpc *c = r->c;
	if (r->slot || r->on_chunk)
		return true;
	if ((c->o.max_conns >= 0 && c->n_slots >= c->o.max_conns) ||
	    (r->background && c->n_background > 0)) {
		if (r->state != REQ_QUEUED) {
			r->state = REQ_QUEUED;
			r->queue = ++c->queued;
			r->deadline =
			    r->timeout_ms > 0 ? uv_now(c->loop) + (uint64_t)r->timeout_ms : 0;
			req_arm_deadline(r);
		}
		return false;
	}
	r->slot = true;
	c->n_slots++;
	c->n_background += r->background;
	return true;
}

/* Gives r's slot back and starts the request first in line: the oldest waiting one,
 * background requests after all others. */
static void slot_release(httpc_req *r)
{
	httpc *c = r->c;
	if (!r->slot)
		return;
	r->slot = false;
	c->n_slots--;
	c->n_background -= r->background;
	if (c->closing)
		return;
	httpc_req *first = req_first_in_line(c, REQ_QUEUED, NULL);
	if (first)
		req_attempt(first);
}

/* Sends r on k, a connection that is up and carries nothing. */
static void req_send(httpc_req *r, hconn *k)
{
	r->state = REQ_ACTIVE;
	req_arm_deadline(r);
	httpc__conn_send(k, r);
}

/* One attempt: on an idle connection to the same place, else on a new one. */
static void req_attempt(httpc_req *r)
{
	httpc *c = r->c;
	bool waited = r->state == REQ_QUEUED; /* its deadline runs from when it queued */
	if (!slot_take(r))
		return;
	uint64_t now = uv_now(c->loop);
	r->attempts++;
	r->got_bytes = false;
	r->status = 0;
	r->has_ctype = false;
	ck_buf_clear(&r->body);
	if (!waited)
		r->deadline = r->timeout_ms > 0 ? now + (uint64_t)r->timeout_ms : 0;
	hconn *k = pool_take(c, r);
	if (k) {
		req_send(r, k);
		return;
	}
	r->state = REQ_CONNECTING;
	r->queue = ++c->queued;
	r->connect_deadline = now + (uint64_t)c->o.connect_timeout_ms;
	req_arm_deadline(r);
	httpc__conn_open(c, r->host, r->port, r->tls, r);
}

void httpc__req_sending(httpc_req *r)
{
	r->state = REQ_ACTIVE;
	req_arm_deadline(r);
}

/* A failed attempt worth another try: the connection failed before any response byte. */
static bool req_retryable(const httpc_req *r, int rc)
{
	if (!r->retry || r->got_bytes || r->attempts > r->c->o.max_retries)
		return false;
	return rc == -ECONNREFUSED || rc == -ECONNRESET;
}

static uint64_t retry_delay_ms(const httpc_req *r)
{
	const client_opts *o = &r->c->o;
	uint64_t d = (uint64_t)o->retry_base_ms;
	for (int i = 1; i < r->attempts && d < (uint64_t)o->retry_max_ms; i++)
		d *= 2;
	return d < (uint64_t)o->retry_max_ms ? d : (uint64_t)o->retry_max_ms;
}

void httpc__req_attempt_failed(httpc_req *r, int rc, const char *msg, bool reused)
{
	r->conn = NULL;
	if (reused && !r->got_bytes && rc == -ECONNRESET) {
		/* The server closed a kept-alive connection as we sent on it: the request
		 * never reached it. Go's net/http retries this too, whatever the method. */
		CK_V(4, "http: %s %s: %s on a reused connection; sending again", r->method, r->url,
		     msg);
		r->attempts--;
		req_attempt(r);
		return;
	}
	if (req_retryable(r, rc)) {
		uint64_t d = retry_delay_ms(r);
		CK_V(4, "http: %s %s: %s; retry in %llu ms", r->method, r->url, msg,
		     (unsigned long long)d);
		r->state = REQ_WAIT;
		req_arm(r, d);
		slot_release(r);
		return;
	}
	req_fail(r, rc, msg);
}

static void on_req_timer(uv_timer_t *t)
{
	httpc_req *r = t->data;
	switch (r->state) {
	case REQ_WAIT:
		req_attempt(r);
		return;
	case REQ_FAILED:
		req_deliver_failure(r);
		return;
	case REQ_QUEUED:
		r->rc = -ETIMEDOUT;
		free(r->err);
		r->err =
		    ck_asprintf("timed out after %d ms waiting for a connection", r->timeout_ms);
		req_deliver_failure(r);
		return;
	case REQ_CONNECTING:
	case REQ_ACTIVE:
		break;
	}
	const client_opts *o = &r->c->o;
	bool connect = r->state == REQ_CONNECTING && uv_now(r->c->loop) >= r->connect_deadline;
	if (r->conn)
		httpc__conn_close(r->conn);
	r->rc = -ETIMEDOUT;
	free(r->err);
	if (connect)
		r->err = ck_asprintf("connect to %s port %d: timed out after %d ms", r->host,
		                     r->port, o->connect_timeout_ms);
	else
		r->err = ck_asprintf("timed out after %d ms", r->timeout_ms);
	req_deliver_failure(r);
}

/* ---- the pool and the orphans ---- */

/* Puts k first on list (c->idle or c->orphans). */
static void conn_list_add(hconn **list, hconn *k)
{
	httpc *c = k->c;
	k->list = list;
	k->since = uv_now(c->loop);
	CK_LIST_PREPEND(*list, k);
	if (list == &c->idle)
		c->n_idle++;
}

void httpc__conn_unlist(hconn *k)
{
	httpc *c = k->c;
	if (!k->list)
		return;
	CK_LIST_REMOVE(*k->list, k);
	if (k->list == &c->idle)
		c->n_idle--;
	k->list = NULL;
}

/* The last connection of a list: the one on it the longest. */
static hconn *list_oldest(hconn *list)
{
	while (list && list->next)
		list = list->next;
	return list;
}

/* When the oldest connection of list is kept there ttl ms; UINT64_MAX for an empty list. */
static uint64_t list_due(hconn *list, uint64_t ttl)
{
	hconn *oldest = list_oldest(list);
	return oldest ? oldest->since + ttl : UINT64_MAX;
}

static void on_sweep(uv_timer_t *t);

/* Arms the sweep for the first idle connection or orphan to be closed. */
static void sweep_arm(httpc *c)
{
	uint64_t idle = list_due(c->idle, HTTPC_IDLE_MS);
	uint64_t orphan = list_due(c->orphans, (uint64_t)c->o.connect_timeout_ms);
	uint64_t due = idle < orphan ? idle : orphan;
	if (due == UINT64_MAX) {
		uv_timer_stop(&c->sweep);
		return;
	}
	uint64_t now = uv_now(c->loop);
	uv_timer_start(&c->sweep, on_sweep, due > now ? due - now : 0, 0);
}

/* Closes the connections kept on list ttl ms or longer. */
static void sweep_list(hconn *list, uint64_t ttl, uint64_t now)
{
	for (hconn *k = list, *next; k; k = next) {
		next = k->next;
		if (now - k->since >= ttl)
			httpc__conn_close(k);
	}
}

static void on_sweep(uv_timer_t *t)
{
	httpc *c = t->data;
	uint64_t now = uv_now(c->loop);
	sweep_list(c->idle, HTTPC_IDLE_MS, now);
	sweep_list(c->orphans, (uint64_t)c->o.connect_timeout_ms, now);
	sweep_arm(c);
}

void httpc__orphan(hconn *k)
{
	conn_list_add(&k->c->orphans, k);
	sweep_arm(k->c);
}

/* ---- connections kept warm ---- */

static bool warm_fits(const httpc *c, const hconn *k)
{
	return conn_goes_to(k, c->warm_host, c->warm_port, c->warm_tls);
}

static void on_warm(uv_timer_t *t)
{
	httpc *c = t->data;
	/* Every request holding a slot has a connection, or one being opened. */
	int n = c->n_slots;
	for (hconn *k = c->idle; k; k = k->next)
		n += warm_fits(c, k);
	for (hconn *k = c->orphans; k; k = k->next)
		n += warm_fits(c, k);
	for (; n < c->warm; n++)
		httpc__conn_open(c, c->warm_host, c->warm_port, c->warm_tls, NULL);
}

void httpc__warm_later(httpc *c, bool was_up)
{
	if (c->warm <= 0 || c->closing || uv_is_active((uv_handle_t *)&c->warm_timer))
		return;
	uv_timer_start(&c->warm_timer, on_warm, was_up ? 0 : 5000, 0);
}

int httpc_keep_warm(httpc *c, int n)
{
	if (!c->o.base_url)
		return -EINVAL;
	_cleanup_(url_parts_clear) url_parts u = {0};
	if (url_split(c->o.base_url, &u) < 0)
		return -EINVAL;
	free(c->warm_host);
	c->warm_host = CK_TAKE_PTR(u.host);
	c->warm_port = u.port;
	c->warm_tls = u.tls;
	c->warm = n;
	uv_timer_stop(&c->warm_timer);
	httpc__warm_later(c, true);
	return 0;
}

void httpc__pool_put(httpc *c, hconn *k)
{
	httpc__conn_unlist(k);
	if (c->closing) {
		httpc__conn_close(k);
		return;
	}
	httpc_req *r = req_first_in_line(c, REQ_CONNECTING, k);
	if (r) {
		/* r keeps its slot; the connection being opened for it goes on without it. */
		hconn *dial = r->conn;
		dial->req = NULL;
		r->conn = NULL;
		conn_list_add(&c->orphans, dial);
		sweep_arm(c);
		req_send(r, k);
		return;
	}
	httpc__conn_park(k);
	conn_list_add(&c->idle, k);
	if (c->n_idle > HTTPC_IDLE_MAX)
		httpc__conn_close(list_oldest(c->idle));
	if (!uv_is_active((uv_handle_t *)&c->sweep))
		sweep_arm(c);
}

/* ---- async client ---- */

void httpc__unref(httpc *c)
{
	if (--c->handles > 0 || !c->closing)
		return;
	opts_clear(&c->o);
	free(c->warm_host);
	tls_ctx_free(c->tls);
	free(c->rbuf);
	free(c->pbuf);
	free(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	httpc__unref(h->data);
}

static int client_new(uv_loop_t *loop, const httpc_opts *opts, bool sync_resolve, httpc **out,
                      ck_err **err)
{
	httpc *c = ck_calloc(1, sizeof(*c));
	int rc = opts_copy(&c->o, opts, err);
	if (rc < 0) {
		opts_clear(&c->o);
		free(c);
		return rc;
	}
	c->loop = loop;
	c->sync_resolve = sync_resolve;
	uv_timer_init(loop, &c->sweep);
	c->sweep.data = c;
	uv_timer_init(loop, &c->warm_timer);
	c->warm_timer.data = c;
	/* Idle connections, and those kept warm, do not keep the loop running. */
	uv_unref((uv_handle_t *)&c->sweep);
	uv_unref((uv_handle_t *)&c->warm_timer);
	c->handles = 2;
	*out = c;
	return 0;
}

int httpc_new(uv_loop_t *loop, const httpc_opts *opts, httpc **out, ck_err **err)
{
	return client_new(loop, opts, false, out, err);
}

void httpc_free(httpc *c)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	while (c->reqs)
		req_free(c->reqs);
	while (c->idle)
		httpc__conn_close(c->idle);
	while (c->orphans)
		httpc__conn_close(c->orphans);
	uv_close((uv_handle_t *)&c->sweep, on_timer_closed);
	uv_close((uv_handle_t *)&c->warm_timer, on_timer_closed);
}

int httpc_start(httpc *c, const httpc_request *in, httpc_req **out)
{
	if (!c || c->closing)
		return -ESHUTDOWN;
	httpc_req *r = ck_calloc(1, sizeof(*r));
	r->c = c;
	int rc = req_build(r, &c->o, in);
	if (rc < 0) {
		req_clear(r);
		free(r);
		return rc;
	}
	r->on_chunk = in->on_chunk;
	r->background = in->background;
	r->on_done = in->on_done;
	r->user = in->user;
	uv_timer_init(c->loop, &r->timer);
	r->timer.data = r;
	c->handles++;
	CK_LIST_PREPEND(c->reqs, r);
	req_attempt(r);
	if (out)
		*out = r;
	return 0;
}

void httpc_cancel(httpc_req *r)
{
	if (r)
		req_free(r);
}

int httpc_req_status(const httpc_req *r)
{
	return r ? r->status : 0;
}

size_t httpc_in_flight(const httpc *c)
{
	size_t n = 0;
	for (const httpc_req *r = c->reqs; r; r = r->next)
		n++;
	return n;
}

/* ---- blocking client: the async one on a private loop ---- */

struct httpc_sync {
	uv_loop_t loop;
	httpc *c;
};

int httpc_sync_new(const httpc_opts *opts, httpc_sync **out, ck_err **err)
{
	httpc_sync *s = ck_calloc(1, sizeof(*s));
	int rc = uv_loop_init(&s->loop);
	if (rc < 0) {
		free(s);
		return ck_err_set(err, rc, "create an event loop: %s", uv_strerror(rc));
	}
	/* The calling thread may be one of libuv's pool: names are resolved in it. */
	rc = client_new(&s->loop, opts, true, &s->c, err);
	if (rc < 0) {
		uv_loop_close(&s->loop);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void httpc_sync_free(httpc_sync *s)
{
	if (!s)
		return;
	httpc_free(s->c);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	uv_loop_close(&s->loop);
	free(s);
}

typedef struct sync_call {
	httpc_response *resp;
	httpc_chunk_fn on_chunk;
	void *user;
	bool done;
} sync_call;

static int on_sync_chunk(const void *data, size_t len, void *user)
{
	sync_call *sc = user;
	return sc->on_chunk(data, len, sc->user);
}

static void on_sync_done(const httpc_response *r, void *user)
{
	sync_call *sc = user;
	httpc__response_copy(sc->resp, r);
	sc->done = true;
}

int httpc_sync_do(httpc_sync *s, const httpc_request *r, httpc_response *resp, ck_err **err)
{
	memset(resp, 0, sizeof(*resp));
	const char *method = r->method ? r->method : "GET";
	_cleanup_free_ char *url =
	    r->url ? ck_strdup(r->url)
	           : ck_asprintf("%s%s", s->c->o.base_url ? s->c->o.base_url : "",
	                         r->path ? r->path : "");
	sync_call sc = {.resp = resp, .on_chunk = r->on_chunk, .user = r->user};
	httpc_request q = *r;
	q.on_chunk = r->on_chunk ? on_sync_chunk : NULL;
	q.on_done = on_sync_done;
	q.user = &sc;
	int rc = httpc_start(s->c, &q, NULL);
	if (rc < 0)
		return ck_err_set(err, rc, "%s %s: invalid request", method, url);
	while (!sc.done)
		uv_run(&s->loop, UV_RUN_ONCE);
	if (resp->rc < 0)
		ck_err_set(err, resp->rc, "%s %s: %s", method, url, resp->error);
	return resp->rc;
}

void httpc_response_clear(httpc_response *resp)
{
	if (!resp)
		return;
	free(resp->error);
	free(resp->content_type);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

char *httpc_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	ck_buf b = {0};
	ck_buf_puts(&b, "");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			ck_buf_putc(&b, (char)*p);
		} else {
			ck_buf_putc(&b, '%');
			ck_buf_putc(&b, hex[*p >> 4]);
			ck_buf_putc(&b, hex[*p & 15]);
		}
	}
	return ck_buf_steal(&b);
}
