/* probe: liveness, readiness and startup probes of running containers, on the loop.
 *
 * After each pod sync the pod worker hands over the pod's running containers; a worker
 * per (container instance, probe kind) then probes every periodSeconds after
 * initialDelaySeconds, with timeoutSeconds, successThreshold and failureThreshold as
 * upstream defaults them (10 s, 1 s, 1, 3). Handlers: exec (CRI ExecSync, success on exit
 * 0), httpGet (HTTP/1.1 GET to host or the pod IP, success on 200-399) and tcpSocket
 * (connect). Readiness and startup results feed the pod's status (the pod is enqueued when
 * one changes); liveness and startup failures kill the container (StopContainer with the
 * pod's grace period) so that the sync restarts it under its restartPolicy and back-off.
 * Liveness and readiness wait for a startup probe to succeed. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "kubelet.h"

enum probe_kind { PROBE_READINESS, PROBE_LIVENESS, PROBE_STARTUP };
static const char *const kind_field[] = {"readinessProbe", "livenessProbe", "startupProbe"};
static const char *const kind_name[] = {"Readiness", "Liveness", "Startup"};

typedef struct probe_mgr probe_mgr;

typedef struct probe_worker {
	probe_mgr *m;
	char *key, *container, *cid, *pod_ip;
	enum probe_kind kind;
	cJSON *probe;
	cJSON *pod; /* for events and the grace period */
	uv_timer_t timer;
	int successes, failures;
	int result; /* -1 unknown, 0 failure, 1 success */
	bool in_flight, dead, seen;
	int refs; /* the timer handle (until closed) + a check in flight */
	struct probe_worker *next;
} probe_worker;

struct probe_mgr {
	kubelet *k;
	probe_worker *workers;
};

/* One HTTP or TCP check. */
typedef struct net_check {
	probe_worker *w;
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_write_t wr;
	uv_timer_t timeout;
	char *request;
	ck_buf reply;
	bool http, done;
	int closing;
} net_check;

static probe_mgr *mgr(kubelet *k)
{
	if (!k->probes) {
		k->probes = ck_calloc(1, sizeof(probe_mgr));
		k->probes->k = k;
	}
	return k->probes;
}

static void worker_unref(probe_worker *w)
{
	if (--w->refs > 0)
		return;
	free(w->key);
	free(w->container);
	free(w->cid);
	free(w->pod_ip);
	cJSON_Delete(w->probe);
	cJSON_Delete(w->pod);
	free(w);
}

static void worker_closed(uv_handle_t *h)
{
	worker_unref(h->data);
}

/* Unlinks w and stops it; its memory goes once the timer is closed and no check is in
 * flight. */
static void worker_stop(probe_worker *w)
{
	for (probe_worker **pw = &w->m->workers; *pw; pw = &(*pw)->next) {
		if (*pw == w) {
			*pw = w->next;
			break;
		}
	}
	w->dead = true;
	uv_timer_stop(&w->timer);
	uv_close((uv_handle_t *)&w->timer, worker_closed);
}

static probe_worker *find_worker(probe_mgr *m, const char *cid, enum probe_kind kind)
{
	for (probe_worker *w = m->workers; w; w = w->next)
		if (!w->dead && w->kind == kind && !strcmp(w->cid, cid))
			return w;
	return NULL;
}

static int probe_result_of(probe_mgr *m, const char *cid, enum probe_kind kind)
{
	probe_worker *w = find_worker(m, cid, kind);
	return w ? w->result : -1;
}

static void schedule(probe_worker *w, int64_t ms);

static void kill_container(probe_worker *w, const char *why);

