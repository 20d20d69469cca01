/* http_client: libcurl multi driven by libuv. See http_client.h.
 *
 * User callbacks never run inside libcurl: the write callback only buffers, and streamed
 * bytes and completions are delivered after curl_multi_socket_action() returns. That lets
 * callbacks start and cancel requests freely (libcurl refuses re-entrant multi calls). */
#include "net/http_client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/log.h"
#include "base/strbuf.h"

/* Options with owned strings. */
typedef struct client_opts {
	char *base_url, *ca_file, *ca_pem, *cert_file, *cert_pem, *key_file, *key_pem;
	char *bearer_token, *user_agent;
	bool insecure;
	int timeout_ms, connect_timeout_ms, max_retries, retry_base_ms, retry_max_ms;
} client_opts;

struct httpc {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	client_opts o;
	httpc_req *reqs;        /* doubly linked, all requests alive */
	struct sock_ctx *socks; /* doubly linked, sockets curl watches */
	int dispatching;        /* depth of dispatch() */
	bool free_pending;      /* httpc_free called during dispatch */
	bool closing;
	int open_handles; /* uv handles not yet closed (timer, polls) */
};

/* Per-transfer state shared by the async and blocking paths. */
typedef struct xfer {
	const client_opts *o;
	CURL *easy;
	struct curl_slist *headers;
	char *method, *url, *req_body;
	size_t req_body_len;
	int timeout_ms;
	bool stream, no_retry;
	ck_buf body;    /* accumulated body, or streamed bytes not yet delivered */
	bool got_bytes; /* any response byte (header or body) arrived */
	bool aborted;   /* the chunk callback asked to stop */
	int attempts;
} xfer;

struct httpc_req {
	httpc *c;
	httpc_req *prev, *next;
	xfer x;
	httpc_chunk_fn on_chunk;
	httpc_done_fn on_done;
	void *user;
	uv_timer_t retry; /* closed (and the request freed) in req_free */
	bool in_multi;
	bool done; /* curl finished; result pending delivery */
	CURLcode result;
	bool gone;   /* cancelled or completed: awaiting the timer close */
	bool linked; /* in c->reqs */
};

typedef struct sock_ctx {
	uv_poll_t poll;
	httpc *c;
	curl_socket_t fd;
	struct sock_ctx *prev, *next;
} sock_ctx;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

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

static char *dup_or_null(const char *s)
{
	return s ? ck_strdup(s) : NULL;
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
	o->base_url = dup_or_null(in->base_url);
	o->ca_file = dup_or_null(in->ca_file);
	o->ca_pem = dup_or_null(in->ca_pem);
	o->cert_file = dup_or_null(in->cert_file);
	o->cert_pem = dup_or_null(in->cert_pem);
	o->key_file = dup_or_null(in->key_file);
	o->key_pem = dup_or_null(in->key_pem);
	o->bearer_token = dup_or_null(in->bearer_token);
	o->user_agent = ck_strdup(in->user_agent ? in->user_agent : "ckube/" CKUBE_VERSION);
	o->insecure = in->insecure_skip_verify;
	o->timeout_ms = in->timeout_ms ? in->timeout_ms : 60000;
	o->connect_timeout_ms = in->connect_timeout_ms > 0 ? in->connect_timeout_ms : 10000;
	o->max_retries = in->max_retries ? (in->max_retries < 0 ? 0 : in->max_retries) : 4;
	o->retry_base_ms = in->retry_base_ms > 0 ? in->retry_base_ms : 200;
	o->retry_max_ms = in->retry_max_ms > 0 ? in->retry_max_ms : 5000;
	return 0;
}

/* ---- one transfer ---- */

static bool method_idempotent(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
	       !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

static size_t on_curl_write(char *p, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	x->got_bytes = true;
	if (x->aborted)
		return 0;
	ck_buf_append(&x->body, p, size * n);
	return size * n;
}

static size_t on_curl_header(char *p, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	x->got_bytes = true;
	return size * n;
}

static void xfer_clear(xfer *x)
{
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->method);
	free(x->url);
	free(x->req_body);
	ck_buf_free(&x->body);
	memset(x, 0, sizeof(*x));
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *line)
{
	struct curl_slist *n = curl_slist_append(l, line);
	if (!n)
		abort();
	return n;
}

