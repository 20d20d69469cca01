/* server: the kubelet's API on --port (10250): what the apiserver proxies for
 * `kubectl logs` and what health checks ask.
 *   GET /healthz                                  "ok"
 *   GET /pods                                     PodList of the pods bound here
 *   GET /containerLogs/{ns}/{pod}/{container}     the container's log, from the CRI log
 *       files under --pod-log-dir, with tailLines, timestamps, previous, limitBytes,
 *       sinceSeconds and follow (streamed as the file grows, until the client leaves or
 *       the container instance ends).
 * HTTPS with --tls-cert-file/--tls-private-key-file; with --client-ca-file every request
 * but /healthz needs a client certificate signed by that CA (upstream's x509
 * authentication; authorization is not checked). Without a certificate it serves plain
 * HTTP (upstream would generate a self-signed one). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "kubelet.h"
#include "net/http_server.h"

#define MAX_LOG_READ (64u << 20)

typedef struct kl_server {
	kubelet *k;
	http_server *http;
} kl_server;

/* One `follow` stream. */
typedef struct follower {
	kubelet *k;
	http_exchange *x;
	char *path; /* the log file */
	char *dir;  /* its container directory (a newer attempt ends the stream) */
	char *key;  /* "ns/name" of the pod */
	char *container;
	unsigned attempt;
	off_t offset;
	ck_buf pending; /* an incomplete last line */
	bool timestamps;
	int64_t limit; /* bytes left when limitBytes was given, else -1 */
	uv_fs_event_t ev;
	uv_timer_t timer;
	int open_handles;
	bool ended;
} follower;

static void respond_text(http_exchange *x, int status, const char *text)
{
	http_respond(x, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* Highest attempt N with <dir>/N.log (below `below` when >= 0). -1 when none. */
static long find_attempt(const char *dir, long below)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	long best = -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long n = strtol(e->d_name, &end, 10);
		if (end == e->d_name || strcmp(end, ".log") || n < 0)
			continue;
		if (below >= 0 && n >= below)
			continue;
		if (n > best)
			best = n;
	}
	closedir(d);
	return best;
}

static int64_t parse_time_ns(const char *ts)
{
	struct timespec t;
	if (ck_time_parse_rfc3339(ts, &t) < 0)
		return 0;
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Converts CRI log records ("TS STREAM P|F CONTENT") in buf into what the user reads,
 * appending to out. Returns how many bytes of buf were consumed (whole lines only). */
static size_t convert(const char *buf, size_t len, bool timestamps, int64_t since_ns, ck_buf *out)
{
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		if (!nl)
			break;
		const char *line = buf + pos;
		size_t ll = (size_t)(nl - line);
		pos += ll + 1;
		const char *sp1 = memchr(line, ' ', ll);
		if (!sp1)
			continue;
		const char *sp2 = memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - line));
		if (!sp2)
			continue;
		const char *sp3 = memchr(sp2 + 1, ' ', ll - (size_t)(sp2 + 1 - line));
		const char *tag = sp2 + 1;
		const char *content = sp3 ? sp3 + 1 : line + ll;
		size_t cl = (size_t)(line + ll - content);
		if (since_ns > 0) {
			_cleanup_free_ char *ts = ck_strndup(line, (size_t)(sp1 - line));
			if (parse_time_ns(ts) < since_ns)
				continue;
		}
		if (timestamps) {
			ck_buf_append(out, line, (size_t)(sp1 - line));
			ck_buf_putc(out, ' ');
		}
		ck_buf_append(out, content, cl);
		if (*tag != 'P')
			ck_buf_putc(out, '\n');
	}
	return pos;
}

/* The last n lines of s (n < 0: all). */
static const char *tail_lines(const char *s, size_t len, long n)
{
	if (n < 0)
		return s;
	if (n == 0)
		return s + len;
	const char *p = s + len;
	if (p > s && p[-1] == '\n')
		p--;
	while (p > s) {
		if (p[-1] == '\n' && --n == 0)
			return p;
		p--;
	}
	return s;
}

static char *read_file_all(const char *path, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ck_buf b = {0};
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || b.len + (size_t)n > MAX_LOG_READ)
			break;
		ck_buf_append(&b, chunk, (size_t)n);
	}
	*len = b.len;
	return ck_buf_steal(&b);
}

static void follower_release(follower *f)
{
	if (--f->open_handles > 0)
		return;
	free(f->path);
	free(f->dir);
	free(f->key);
	free(f->container);
	ck_buf_free(&f->pending);
	free(f);
}

static void follower_closed(uv_handle_t *h)
{
	follower_release(h->data);
}