static void report(probe_worker *w, bool ok, const char *detail)
{
	w->in_flight = false;
	if (w->dead) {
		worker_unref(w); /* stopped meanwhile */
		return;
	}
	w->refs--; /* the check's reference; the timer's keeps w alive */
	int success_threshold = (int)ck_json_get_int(w->probe, "successThreshold", 1);
	int failure_threshold = (int)ck_json_get_int(w->probe, "failureThreshold", 3);
	int before = w->result;
	if (ok) {
		w->failures = 0;
		if (++w->successes >= success_threshold)
			w->result = 1;
	} else {
		w->successes = 0;
		w->failures++;
		kl_event(w->m->k, w->pod, w->container, "Warning", "Unhealthy",
		         "%s probe failed: %s", kind_name[w->kind], detail ? detail : "");
		if (w->failures >= failure_threshold)
			w->result = 0;
	}
	if (w->result != before) {
		CK_V(2, "probe %s %s/%s: %s", kind_name[w->kind], w->key, w->container,
		     w->result == 1 ? "success" : "failure");
		if (w->kind != PROBE_LIVENESS)
			pod_worker_enqueue(w->m->k, w->key);
	}
	if (w->result == 0 && (w->kind == PROBE_LIVENESS || w->kind == PROBE_STARTUP)) {
		kill_container(w, w->kind == PROBE_LIVENESS ? "liveness" : "startup");
		return;
	}
	/* After a startup success the startup probe is done. */
	if (w->kind == PROBE_STARTUP && w->result == 1)
		return;
	schedule(w, ck_json_get_int(w->probe, "periodSeconds", 10) * 1000);
}

static void stopped(int rc, const ck_err *err, void *data)
{
	/* The relist notices the exit and the sync restarts the container. */
	if (rc < 0)
		CK_V(1, "probe: StopContainer: %s", err ? err->msg : ck_strerror(rc));
}

static void kill_container(probe_worker *w, const char *why)
{
	kubelet *k = w->m->k;
	kl_event(k, w->pod, w->container, "Normal", "Killing",
	         "Container %s failed %s probe, will be restarted", w->container, why);
	int64_t grace =
	    ck_json_get_int(w->probe, "terminationGracePeriodSeconds",
	                    ck_json_get_int(w->pod, "spec.terminationGracePeriodSeconds", 30));
	cri_stop_container(k->cri, w->cid, grace, stopped, NULL);
	worker_stop(w);
}

/* ---- exec ---- */

static void exec_done(int rc, int32_t code, const char *out, size_t out_len, const char *eo,
                      size_t eo_len, const ck_err *err, void *data)
{
	probe_worker *w = data;
	_cleanup_free_ char *detail = NULL;
	if (rc < 0)
		detail = ck_strdup(err ? err->msg : ck_strerror(rc));
	else if (code != 0)
		detail = ck_asprintf("command exited %d: %.*s", (int)code,
		                     (int)(out_len > 200 ? 200 : out_len), out ? out : "");
	report(w, rc == 0 && code == 0, detail);
}

/* ---- http / tcp ---- */

static void check_closed(uv_handle_t *h)
{
	net_check *c = h->data;
	if (--c->closing > 0)
		return;
	free(c->request);
	ck_buf_free(&c->reply);
	free(c);
}

static void check_finish(net_check *c, bool ok, const char *detail)
{
	if (c->done)
		return;
	c->done = true;
	uv_timer_stop(&c->timeout);
	c->closing = 2;
	uv_close((uv_handle_t *)&c->tcp, check_closed);
	uv_close((uv_handle_t *)&c->timeout, check_closed);
	report(c->w, ok, detail);
}

static void check_timeout(uv_timer_t *t)
{
	check_finish(t->data, false, "timeout");
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[4096];
	buf->base = slab;
	buf->len = sizeof(slab);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	net_check *c = s->data;
	if (n > 0)
		ck_buf_append(&c->reply, buf->base, (size_t)n);
	const char *r = c->reply.s;
	const char *eol = r ? memchr(r, '\n', c->reply.len) : NULL;
	if (eol || n < 0) {
		/* "HTTP/1.1 200 OK" */
		int status = 0;
		if (r && c->reply.len > 12 && !strncmp(r, "HTTP/1.", 7))
			status = (int)strtol(r + 9, NULL, 10);
		_cleanup_free_ char *d =
		    ck_asprintf("HTTP probe failed with statuscode: %d", status);
		check_finish(c, status >= 200 && status < 400, d);
	}
}

static void on_written(uv_write_t *req, int status)
{
	net_check *c = req->data;
	if (status < 0)
		check_finish(c, false, uv_strerror(status));
}