static void add_header(struct curl_slist **l, const char *name, const char *value)
{
	_cleanup_free_ char *h = ck_asprintf("%s: %s", name, value);
	*l = slist_add(*l, h);
}

/* Copies the request into x. Returns 0 or -EINVAL. */
static int xfer_init(xfer *x, const client_opts *o, const httpc_request *r)
{
	memset(x, 0, sizeof(*x));
	x->o = o;
	if (r->url)
		x->url = ck_strdup(r->url);
	else if (o->base_url && r->path)
		x->url = ck_asprintf("%s%s", o->base_url, r->path);
	else
		return -EINVAL;
	x->method = ck_strdup(r->method ? r->method : "GET");
	if (r->body) {
		x->req_body = ck_malloc(r->body_len + 1);
		memcpy(x->req_body, r->body, r->body_len);
		x->req_body[r->body_len] = 0;
		x->req_body_len = r->body_len;
	}
	x->timeout_ms = r->timeout_ms ? r->timeout_ms : o->timeout_ms;
	x->no_retry = r->no_retry || !method_idempotent(x->method);
	x->stream = r->on_chunk != NULL;
	add_header(&x->headers, "Accept", r->accept ? r->accept : "application/json");
	if (r->body)
		add_header(&x->headers, "Content-Type",
		           r->content_type ? r->content_type : "application/json");
	if (o->bearer_token) {
		_cleanup_free_ char *v = ck_asprintf("Bearer %s", o->bearer_token);
		add_header(&x->headers, "Authorization", v);
	}
	/* No 100-continue round trip: our server answers at once. */
	x->headers = slist_add(x->headers, "Expect:");
	for (size_t i = 0; i < r->n_headers; i++)
		add_header(&x->headers, r->headers[i].name, r->headers[i].value);
	return 0;
}