static void follower_end(follower *f)
{
	if (f->ended)
		return;
	f->ended = true;
	uv_fs_event_stop(&f->ev);
	uv_timer_stop(&f->timer);
	uv_close((uv_handle_t *)&f->ev, follower_closed);
	uv_close((uv_handle_t *)&f->timer, follower_closed);
	http_stream_end(f->x);
}

/* Sends what was appended to the file since the last read. */
static void follower_drain(follower *f)
{
	_cleanup_close_ int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char chunk[65536];
	for (;;) {
		ssize_t n = pread(fd, chunk, sizeof(chunk), f->offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		f->offset += n;
		ck_buf_append(&f->pending, chunk, (size_t)n);
	}
	_cleanup_buf_ ck_buf out = {0};
	size_t used =
	    convert(f->pending.s ? f->pending.s : "", f->pending.len, f->timestamps, 0, &out);
	if (used) {
		memmove(f->pending.s, f->pending.s + used, f->pending.len - used);
		ck_buf_truncate(&f->pending, f->pending.len - used);
	}
	if (out.len) {
		size_t n = out.len;
		if (f->limit >= 0 && (int64_t)n > f->limit)
			n = (size_t)f->limit;
		if (n && http_stream_write(f->x, out.s, n) < 0) {
			follower_end(f);
			return;
		}
		if (f->limit >= 0) {
			f->limit -= (int64_t)n;
			if (f->limit <= 0)
				follower_end(f);
		}
	}
}

static void on_file_change(uv_fs_event_t *h, const char *filename, int events, int status)
{
	follower *f = h->data;
	if (!f->ended)
		follower_drain(f);
}

/* Ends the stream once this container instance is over: a newer attempt exists, or the
 * pod is gone, or its status says the instance terminated. */
static void on_check(uv_timer_t *t)
{
	follower *f = t->data;
	if (f->ended)
		return;
	follower_drain(f);
	if (f->ended)
		return;
	if (find_attempt(f->dir, -1) > (long)f->attempt) {
		follower_end(f);
		return;
	}
	const cJSON *pod = pod_worker_get(f->k, f->key);
	if (!pod) {
		follower_end(f);
		return;
	}
	const cJSON *cs;
	cJSON_ArrayForEach(cs, ck_json_get(pod, "status.containerStatuses"))
	{
		if (strcmp(ck_json_get_str(cs, "name", ""), f->container))
			continue;
		if (ck_json_get_int(cs, "restartCount", -1) == (int64_t)f->attempt &&
		    ck_json_get(cs, "state.terminated"))
			follower_end(f);
	}
}

static void on_client_gone(http_exchange *x, void *data)
{
	follower_end(data);
}

static bool query_bool(const http_request *r, const char *name)
{
	_cleanup_free_ char *v = http_request_query(r, name);
	return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

static long query_long(const http_request *r, const char *name, long def)
{
	_cleanup_free_ char *v = http_request_query(r, name);
	if (!v || !*v)
		return def;
	char *end;
	long n = strtol(v, &end, 10);
	return *end ? def : n;
}

static void container_logs(kl_server *s, http_exchange *x, const char *ns, const char *name,
                           const char *container)
{
	const http_request *r = http_exchange_request(x);
	_cleanup_free_ char *key = ck_asprintf("%s/%s", ns, name);
	const cJSON *pod = pod_worker_get(s->k, key);
	if (!pod) {
		_cleanup_free_ char *m = ck_asprintf("pod %s not found", key);
		respond_text(x, 404, m);
		return;
	}
	_cleanup_free_ char *dir = ck_asprintf("%s/%s_%s_%s/%s", s->k->cfg.pod_log_dir, ns, name,
	                                       ck_json_get_str(pod, "metadata.uid", ""), container);
	bool previous = query_bool(r, "previous");
	long cur = find_attempt(dir, -1);
	long attempt = previous && cur >= 0 ? find_attempt(dir, cur) : cur;
	if (attempt < 0) {
		_cleanup_free_ char *m =
		    previous ? ck_asprintf("previous terminated container \"%s\" in pod \"%s\" not "
		                           "found",
		                           container, name)
		             : ck_asprintf("container \"%s\" in pod \"%s\" is waiting to start",
		                           container, name);
		respond_text(x, 400, m);
		return;
	}
	_cleanup_free_ char *path = ck_asprintf("%s/%ld.log", dir, attempt);
	size_t len = 0;
	_cleanup_free_ char *raw = read_file_all(path, &len);
	if (!raw) {
		respond_text(x, 404, "log file not found");
		return;
	}
	bool timestamps = query_bool(r, "timestamps");
	long since_s = query_long(r, "sinceSeconds", 0);
	int64_t since_ns = 0;
	if (since_s > 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		since_ns = ((int64_t)now.tv_sec - since_s) * 1000000000LL + now.tv_nsec;
	}
	_cleanup_buf_ ck_buf out = {0};
	size_t used = convert(raw, len, timestamps, since_ns, &out);
	const char *body = out.s ? out.s : "";
	const char *from = tail_lines(body, out.len, query_long(r, "tailLines", -1));
	size_t n = out.len - (size_t)(from - body);
	long limit = query_long(r, "limitBytes", -1);
	if (limit >= 0 && (size_t)limit < n)
		n = (size_t)limit;
	if (!query_bool(r, "follow") || previous) {
		http_respond(x, 200, "text/plain", from, n);
		return;
	}
	follower *f = ck_calloc(1, sizeof(*f));
	f->k = s->k;
	f->x = x;
	f->path = CK_TAKE_PTR(path);
	f->dir = CK_TAKE_PTR(dir);
	f->key = CK_TAKE_PTR(key);
	f->container = ck_strdup(container);
	f->attempt = (unsigned)attempt;
	f->offset = (off_t)used;
	f->timestamps = timestamps;
	f->limit = limit >= 0 ? limit - (int64_t)n : -1;
	f->open_handles = 2;
	http_stream_begin(x, 200, "text/plain");
	if (n && http_stream_write(x, from, n) < 0) {
		f->open_handles = 0;
		http_stream_end(x);
		f->open_handles = 1;
		follower_release(f);
		return;
	}
	uv_fs_event_init(s->k->loop, &f->ev);
	uv_timer_init(s->k->loop, &f->timer);
	f->ev.data = f->timer.data = f;
	uv_fs_event_start(&f->ev, on_file_change, f->path, 0);
	uv_timer_start(&f->timer, on_check, 1000, 1000);
	http_exchange_on_close(x, on_client_gone, f);
	if (f->limit == 0)
		follower_end(f);
}

static void list_pods(kl_server *s, http_exchange *x)
{
	_cleanup_json_ cJSON *list = cJSON_CreateObject();
	cJSON_AddStringToObject(list, "kind", "PodList");
	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON_AddItemToObject(list, "metadata", cJSON_CreateObject());
	cJSON *items = cJSON_CreateArray();
	size_t n = 0;
	const cJSON **pods = pod_worker_list(s->k, &n);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(items, ck_json_dup(pods[i]));
	free(pods);
	cJSON_AddItemToObject(list, "items", items);
	_cleanup_free_ char *body = ck_json_print(list);
	http_respond(x, 200, "application/json", body, strlen(body));
}

static void handle(http_exchange *x, void *data)
{
	kl_server *s = data;
	const http_request *r = http_exchange_request(x);
	if (!strcmp(r->path, "/healthz")) {
		respond_text(x, 200, "ok");
		return;
	}
	if (s->k->cfg.client_ca_file && *s->k->cfg.client_ca_file && !r->client_cn) {
		respond_text(x, 401, "Unauthorized");
		return;
	}
	if (strcmp(r->method, "GET")) {
		respond_text(x, 405, "method not allowed");
		return;
	}
	if (!strcmp(r->path, "/pods") || !strcmp(r->path, "/pods/")) {
		list_pods(s, x);
		return;
	}
	if (!strncmp(r->path, "/containerLogs/", 15)) {
		_cleanup_strv_ char **parts = ck_strv_split(r->path + 15, "/");
		if (ck_strv_len(parts) == 3 && *parts[0] && *parts[1] && *parts[2]) {
			container_logs(s, x, parts[0], parts[1], parts[2]);
			return;
		}
	}
	respond_text(x, 404, "404 page not found");
}

int kl_server_start(kubelet *k)
{
	if (k->cfg.port <= 0)
		return 0;
	kl_server *s = ck_calloc(1, sizeof(*s));
	s->k = k;
	http_server_opts o = {
	    .bind_address = k->cfg.address ? k->cfg.address : "0.0.0.0",
	    .port = k->cfg.port,
	    .tls_cert_file = k->cfg.tls_cert_file,
	    .tls_key_file = k->cfg.tls_key_file,
	    .client_ca_file = k->cfg.client_ca_file,
	};
	_cleanup_err_ ck_err *err = NULL;
	int r = http_server_new(k->loop, &o, handle, s, &s->http, &err);
	if (r < 0) {
		CK_ERROR("kubelet server on %s:%d: %s", o.bind_address, o.port,
		         err ? err->msg : ck_strerror(r));
		free(s);
		return r;
	}
	CK_INFO("serving the kubelet API on %s:%d (%s)", o.bind_address, o.port,
	        o.tls_cert_file ? "https" : "http");
	k->server = s;
	return 0;
}

static void server_done(void *data)
{
	free(data);
}

void kl_server_stop(kubelet *k)
{
	if (!k->server)
		return;
	http_server_shutdown(k->server->http, server_done, k->server);
	k->server = NULL;
}