static void on_connect(uv_connect_t *req, int status)
{
	net_check *c = req->data;
	if (c->done)
		return;
	if (status < 0) {
		check_finish(c, false, uv_strerror(status));
		return;
	}
	if (!c->http) {
		check_finish(c, true, NULL);
		return;
	}
	uv_buf_t b = uv_buf_init(c->request, (unsigned)strlen(c->request));
	c->wr.data = c;
	uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

/* The port of a probe: a number or the name of a container port. */
static int probe_port(const probe_worker *w, const cJSON *port_json)
{
	if (cJSON_IsNumber(port_json))
		return port_json->valueint;
	if (!cJSON_IsString(port_json))
		return -1;
	const cJSON *c, *p;
	cJSON_ArrayForEach(c, ck_json_get(w->pod, "spec.containers"))
	{
		if (strcmp(ck_json_get_str(c, "name", ""), w->container))
			continue;
		cJSON_ArrayForEach(p, ck_json_get(c, "ports"))
		{
			if (!strcmp(ck_json_get_str(p, "name", ""), port_json->valuestring))
				return (int)ck_json_get_int(p, "containerPort", -1);
		}
	}
	char *end;
	long n = strtol(port_json->valuestring, &end, 10);
	return *end ? -1 : (int)n;
}

static void net_probe(probe_worker *w, const cJSON *h, bool http)
{
	kubelet *k = w->m->k;
	const char *host = ck_json_get_str(h, "host", NULL);
	if (!host || !*host)
		host = w->pod_ip;
	int port = probe_port(w, ck_json_get(h, "port"));
	struct sockaddr_in sa;
	if (!host || port <= 0 || uv_ip4_addr(host, port, &sa) < 0) {
		report(w, false, "no address to probe");
		return;
	}
	net_check *c = ck_calloc(1, sizeof(*c));
	c->w = w;
	c->http = http;
	if (http) {
		const char *path = ck_json_get_str(h, "path", "/");
		ck_buf req = {0};
		ck_buf_printf(&req,
		              "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: kube-probe/1.32\r\n",
		              *path ? path : "/", host, port);
		const cJSON *hd;
		cJSON_ArrayForEach(hd, ck_json_get(h, "httpHeaders"))
		    ck_buf_printf(&req, "%s: %s\r\n", ck_json_get_str(hd, "name", "X"),
		                  ck_json_get_str(hd, "value", ""));
		ck_buf_puts(&req, "Accept: */*\r\nConnection: close\r\n\r\n");
		c->request = ck_buf_steal(&req);
	}
	uv_tcp_init(k->loop, &c->tcp);
	uv_timer_init(k->loop, &c->timeout);
	c->tcp.data = c->timeout.data = c->conn.data = c;
	uv_timer_start(&c->timeout, check_timeout,
	               ck_json_get_int(w->probe, "timeoutSeconds", 1) * 1000, 0);
	int r = uv_tcp_connect(&c->conn, &c->tcp, (const struct sockaddr *)&sa, on_connect);
	if (r < 0)
		check_finish(c, false, uv_strerror(r));
}

static void run_probe(uv_timer_t *t)
{
	probe_worker *w = t->data;
	if (w->dead || w->in_flight)
		return;
	/* Liveness and readiness wait for the startup probe, if any. */
	if (w->kind != PROBE_STARTUP) {
		const cJSON *c;
		cJSON_ArrayForEach(c, ck_json_get(w->pod, "spec.containers"))
		{
			if (!strcmp(ck_json_get_str(c, "name", ""), w->container) &&
			    ck_json_get(c, "startupProbe") &&
			    probe_result_of(w->m, w->cid, PROBE_STARTUP) != 1) {
				schedule(w, ck_json_get_int(w->probe, "periodSeconds", 10) * 1000);
				return;
			}
		}
	}
	w->in_flight = true;
	w->refs++;
	const cJSON *h;
	if ((h = ck_json_get(w->probe, "exec"))) {
		_cleanup_strv_ char **cmd = NULL;
		const cJSON *a;
		cJSON_ArrayForEach(a, ck_json_get(h, "command"))
		{
			if (cJSON_IsString(a))
				ck_strv_add(&cmd, a->valuestring);
		}
		cri_exec_sync(w->m->k->cri, w->cid, (const char *const *)cmd,
		              ck_json_get_int(w->probe, "timeoutSeconds", 1), exec_done, w);
	} else if ((h = ck_json_get(w->probe, "httpGet"))) {
		net_probe(w, h, true);
	} else if ((h = ck_json_get(w->probe, "tcpSocket"))) {
		net_probe(w, h, false);
	} else {
		report(w, true, NULL);
	}
}

static void schedule(probe_worker *w, int64_t ms)
{
	if (!w->dead)
		uv_timer_start(&w->timer, run_probe, ms > 0 ? (uint64_t)ms : 0, 0);
}

void probe_update(kubelet *k, const char *key, const cJSON *pod, const kl_running *running,
                  size_t n, const char *pod_ip)
{
	probe_mgr *m = mgr(k);
	for (probe_worker *w = m->workers; w; w = w->next)
		if (!strcmp(w->key, key))
			w->seen = false;
	for (size_t i = 0; pod && i < n; i++) {
		const cJSON *spec = NULL, *c;
		cJSON_ArrayForEach(c, ck_json_get(pod, "spec.containers"))
		{
			if (!strcmp(ck_json_get_str(c, "name", ""), running[i].name))
				spec = c;
		}
		for (int kind = 0; spec && kind < 3; kind++) {
			const cJSON *p = ck_json_get(spec, kind_field[kind]);
			if (!p)
				continue;
			probe_worker *w = find_worker(m, running[i].id, (enum probe_kind)kind);
			if (w) {
				w->seen = true;
				if (pod_ip && (!w->pod_ip || strcmp(w->pod_ip, pod_ip))) {
					free(w->pod_ip);
					w->pod_ip = ck_strdup(pod_ip);
				}
				continue;
			}
			w = ck_calloc(1, sizeof(*w));
			w->m = m;
			w->key = ck_strdup(key);
			w->container = ck_strdup(running[i].name);
			w->cid = ck_strdup(running[i].id);
			w->pod_ip = ck_strdup_or_null(pod_ip);
			w->kind = (enum probe_kind)kind;
			w->probe = ck_json_dup(p);
			w->pod = ck_json_dup(pod);
			w->result = -1;
			w->seen = true;
			w->refs = 1;
			uv_timer_init(k->loop, &w->timer);
			w->timer.data = w;
			w->next = m->workers;
			m->workers = w;
			schedule(w, ck_json_get_int(p, "initialDelaySeconds", 0) * 1000);
		}
	}
	/* Workers of containers no longer running (or of a pod gone) stop. */
	for (probe_worker *w = m->workers; w;) {
		probe_worker *next = w->next;
		if (!strcmp(w->key, key) && !w->seen)
			worker_stop(w);
		w = next;
	}
}

kl_probe_result *probe_results(kubelet *k, const char *key, size_t *n)
{
	*n = 0;
	if (!k->probes)
		return NULL;
	kl_probe_result *v = NULL;
	for (probe_worker *w = k->probes->workers; w; w = w->next) {
		if (w->dead || strcmp(w->key, key))
			continue;
		kl_probe_result *r = NULL;
		for (size_t i = 0; i < *n; i++)
			if (!strcmp(v[i].cid, w->cid))
				r = &v[i];
		if (!r) {
			v = ck_realloc(v, (*n + 1) * sizeof(*v));
			r = &v[(*n)++];
			*r =
			    (kl_probe_result){.cid = ck_strdup(w->cid), .ready = -1, .started = -1};
		}
		if (w->kind == PROBE_READINESS)
			r->ready = w->result;
		else if (w->kind == PROBE_STARTUP)
			r->started = w->result;
	}
	return v;
}

void probe_results_free(kl_probe_result *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].cid);
	free(v);
}

void probe_stop_all(kubelet *k)
{
	if (!k->probes)
		return;
	while (k->probes->workers)
		worker_stop(k->probes->workers);
	free(k->probes);
	k->probes = NULL;
}