/* Connection sockets are close-on-exec: components start processes. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void set_blob(CURL *e, CURLoption opt, const char *pem)
{
	struct curl_blob b = {.data = (void *)pem, .len = strlen(pem), .flags = CURL_BLOB_COPY};
	curl_easy_setopt(e, opt, &b);
}

/* (Re)configures x->easy for one attempt. */
static int xfer_setup(xfer *x)
{
	const client_opts *o = x->o;
	if (!x->easy) {
		x->easy = curl_easy_init();
		if (!x->easy)
			return -ENOMEM;
	} else {
		curl_easy_reset(x->easy);
	}
	CURL *e = x->easy;
	ck_buf_clear(&x->body);
	x->got_bytes = false;
	x->aborted = false;
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_curl_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_curl_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, x->timeout_ms > 0 ? (long)x->timeout_ms : 0L);
	/* Long watches: notice a peer that vanished without a reset within about a minute. */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	if (!strcmp(x->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (x->req_body || strcmp(x->method, "GET")) {
		if (x->req_body || !strcmp(x->method, "POST")) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			                 (curl_off_t)x->req_body_len);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req_body ? x->req_body : "");
		}
		if (strcmp(x->method, "POST"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
	}
	/* TLS: a pinned CA replaces the system store. */
	if (o->ca_pem) {
		set_blob(e, CURLOPT_CAINFO_BLOB, o->ca_pem);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	} else if (o->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (o->cert_pem)
		set_blob(e, CURLOPT_SSLCERT_BLOB, o->cert_pem);
	else if (o->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert_file);
	if (o->key_pem)
		set_blob(e, CURLOPT_SSLKEY_BLOB, o->key_pem);
	else if (o->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, o->key_file);
	if (o->cert_pem || o->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (o->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return 0;
}

static int curl_code_to_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_WRITE_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return CK_EPROTO;
	}
}

/* A failed attempt worth another try: the connection failed before any response byte. */
static bool xfer_retryable(const xfer *x, CURLcode rc)
{
	if (x->no_retry || x->got_bytes || x->attempts > x->o->max_retries)
		return false;
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
	       rc == CURLE_GOT_NOTHING;
}

static uint64_t retry_delay_ms(const xfer *x)
{
	uint64_t d = (uint64_t)x->o->retry_base_ms;
	for (int i = 1; i < x->attempts && d < (uint64_t)x->o->retry_max_ms; i++)
		d *= 2;
	return d < (uint64_t)x->o->retry_max_ms ? d : (uint64_t)x->o->retry_max_ms;
}

static void xfer_response(xfer *x, CURLcode rc, httpc_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	long status = 0;
	char *ct = NULL;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
	resp->status = (int)status;
	resp->content_type = ct;
	if (x->aborted)
		rc = CURLE_WRITE_ERROR;
	resp->rc = curl_code_to_errno(rc);
	if (resp->rc)
		resp->error = (char *)curl_easy_strerror(rc);
	if (!x->body.s)
		ck_buf_puts(&x->body, "");
	resp->body = x->body.s;
	resp->body_len = x->body.len;
}

/* ---- async client ---- */

static void check_multi(httpc *c);
static void dispatch(httpc *c);

static void on_handle_closed(uv_handle_t *h)
{
	httpc *c = h->data;
	if (--c->open_handles == 0 && c->closing)
		free(c);
}

static void on_poll_closed(uv_handle_t *h)
{
	sock_ctx *s = (sock_ctx *)h;
	httpc *c = s->c;
	free(s);
	if (--c->open_handles == 0 && c->closing)
		free(c);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	sock_ctx *s = (sock_ctx *)p;
	httpc *c = s->c;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	int running = 0;
	curl_multi_socket_action(c->multi, s->fd, flags, &running);
	check_multi(c);
}

static void sock_close(sock_ctx *s)
{
	httpc *c = s->c;
	if (s->prev)
		s->prev->next = s->next;
	else
		c->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_poll_closed);
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	httpc *c = userp;
	sock_ctx *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_close(s);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = ck_calloc(1, sizeof(*s));
		s->c = c;
		s->fd = fd;
		if (uv_poll_init_socket(c->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		c->open_handles++;
		s->next = c->socks;
		if (c->socks)
			c->socks->prev = s;
		c->socks = s;
		curl_multi_assign(c->multi, fd, s);
	}
	int ev = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&s->poll, ev, on_poll);
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	httpc *c = t->data;
	int running = 0;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi(c);
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
	httpc *c = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static void on_retry_closed(uv_handle_t *h)
{
	free(h->data);
}

static void req_unlink(httpc_req *r)
{
	httpc *c = r->c;
	if (!r->linked)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->linked = false;
}

/* Unlinks and frees r (the free completes when its timer is closed). */
static void req_free(httpc_req *r)
{
	httpc *c = r->c;
	if (r->in_multi)
		curl_multi_remove_handle(c->multi, r->x.easy);
	r->in_multi = false;
	req_unlink(r);
	xfer_clear(&r->x);
	r->gone = true;
	uv_timer_stop(&r->retry);
	r->retry.data = r;
	uv_close((uv_handle_t *)&r->retry, on_retry_closed);
}

static int req_submit(httpc_req *r)
{
	int rc = xfer_setup(&r->x);
	if (rc < 0)
		return rc;
	r->x.attempts++;
	curl_easy_setopt(r->x.easy, CURLOPT_PRIVATE, r);
	if (curl_multi_add_handle(r->c->multi, r->x.easy) != CURLM_OK)
		return -EIO;
	r->in_multi = true;
	return 0;
}

static void on_retry(uv_timer_t *t)
{
	httpc_req *r = t->data;
	httpc *c = r->c;
	int rc = req_submit(r);
	if (rc < 0) {
		r->done = true;
		r->result = CURLE_FAILED_INIT;
	}
	dispatch(c);
}

/* Collects finished transfers from curl, then delivers. */
static void check_multi(httpc *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		httpc_req *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		CURLcode rc = m->data.result;
		curl_multi_remove_handle(c->multi, m->easy_handle);
		r->in_multi = false;
		if (rc != CURLE_OK && xfer_retryable(&r->x, rc)) {
			uint64_t d = retry_delay_ms(&r->x);
			CK_V(4, "http: %s %s: %s; retry in %llu ms", r->x.method, r->x.url,
			     curl_easy_strerror(rc), (unsigned long long)d);
			r->retry.data = r;
			uv_timer_start(&r->retry, on_retry, d, 0);
			continue;
		}
		r->done = true;
		r->result = rc;
	}
	dispatch(c);
}

static void client_destroy(httpc *c);

/* Delivers streamed bytes and completions, outside of libcurl. Restarts from the head
 * after each callback, since a callback may free or add requests. */
static void dispatch(httpc *c)
{
	c->dispatching++;
	bool again = true;
	while (again && !c->free_pending) {
		again = false;
		for (httpc_req *r = c->reqs; r; r = r->next) {
			long status = 0;
			if (r->x.stream && r->x.body.len && !r->x.aborted) {
				curl_easy_getinfo(r->x.easy, CURLINFO_RESPONSE_CODE, &status);
				if (status >= 200 && status < 300) {
					ck_buf chunk = r->x.body;
					r->x.body = (ck_buf){0};
					int stop = r->on_chunk(chunk.s, chunk.len, r->user);
					ck_buf_free(&chunk);
					/* r may be cancelled: restart the scan. */
					if (stop)
						r->x.aborted = true;
					again = true;
					break;
				}
			}
			if (r->done) {
				httpc_response resp;
				xfer_response(&r->x, r->result, &resp);
				r->done = false;
				/* Unlink before the callback so that httpc_free from inside it
				 * does not see r. */
				req_unlink(r);
				if (r->on_done)
					r->on_done(&resp, r->user);
				req_free(r);
				again = true;
				break;
			}
		}
		/* An aborted stream: make curl notice now. */
		for (httpc_req *r = c->reqs; r && !again; r = r->next) {
			if (r->x.aborted && r->in_multi && !r->done) {
				curl_multi_remove_handle(c->multi, r->x.easy);
				r->in_multi = false;
				r->done = true;
				r->result = CURLE_WRITE_ERROR;
				again = true;
			}
		}
	}
	if (--c->dispatching == 0 && c->free_pending)
		client_destroy(c);
}

/* Open descriptors below 1024, as a bitmap. */
typedef struct fd_snapshot {
	unsigned char bits[128];
} fd_snapshot;

static void snapshot_fds(fd_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (!*end && fd >= 0 && fd < 1024 && fd != dirfd(d))
			s->bits[fd / 8] |= (unsigned char)(1u << (fd % 8));
	}
	closedir(d);
}

/* libcurl 7.88 creates the multi handle's wake-up socketpair without close-on-exec:
 * mark the sockets that appeared since before. */
static void cloexec_new_sockets(const fd_snapshot *before)
{
	fd_snapshot now;
	snapshot_fds(&now);
	for (int fd = 3; fd < 1024; fd++) {
		bool was = before->bits[fd / 8] & (1u << (fd % 8));
		bool is = now.bits[fd / 8] & (1u << (fd % 8));
		struct stat st;
		if (!is || was || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		int flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	}
}

int httpc_new(uv_loop_t *loop, const httpc_opts *opts, httpc **out, ck_err **err)
{
	pthread_once(&curl_once, curl_init_once);
	httpc *c = ck_calloc(1, sizeof(*c));
	int rc = opts_copy(&c->o, opts, err);
	if (rc < 0) {
		opts_clear(&c->o);
		free(c);
		return rc;
	}
	c->loop = loop;
	fd_snapshot before;
	snapshot_fds(&before);
	c->multi = curl_multi_init();
	cloexec_new_sockets(&before);
	if (!c->multi) {
		opts_clear(&c->o);
		free(c);
		return ck_err_set(err, -ENOMEM, "curl_multi_init failed");
	}
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 1;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*out = c;
	return 0;
}

static void client_destroy(httpc *c)
{
	while (c->reqs)
		req_free(c->reqs);
	/* Removing handles may report sockets to close through on_curl_socket. */
	curl_multi_cleanup(c->multi);
	c->multi = NULL;
	while (c->socks)
		sock_close(c->socks);
	opts_clear(&c->o);
	c->closing = true;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

void httpc_free(httpc *c)
{
	if (!c || c->closing || c->free_pending)
		return;
	if (c->dispatching) {
		c->free_pending = true;
		while (c->reqs)
			req_free(c->reqs);
		return;
	}
	client_destroy(c);
}

int httpc_start(httpc *c, const httpc_request *in, httpc_req **out)
{
	if (!c || c->closing || c->free_pending)
		return -ESHUTDOWN;
	httpc_req *r = ck_calloc(1, sizeof(*r));
	r->c = c;
	int rc = xfer_init(&r->x, &c->o, in);
	if (rc < 0) {
		xfer_clear(&r->x);
		free(r);
		return rc;
	}
	r->on_chunk = in->on_chunk;
	r->on_done = in->on_done;
	r->user = in->user;
	uv_timer_init(c->loop, &r->retry);
	r->retry.data = r;
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	r->linked = true;
	rc = req_submit(r);
	if (rc < 0) {
		r->on_done = NULL;
		req_free(r);
		return rc;
	}
	if (out)
		*out = r;
	return 0;
}

void httpc_cancel(httpc_req *r)
{
	if (!r || r->gone)
		return;
	req_free(r);
}

int httpc_req_status(const httpc_req *r)
{
	long status = 0;
	if (r && r->x.easy)
		curl_easy_getinfo(r->x.easy, CURLINFO_RESPONSE_CODE, &status);
	return (int)status;
}

size_t httpc_in_flight(const httpc *c)
{
	size_t n = 0;
	for (const httpc_req *r = c->reqs; r; r = r->next)
		n++;
	return n;
}

/* ---- blocking client ---- */

struct httpc_sync {
	client_opts o;
	CURL *easy; /* kept between calls for its connection */
	bool performed;
};

int httpc_sync_new(const httpc_opts *opts, httpc_sync **out, ck_err **err)
{
	pthread_once(&curl_once, curl_init_once);
	httpc_sync *s = ck_calloc(1, sizeof(*s));
	int rc = opts_copy(&s->o, opts, err);
	if (rc < 0) {
		opts_clear(&s->o);
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
	if (s->easy)
		curl_easy_cleanup(s->easy);
	opts_clear(&s->o);
	free(s);
}

typedef struct sync_stream {
	xfer *x;
	httpc_chunk_fn fn;
	void *user;
} sync_stream;

static size_t on_sync_write(char *p, size_t size, size_t n, void *ud)
{
	sync_stream *ss = ud;
	xfer *x = ss->x;
	x->got_bytes = true;
	long status = 0;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (ss->fn && status >= 200 && status < 300) {
		if (ss->fn(p, size * n, ss->user)) {
			x->aborted = true;
			return 0;
		}
		return size * n;
	}
	ck_buf_append(&x->body, p, size * n);
	return size * n;
}

int httpc_sync_do(httpc_sync *s, const httpc_request *r, httpc_response *resp, ck_err **err)
{
	memset(resp, 0, sizeof(*resp));
	xfer x;
	int rc = xfer_init(&x, &s->o, r);
	if (rc < 0) {
		xfer_clear(&x);
		return ck_err_set(err, rc, "invalid request: no URL");
	}
	x.easy = s->easy;
	s->easy = NULL;
	sync_stream ss = {.x = &x, .fn = r->on_chunk, .user = r->user};
	CURLcode res;
	for (;;) {
		rc = xfer_setup(&x);
		if (rc < 0)
			break;
		curl_easy_setopt(x.easy, CURLOPT_WRITEFUNCTION, on_sync_write);
		curl_easy_setopt(x.easy, CURLOPT_WRITEDATA, &ss);
		x.attempts++;
		/* The first perform creates the easy handle's own multi (and its socketpair). */
		fd_snapshot before;
		if (!s->performed)
			snapshot_fds(&before);
		res = curl_easy_perform(x.easy);
		if (!s->performed)
			cloexec_new_sockets(&before);
		s->performed = true;
		if (res == CURLE_OK || !xfer_retryable(&x, res))
			break;
		/* A blocking CLI call: waiting out the backoff here blocks nothing else. */
		uint64_t d = retry_delay_ms(&x);
		struct timespec ts = {.tv_sec = (time_t)(d / 1000),
		                      .tv_nsec = (long)(d % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	if (rc == 0) {
		httpc_response tmp;
		xfer_response(&x, res, &tmp);
		resp->rc = tmp.rc;
		resp->status = tmp.status;
		resp->content_type = dup_or_null(tmp.content_type);
		resp->error = dup_or_null(tmp.error);
		resp->body_len = x.body.len;
		resp->body = ck_buf_steal(&x.body);
		rc = resp->rc;
		if (rc < 0)
			ck_err_set(err, rc, "%s %s: %s", x.method, x.url, resp->error);
	} else {
		ck_err_set(err, rc, "%s %s: cannot set up the request", x.method, x.url);
	}
	s->easy = x.easy;
	x.easy = NULL;
	xfer_clear(&x);
	return rc;
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
