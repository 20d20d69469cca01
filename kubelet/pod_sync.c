/* pod_sync: one pod's reconcile against the container runtime, on a worker thread with
 * the blocking CRI client. It reads the runtime's current view of the pod (sandboxes and
 * containers found by the pod's namespace/name labels), so it keeps no state it cannot
 * rebuild: a restarted kubelet adopts what it finds instead of creating duplicates.
 *
 * Steps: remove sandboxes of other pods with the same name (orphans, or an older pod
 * with another uid); terminate a pod being deleted (StopContainer with its grace period,
 * then StopPodSandbox and RemovePodSandbox) and ask for the final DELETE; otherwise
 * ensure a ready sandbox, then for each container: keep it running, or (re)start it
 * according to restartPolicy with upstream's back-off (immediate first restart, then 10 s
 * doubling to 5 min: CrashLoopBackOff), pulling its image per imagePullPolicy (with
 * ErrImagePull / ImagePullBackOff and its own back-off); finally read the runtime again
 * and compute the status. */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/quantity.h"
#include "base/json.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "kubelet.h"

#define BACKOFF_BASE_MS 10000
#define BACKOFF_MAX_MS  300000

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- outputs ---- */

static void add_event(pod_sync_out *out, const char *container, const char *type,
                      const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_event(pod_sync_out *out, const char *container, const char *type,
                      const char *reason, const char *fmt, ...)
{
	kl_sync_event *e = ck_calloc(1, sizeof(*e));
	e->container = ck_strdup_or_null(container);
	e->type = ck_strdup(type);
	e->reason = ck_strdup(reason);
	va_list ap;
	va_start(ap, fmt);
	e->message = ck_vasprintf(fmt, ap);
	va_end(ap);
	/* Keep the order in which things happened. */
	kl_sync_event **p = &out->events;
	while (*p)
		p = &(*p)->next;
	*p = e;
}

static void add_waiting(kl_waiting **w, const char *container, const char *reason,
                        const char *message)
{
	kl_waiting *n = ck_calloc(1, sizeof(*n));
	n->container = ck_strdup(container);
	n->reason = ck_strdup(reason);
	n->message = ck_strdup_or_null(message);
	n->next = *w;
	*w = n;
}

static void waiting_free(kl_waiting *w)
{
	while (w) {
		kl_waiting *n = w->next;
		free(w->container);
		free(w->reason);
		free(w->message);
		free(w);
		w = n;
	}
}

static void requeue_min(pod_sync_out *out, int64_t ms)
{
	if (ms < 1)
		ms = 1;
	if (ms > 0x7ffffff)
		ms = 0x7ffffff;
	if (out->requeue_ms == 0 || ms < out->requeue_ms)
		out->requeue_ms = (int)ms;
}

static void set_error(pod_sync_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(pod_sync_out *out, const char *fmt, ...)
{
	out->failed = true;
	if (out->error)
		return;
	va_list ap;
	va_start(ap, fmt);
	out->error = ck_vasprintf(fmt, ap);
	va_end(ap);
}

void pod_sync_out_clear(pod_sync_out *out)
{
	cJSON_Delete(out->status);
	while (out->events) {
		kl_sync_event *n = out->events->next;
		free(out->events->container);
		free(out->events->type);
		free(out->events->reason);
		free(out->events->message);
		free(out->events);
		out->events = n;
	}
	free(out->error);
	for (size_t i = 0; i < out->n_running; i++) {
		free(out->running[i].name);
		free(out->running[i].id);
	}
	free(out->running);
	free(out->pod_ip);
	memset(out, 0, sizeof(*out));
}

/* ---- the runtime's view ---- */

/* Sandboxes (with status detail: IPs) and containers (with exit codes and times) that
 * carry the pod's namespace/name labels. Returns 0 or a negative code. */
static int query_runtime(cri_client *cri, const char *ns, const char *name, kl_runtime_pod *rp,
                         char **msg)
{
	const char *sel[] = {KL_LABEL_POD_NAMESPACE, ns, KL_LABEL_POD_NAME, name, NULL};
	cri_result r = {0};
	cri_list_sandboxes(cri, sel, false, cri_result_on_sandboxes, &r);
	if (r.rc < 0) {
		*msg = ck_strdup(cri_result_msg(&r));
		cri_result_clear(&r);
		return -EIO;
	}
	rp->sandboxes = CK_TAKE_PTR(r.sandboxes);
	rp->n_sandboxes = r.n;
	r.n = 0;
	cri_result_clear(&r);
	for (size_t i = 0; i < rp->n_sandboxes; i++) {
		cri_sandbox_status(cri, rp->sandboxes[i].id, cri_result_on_sandbox, &r);
		if (r.rc == 0) {
			cri_sandbox_clear(&rp->sandboxes[i]);
			rp->sandboxes[i] = *r.sandbox;
			free(r.sandbox);
			r.sandbox = NULL;
		}
		cri_result_clear(&r);
	}
	cri_list_containers(cri, NULL, sel, cri_result_on_containers, &r);
	if (r.rc < 0) {
		*msg = ck_strdup(cri_result_msg(&r));
		cri_result_clear(&r);
		return -EIO;
	}
	rp->containers = CK_TAKE_PTR(r.containers);
	rp->n_containers = r.n;
	r.n = 0;
	cri_result_clear(&r);
	for (size_t i = 0; i < rp->n_containers; i++) {
		cri_container_status(cri, rp->containers[i].id, cri_result_on_container, &r);
		if (r.rc == 0) {
			/* Keep the list's sandbox id: the status does not carry it. */
			char *sid = CK_TAKE_PTR(rp->containers[i].sandbox_id);
			cri_container_clear(&rp->containers[i]);
			rp->containers[i] = *r.container;
			rp->containers[i].sandbox_id = sid;
			free(r.container);
			r.container = NULL;
		}
		cri_result_clear(&r);
	}
	return 0;
}

static const char *label(char *const *labels, const char *key)
{
	const char *v = cri_kv_get(labels, key);
	return v ? v : "";
}

/* Stops the running containers of sandboxes matching (uid == NULL: every sandbox whose
 * uid differs from keep_uid), then stops and removes those sandboxes. */
static void kill_sandboxes(const kl_config *cfg, cri_client *cri, const kl_runtime_pod *rp,
                           const char *keep_uid, int64_t grace_s, pod_sync_out *out,
                           const cJSON *pod, bool events)
{
	for (size_t i = 0; i < rp->n_containers; i++) {
		const cri_container *c = &rp->containers[i];
		const char *cuid = label(c->labels, KL_LABEL_POD_UID);
		if (keep_uid && !strcmp(cuid, keep_uid))
			continue;
		if (c->state != CRI_CONTAINER_RUNNING && c->state != CRI_CONTAINER_CREATED)
			continue;
		if (events && pod)
			add_event(out, c->name, "Normal", "Killing", "Stopping container %s",
			          c->name);
		cri_result r = {0};
		cri_stop_container(cri, c->id, grace_s, cri_result_on_done, &r);
		if (r.rc < 0 && r.rc != -ENOENT)
			set_error(out, "StopContainer %s: %s", c->id, cri_result_msg(&r));
		cri_result_clear(&r);
	}
	for (size_t i = 0; i < rp->n_sandboxes; i++) {
		const cri_sandbox *s = &rp->sandboxes[i];
		if (keep_uid && s->uid && !strcmp(s->uid, keep_uid))
			continue;
		cri_result r = {0};
		cri_stop_sandbox(cri, s->id, cri_result_on_done, &r);
		if (r.rc < 0 && r.rc != -ENOENT)
			set_error(out, "StopPodSandbox %s: %s", s->id, cri_result_msg(&r));
		cri_result_clear(&r);
		cri_remove_sandbox(cri, s->id, cri_result_on_done, &r);
		if (r.rc < 0 && r.rc != -ENOENT)
			set_error(out, "RemovePodSandbox %s: %s", s->id, cri_result_msg(&r));
		else if (!out->failed)
			volumes_remove(cfg, s->namespace, s->name, s->uid);
		cri_result_clear(&r);
	}
}

/* ---- configs from the pod ---- */

typedef struct sandbox_cfg {
	cri_sandbox_config c;
	char *log_dir, *cgroup, *hostname;
	char **labels, **annotations;
	cri_port_mapping *ports;
	char **dns_servers, **dns_searches, **dns_options;
} sandbox_cfg;

static void sandbox_cfg_clear(sandbox_cfg *s)
{
	free(s->log_dir);
	free(s->cgroup);
	free(s->hostname);
	ck_strv_free(s->labels);
	ck_strv_free(s->annotations);
	free(s->ports);
	ck_strv_free(s->dns_servers);
	ck_strv_free(s->dns_searches);
	ck_strv_free(s->dns_options);
}

static void strv_add_array(char ***v, const cJSON *arr)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		if (cJSON_IsString(e) && !ck_strv_contains(*v, e->valuestring))
			ck_strv_add(v, e->valuestring);
	}
}

/* resolv.conf of the pod per dnsPolicy (upstream's dns.go): ClusterFirst (the default)
 * points at --cluster-dns with the cluster search path, unless there is no cluster DNS or
 * the pod uses the host network (then, as Default, the runtime copies the node's);
 * ClusterFirstWithHostNet also for host-network pods; None only spec.dnsConfig. */
static void dns_build(const kl_config *cfg, const cJSON *pod, sandbox_cfg *s)
{
	const char *policy = ck_json_get_str(pod, "spec.dnsPolicy", "ClusterFirst");
	bool host_net = ck_json_get_bool(pod, "spec.hostNetwork", false);
	bool cluster = cfg->cluster_dns && cfg->cluster_dns[0] &&
	               ((!strcmp(policy, "ClusterFirst") && !host_net) ||
	                !strcmp(policy, "ClusterFirstWithHostNet"));
	const cJSON *dc = ck_json_get(pod, "spec.dnsConfig");
	if (!cluster && strcmp(policy, "None") && !dc)
		return;
	if (cluster) {
		const char *ns = ck_json_get_str(pod, "metadata.namespace", "default");
		const char *domain = cfg->cluster_domain && *cfg->cluster_domain
		                         ? cfg->cluster_domain
		                         : "cluster.local";
		for (size_t i = 0; cfg->cluster_dns[i]; i++)
			ck_strv_add(&s->dns_servers, cfg->cluster_dns[i]);
		ck_strv_push(&s->dns_searches, ck_asprintf("%s.svc.%s", ns, domain));
		ck_strv_push(&s->dns_searches, ck_asprintf("svc.%s", domain));
		ck_strv_add(&s->dns_searches, domain);
		ck_strv_add(&s->dns_options, "ndots:5");
	}
	strv_add_array(&s->dns_servers, ck_json_get(dc, "nameservers"));
	strv_add_array(&s->dns_searches, ck_json_get(dc, "searches"));
	const cJSON *o;
	cJSON_ArrayForEach(o, ck_json_get(dc, "options"))
	{
		const char *n = ck_json_get_str(o, "name", NULL);
		const char *v = ck_json_get_str(o, "value", NULL);
		if (!n)
			continue;
		char *opt = v ? ck_asprintf("%s:%s", n, v) : ck_strdup(n);
		/* A pod's option replaces the cluster default of the same name (ndots). */
		size_t nl = strcspn(opt, ":");
		for (size_t i = 0; s->dns_options && s->dns_options[i]; i++) {
			if (!strncmp(s->dns_options[i], opt, nl) &&
			    (s->dns_options[i][nl] == 0 || s->dns_options[i][nl] == ':')) {
				free(s->dns_options[i]);
				s->dns_options[i] = opt;
				opt = NULL;
				break;
			}
		}
		if (opt)
			ck_strv_push(&s->dns_options, opt);
	}
}

static void kv_from_object(char ***v, const cJSON *obj)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, obj)
	{
		if (!cJSON_IsString(e) || !e->string)
			continue;
		ck_strv_add(v, e->string);
		ck_strv_add(v, e->valuestring);
	}
}

static void sandbox_cfg_build(const kl_config *cfg, const cJSON *pod, uint32_t attempt,
                              sandbox_cfg *s)
{
	memset(s, 0, sizeof(*s));
	const char *ns = ck_json_get_str(pod, "metadata.namespace", "default");
	const char *name = ck_json_get_str(pod, "metadata.name", "");
	const char *uid = ck_json_get_str(pod, "metadata.uid", "");
	s->log_dir = ck_asprintf("%s/%s_%s_%s", cfg->pod_log_dir, ns, name, uid);
	const char *root =
	    cfg->cgroup_root && strcmp(cfg->cgroup_root, "/") ? cfg->cgroup_root : "";
	s->cgroup = ck_asprintf("%s/kubepods/pod%s", root, uid);
	s->hostname = ck_strdup(ck_json_get_str(pod, "spec.hostname", name));
	if (strlen(s->hostname) > 63)
		s->hostname[63] = 0;
	kv_from_object(&s->labels, ck_json_get(pod, "metadata.labels"));
	ck_strv_add(&s->labels, KL_LABEL_POD_NAME);
	ck_strv_add(&s->labels, name);
	ck_strv_add(&s->labels, KL_LABEL_POD_NAMESPACE);
	ck_strv_add(&s->labels, ns);
	ck_strv_add(&s->labels, KL_LABEL_POD_UID);
	ck_strv_add(&s->labels, uid);
	kv_from_object(&s->annotations, ck_json_get(pod, "metadata.annotations"));
	size_t np = 0;
	const cJSON *c, *p;
	cJSON_ArrayForEach(c, ck_json_get(pod, "spec.containers"))
	{
		cJSON_ArrayForEach(p, ck_json_get(c, "ports"))
		{
			int64_t hp = ck_json_get_int(p, "hostPort", 0);
			if (hp <= 0)
				continue;
			s->ports = ck_realloc(s->ports, (np + 1) * sizeof(*s->ports));
			const char *proto = ck_json_get_str(p, "protocol", "TCP");
			s->ports[np] = (cri_port_mapping){
			    .protocol = !strcmp(proto, "UDP")    ? 1
			                : !strcmp(proto, "SCTP") ? 2
			                                         : 0,
			    .container_port = (int32_t)ck_json_get_int(p, "containerPort", 0),
			    .host_port = (int32_t)hp,
			    .host_ip = ck_json_get_str(p, "hostIP", NULL),
			};
			np++;
		}
	}
	s->c = (cri_sandbox_config){
	    .name = name,
	    .uid = uid,
	    .namespace = ns,
	    .attempt = attempt,
	    .hostname = s->hostname,
	    .log_directory = s->log_dir,
	    .cgroup_parent = s->cgroup,
	    .host_network = ck_json_get_bool(pod, "spec.hostNetwork", false),
	    .labels = (const char *const *)s->labels,
	    .annotations = (const char *const *)s->annotations,
	    .ports = s->ports,
	    .n_ports = np,
	};
	dns_build(cfg, pod, s);
	s->c.dns_servers = (const char *const *)s->dns_servers;
	s->c.dns_searches = (const char *const *)s->dns_searches;
	s->c.dns_options = (const char *const *)s->dns_options;
}

static const char *pull_policy(const cJSON *c)
{
	const char *p = ck_json_get_str(c, "imagePullPolicy", NULL);
	if (p && *p)
		return p;
	/* Upstream's default: Always for :latest or no tag, IfNotPresent otherwise. */
	const char *image = ck_json_get_str(c, "image", "");
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	if (strchr(last, '@'))
		return "IfNotPresent";
	const char *colon = strrchr(last, ':');
	if (!colon || !strcmp(colon, ":latest"))
		return "Always";
	return "IfNotPresent";
}

static kl_pull_backoff *pull_backoff(pod_state *st, const char *image, bool create)
{
	for (kl_pull_backoff *b = st->pulls; b; b = b->next)
		if (!strcmp(b->image, image))
			return b;
	if (!create)
		return NULL;
	kl_pull_backoff *b = ck_calloc(1, sizeof(*b));
	b->image = ck_strdup(image);
	b->next = st->pulls;
	st->pulls = b;
	return b;
}

static void pull_backoff_forget(pod_state *st, const char *image)
{
	for (kl_pull_backoff **p = &st->pulls; *p; p = &(*p)->next) {
		if (!strcmp((*p)->image, image)) {
			kl_pull_backoff *b = *p;
			*p = b->next;
			free(b->image);
			free(b->message);
			free(b);
			return;
		}
	}
}

static int64_t backoff_ms(int n)
{
	int64_t d = BACKOFF_BASE_MS;
	for (int i = 1; i < n && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

/* Makes the container's image present per its pull policy. Returns true when it is;
 * otherwise sets the container's waiting reason (and a requeue). */
static bool ensure_image(const pod_sync_in *in, const cJSON *c, const sandbox_cfg *sb,
                         pod_sync_out *out, kl_waiting **w)
{
	const char *name = ck_json_get_str(c, "name", "");
	const char *image = ck_json_get_str(c, "image", "");
	const char *policy = pull_policy(c);
	cri_result r = {0};
	if (strcmp(policy, "Always")) {
		cri_image_status(in->cri, image, cri_result_on_image, &r);
		bool present = r.rc == 0 && r.image;
		cri_result_clear(&r);
		if (present) {
			add_event(out, name, "Normal", "Pulled",
			          "Container image \"%s\" already present on machine", image);
			return true;
		}
		if (!strcmp(policy, "Never")) {
			_cleanup_free_ char *m = ck_asprintf(
			    "Container image \"%s\" is not present with pull policy of Never",
			    image);
			add_waiting(w, name, "ErrImageNeverPull", m);
			add_event(out, name, "Warning", "ErrImageNeverPull", "%s", m);
			requeue_min(out, BACKOFF_MAX_MS);
			return false;
		}
	}
	int64_t now = now_ms();
	kl_pull_backoff *b = pull_backoff(in->st, image, false);
	if (b && now < b->next_ms) {
		_cleanup_free_ char *m = ck_asprintf("Back-off pulling image \"%s\"", image);
		add_waiting(w, name, "ImagePullBackOff", m);
		add_event(out, name, "Normal", "BackOff", "%s", m);
		requeue_min(out, b->next_ms - now);
		return false;
	}
	add_event(out, name, "Normal", "Pulling", "Pulling image \"%s\"", image);
	cri_pull_image(in->cri, image, &sb->c, cri_result_on_id, &r);
	int64_t took = now_ms() - now;
	if (r.rc == 0) {
		add_event(out, name, "Normal", "Pulled",
		          "Successfully pulled image \"%s\" in %lldms", image, (long long)took);
		pull_backoff_forget(in->st, image);
		cri_result_clear(&r);
		return true;
	}
	b = pull_backoff(in->st, image, true);
	b->failures++;
	b->next_ms = now_ms() + backoff_ms(b->failures);
	free(b->message);
	const char *m = cri_result_msg(&r);
	b->message = ck_strdup(m ? m : "pull failed");
	add_event(out, name, "Warning", "Failed", "Failed to pull image \"%s\": %s", image,
	          b->message);
	add_event(out, name, "Warning", "Failed", "Error: ErrImagePull");
	add_waiting(w, name, "ErrImagePull", b->message);
	requeue_min(out, b->next_ms - now_ms());
	cri_result_clear(&r);
	return false;
}

/* <root-dir>/pods/<uid>/containers/<name>/<attempt>, created empty (world-writable: the
 * container may run as any user). NULL when it cannot be made. */
static char *termination_file(const kl_config *cfg, const char *uid, const char *name,
                              uint32_t attempt)
{
	_cleanup_free_ char *dir =
	    ck_asprintf("%s/pods/%s/containers/%s", cfg->root_dir, uid, name);
	_cleanup_free_ char *p = ck_strdup(dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
	char *path = ck_asprintf("%s/%u", dir, attempt);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	fchmod(fd, 0666);
	close(fd);
	return path;
}

/* The end of a file, at most max bytes (at most max_lines lines). malloc'd or NULL. */
static char *read_tail(const char *path, size_t max, int max_lines)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0)
		return NULL;
	off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	char *buf = ck_malloc(max + 1);
	ssize_t n = pread(fd, buf, max, from);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	if (max_lines > 0) {
		char *p = buf + n;
		int lines = 0;
		if (p > buf && p[-1] == '\n')
			p--;
		while (p > buf && !(p[-1] == '\n' && ++lines == max_lines))
			p--;
		memmove(buf, p, strlen(p) + 1);
	}
	return buf;
}

/* Fills the message of exited containers: the termination message file, or with
 * terminationMessagePolicy FallbackToLogsOnError and a failure, the log's last 80 lines
 * (2 KiB), as upstream. */
static void termination_messages(const pod_sync_in *in, kl_runtime_pod *rp)
{
	const cJSON *pod = in->pod;
	const char *uid = ck_json_get_str(pod, "metadata.uid", "");
	for (size_t i = 0; i < rp->n_containers; i++) {
		cri_container *c = &rp->containers[i];
		if (c->state != CRI_CONTAINER_EXITED || (c->message && *c->message) ||
		    strcmp(label(c->labels, KL_LABEL_POD_UID), uid))
			continue;
		_cleanup_free_ char *path = ck_asprintf(
		    "%s/pods/%s/containers/%s/%u", in->cfg->root_dir, uid, c->name, c->attempt);
		char *msg = read_tail(path, 4096, 0);
		if ((!msg || !*msg) && c->exit_code != 0 && c->log_path) {
			const cJSON *spec = NULL, *x;
			cJSON_ArrayForEach(x, ck_json_get(pod, "spec.containers"))
			{
				if (!strcmp(ck_json_get_str(x, "name", ""), c->name))
					spec = x;
			}
			if (spec &&
			    !strcmp(ck_json_get_str(spec, "terminationMessagePolicy", "File"),
			            "FallbackToLogsOnError")) {
				free(msg);
				_cleanup_free_ char *raw = read_tail(c->log_path, 8192, 80);
				/* CRI log lines: keep their content only. */
				ck_buf b = {0};
				for (char *line = raw, *next; line && *line; line = next) {
					next = strchr(line, '\n');
					if (next)
						*next++ = 0;
					char *content = line;
					for (int f = 0; f < 3 && content; f++) {
						content = strchr(content, ' ');
						if (content)
							content++;
					}
					if (content) {
						ck_buf_puts(&b, content);
						ck_buf_putc(&b, '\n');
					}
				}
				msg = ck_buf_steal(&b);
				if (strlen(msg) > 2048)
					memmove(msg, msg + strlen(msg) - 2048, 2049);
			}
		}
		if (msg && *msg) {
			free(c->message);
			c->message = msg;
		} else {
			free(msg);
		}
	}
}

/* What a sync of a fresh pod made (the runtime had nothing of it before), to be the
 * runtime's view of the pod afterwards without listing: ListPodSandbox waits on the lock
 * of every sandbox, and other pods' sandboxes hold theirs while they start. */
static void made_sandbox(kl_runtime_pod *made, cri_sandbox *sb)
{
	made->sandboxes = ck_realloc(made->sandboxes, (made->n_sandboxes + 1) * sizeof(*sb));
	made->sandboxes[made->n_sandboxes++] = *sb;
	free(sb);
}

static void made_container(kl_runtime_pod *made, const char *id, const char *sid)
{
	made->containers =
	    ck_realloc(made->containers, (made->n_containers + 1) * sizeof(*made->containers));
	made->containers[made->n_containers++] =
	    (cri_container){.id = ck_strdup(id), .sandbox_id = ck_strdup(sid)};
}

/* The runtime's view after a fresh sync: its one sandbox (as PodSandboxStatus told right
 * after RunPodSandbox: nothing since changes a sandbox) and each container it created as
 * ContainerStatus tells now. Takes made; returns 0 and *rp, or -1 (list instead). */
static int made_view(cri_client *cri, kl_runtime_pod *made, kl_runtime_pod *rp)
{
	if (made->n_sandboxes != 1) {
		kl_runtime_pod_clear(made);
		return -1;
	}
	for (size_t i = 0; i < made->n_containers; i++) {
		cri_container *c = &made->containers[i];
		cri_result r = {0};
		cri_container_status(cri, c->id, cri_result_on_container, &r);
		if (r.rc < 0) {
			cri_result_clear(&r);
			kl_runtime_pod_clear(made);
			return -1;
		}
		/* The status does not carry the sandbox id. */
		char *sid = CK_TAKE_PTR(c->sandbox_id);
		cri_container_clear(c);
		*c = *r.container;
		c->sandbox_id = sid;
		free(r.container);
		r.container = NULL;
		cri_result_clear(&r);
	}
	*rp = *made;
	memset(made, 0, sizeof(*made));
	return 0;
}

/* The IP of a sandbox this sync ran: PodSandboxStatus, asked on a thread of its own
 * while the sync goes on with volumes and the image. containerd answers it late while
 * other sandboxes start (up to 18 ms on two busy cores), and nothing needs the IP before
 * the first container's environment. Every path out of the sync joins (sandbox_ip_done). */
typedef struct sandbox_ip {
	cri_client *cri;
	char *sid;
	kl_runtime_pod *made; /* gets the sandbox as PodSandboxStatus told it */
	pthread_t thread;
	bool asking; /* the thread runs and has not been joined */
	cri_result r;
	char *ip;
} sandbox_ip;

static void *sandbox_ip_ask(void *data)
{
	sandbox_ip *s = data;
	cri_sandbox_status(s->cri, s->sid, cri_result_on_sandbox, &s->r);
	return NULL;
}

static void sandbox_ip_ask_start(sandbox_ip *s, cri_client *cri, const char *sid,
                                 kl_runtime_pod *made)
{
	s->cri = cri;
	s->sid = ck_strdup(sid);
	s->made = made;
	s->asking = pthread_create(&s->thread, NULL, sandbox_ip_ask, s) == 0;
	if (!s->asking)
		sandbox_ip_ask(s);
}

/* The pod's IP, or NULL (host network, or the runtime did not tell). Waits for the answer
 * of a question in flight. */
static const char *sandbox_ip_get(sandbox_ip *s)
{
	if (s->asking) {
		pthread_join(s->thread, NULL);
		s->asking = false;
	}
	if (s->r.rc == 0 && s->r.sandbox) {
		free(s->ip);
		s->ip = ck_strdup_or_null(s->r.sandbox->ip);
		made_sandbox(s->made, CK_TAKE_PTR(s->r.sandbox));
	}
	return s->ip;
}

static void sandbox_ip_done(sandbox_ip *s)
{
	sandbox_ip_get(s);
	cri_result_clear(&s->r);
	free(s->sid);
	free(s->ip);
}

/* Creates and starts attempt `attempt` of container c in sandbox sid. */
static void start_container(const pod_sync_in *in, const cJSON *c, const char *sid,
                            const sandbox_cfg *sb, uint32_t attempt, sandbox_ip *ip,
                            const kl_volumes *vols, kl_runtime_pod *made, pod_sync_out *out,
                            kl_waiting **w)
{
	const cJSON *pod = in->pod;
	const char *name = ck_json_get_str(c, "name", "");
	_cleanup_strv_ char **envs = NULL;
	_cleanup_free_ char *env_error = NULL;
	if (kl_env_build(in, c, sandbox_ip_get(ip), &envs, &env_error) < 0) {
		add_event(out, name, "Warning", "Failed", "Error: %s", env_error);
		add_waiting(w, name, "CreateContainerConfigError", env_error);
		requeue_min(out, 5000);
		return;
	}
	/* $(VAR) references in command and args, as upstream. */
	_cleanup_strv_ char **command = NULL;
	_cleanup_strv_ char **args = NULL;
	const cJSON *e;
	cJSON_ArrayForEach(e, ck_json_get(c, "command"))
	{
		if (cJSON_IsString(e))
			ck_strv_push(&command, kl_env_expand(e->valuestring, envs));
	}
	cJSON_ArrayForEach(e, ck_json_get(c, "args"))
	{
		if (cJSON_IsString(e))
			ck_strv_push(&args, kl_env_expand(e->valuestring, envs));
	}
	_cleanup_strv_ char **labels = NULL;
	ck_strv_add(&labels, KL_LABEL_POD_NAME);
	ck_strv_add(&labels, sb->c.name);
	ck_strv_add(&labels, KL_LABEL_POD_NAMESPACE);
	ck_strv_add(&labels, sb->c.namespace);
	ck_strv_add(&labels, KL_LABEL_POD_UID);
	ck_strv_add(&labels, sb->c.uid);
	ck_strv_add(&labels, KL_LABEL_CONTAINER_NAME);
	ck_strv_add(&labels, name);
	_cleanup_strv_ char **annotations = NULL;
	ck_strv_add(&annotations, "io.kubernetes.container.restartCount");
	ck_strv_push(&annotations, ck_asprintf("%u", attempt));
	ck_strv_add(&annotations, "io.kubernetes.container.terminationMessagePath");
	ck_strv_add(&annotations,
	            ck_json_get_str(c, "terminationMessagePath", "/dev/termination-log"));
	ck_strv_add(&annotations, "io.kubernetes.pod.terminationGracePeriod");
	ck_strv_push(&annotations,
	             ck_asprintf("%lld", (long long)ck_json_get_int(
	                                     pod, "spec.terminationGracePeriodSeconds", 30)));
	_cleanup_free_ char *log_path = ck_asprintf("%s/%u.log", name, attempt);
	cri_container_config cc = {
	    .name = name,
	    .attempt = attempt,
	    .image = ck_json_get_str(c, "image", ""),
	    .command = (const char *const *)command,
	    .args = (const char *const *)args,
	    .working_dir = ck_json_get_str(c, "workingDir", NULL),
	    .envs = (const char *const *)envs,
	    .labels = (const char *const *)labels,
	    .annotations = (const char *const *)annotations,
	    .log_path = log_path,
	    .tty = ck_json_get_bool(c, "tty", false),
	    .stdin_open = ck_json_get_bool(c, "stdin", false),
	    .host_network = sb->c.host_network,
	    .run_as_user =
	        ck_json_get_int(c, "securityContext.runAsUser",
	                        ck_json_get_int(pod, "spec.securityContext.runAsUser", -1)),
	    .privileged = ck_json_get_bool(c, "securityContext.privileged", false),
	};
	/* Requests and limits as upstream maps them to cgroup v1 (cm/helpers_linux.go). */
	int64_t req_cpu = quantity_milli(ck_json_get_str(c, "resources.requests.cpu", NULL), -1);
	int64_t lim_cpu = quantity_milli(ck_json_get_str(c, "resources.limits.cpu", NULL), -1);
	int64_t lim_mem = quantity_milli(ck_json_get_str(c, "resources.limits.memory", NULL), -1);
	if (req_cpu < 0)
		req_cpu = lim_cpu;
	cc.cpu_shares = req_cpu >= 0 ? (req_cpu * 1024 / 1000 < 2 ? 2 : req_cpu * 1024 / 1000) : 2;
	if (lim_cpu > 0) {
		cc.cpu_period = 100000;
		cc.cpu_quota = lim_cpu * 100000 / 1000 < 1000 ? 1000 : lim_cpu * 100000 / 1000;
	}
	if (lim_mem > 0)
		cc.memory_limit = lim_mem / 1000;
	_cleanup_strv_ char **mount_paths = NULL;
	_cleanup_free_ cri_mount *mounts = volumes_mounts(vols, c, &cc.n_mounts, &mount_paths);
	/* The termination message file, as upstream: a per-instance file of the kubelet's
	 * mounted at terminationMessagePath (default /dev/termination-log). */
	_cleanup_free_ char *tm = termination_file(in->cfg, sb->c.uid, name, attempt);
	const char *tm_path = ck_json_get_str(c, "terminationMessagePath", "/dev/termination-log");
	if (tm && *tm_path == '/') {
		mounts = ck_realloc(mounts, (cc.n_mounts + 1) * sizeof(*mounts));
		mounts[cc.n_mounts++] = (cri_mount){.container_path = tm_path, .host_path = tm};
	}
	cc.mounts = mounts;
	cri_result r = {0};
	cri_create_container(in->cri, sid, &cc, &sb->c, cri_result_on_id, &r);
	if (r.rc < 0) {
		add_event(out, name, "Warning", "Failed", "Error: %s", cri_result_msg(&r));
		add_waiting(w, name, "CreateContainerError", cri_result_msg(&r));
		set_error(out, "CreateContainer %s: %s", name, cri_result_msg(&r));
		cri_result_clear(&r);
		return;
	}
	_cleanup_free_ char *cid = CK_TAKE_PTR(r.id);
	cri_result_clear(&r);
	made_container(made, cid, sid);
	add_event(out, name, "Normal", "Created", "Created container %s", name);
	cri_start_container(in->cri, cid, cri_result_on_done, &r);
	if (r.rc < 0) {
		add_event(out, name, "Warning", "Failed", "Error: %s", cri_result_msg(&r));
		add_waiting(w, name, "RunContainerError", cri_result_msg(&r));
		set_error(out, "StartContainer %s: %s", name, cri_result_msg(&r));
		cri_result_clear(&r);
		return;
	}
	cri_result_clear(&r);
	add_event(out, name, "Normal", "Started", "Started container %s", name);
}

/* Back-off of a failed container: the first restart at once, then 10 s doubling to
 * 5 min after its last exit. True (with the CrashLoopBackOff waiting reason, an event
 * and a requeue) while restarting must wait. */
static bool in_back_off(const cri_container *cur, const char *name, const struct sandbox_cfg *sc,
                        int64_t now, pod_sync_out *out, kl_waiting **w)
{
	if (cur->attempt == 0)
		return false;
	int64_t delay = backoff_ms((int)cur->attempt);
	int64_t due = cur->finished_at / 1000000 + delay;
	if (now >= due)
		return false;
	_cleanup_free_ char *m =
	    ck_asprintf("back-off %llds restarting failed container=%s pod=%s_%s(%s)",
	                (long long)(delay / 1000), name, sc->c.name, sc->c.namespace, sc->c.uid);
	add_waiting(w, name, "CrashLoopBackOff", m);
	add_event(out, name, "Warning", "BackOff",
	          "Back-off restarting failed container %s in pod %s_%s(%s)", name, sc->c.name,
	          sc->c.namespace, sc->c.uid);
	requeue_min(out, due - now);
	return true;
}

/* Runs the init containers one after the other. True once all completed (exit 0) in
 * this sandbox; false while one runs, waits or failed. */
static bool run_init_containers(const pod_sync_in *in, const kl_runtime_pod *rp, const char *sid,
                                bool fresh, const struct sandbox_cfg *sc, sandbox_ip *ip,
                                const kl_volumes *vols, int64_t now, kl_runtime_pod *made,
                                pod_sync_out *out, kl_waiting **w)
{
	const cJSON *pod = in->pod;
	const char *uid = sc->c.uid;
	const char *policy = ck_json_get_str(pod, "spec.restartPolicy", "Always");
	const cJSON *ic;
	cJSON_ArrayForEach(ic, ck_json_get(pod, "spec.initContainers"))
	{
		const char *name = ck_json_get_str(ic, "name", "");
		const cri_container *cur = pod_status_current(rp, uid, name, NULL);
		bool in_sandbox = cur && cur->sandbox_id && !strcmp(cur->sandbox_id, sid);
		/* A new sandbox runs them all again, as upstream does. */
		if (cur && !fresh && cur->state == CRI_CONTAINER_EXITED && cur->exit_code == 0)
			continue;
		if (cur && in_sandbox && cur->state == CRI_CONTAINER_RUNNING)
			return false;
		if (cur && in_sandbox && cur->state == CRI_CONTAINER_CREATED) {
			cri_result r = {0};
			cri_start_container(in->cri, cur->id, cri_result_on_done, &r);
			cri_result_clear(&r);
			return false;
		}
		if (cur && !fresh && cur->state == CRI_CONTAINER_EXITED) {
			if (!strcmp(policy, "Never"))
				return false; /* the pod failed */
			if (in_back_off(cur, name, sc, now, out, w))
				return false;
		}
		if (ensure_image(in, ic, sc, out, w))
			start_container(in, ic, sid, sc, cur ? cur->attempt + 1 : 0, ip, vols, made,
			                out, w);
		return false;
	}
	return true;
}

/* Whether an exited container should run again under the pod's restartPolicy. */
static bool should_restart(const char *policy, const cri_container *c)
{
	if (!strcmp(policy, "Never"))
		return false;
	if (!strcmp(policy, "OnFailure"))
		return c->exit_code != 0;
	return true;
}

/* True when every container has run and none will run again. */
static bool pod_done(const cJSON *pod, const kl_runtime_pod *rp, const char *uid)
{
	const char *policy = ck_json_get_str(pod, "spec.restartPolicy", "Always");
	const char *phase = ck_json_get_str(pod, "status.phase", "");
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
		return true;
	if (!strcmp(policy, "Always"))
		return false;
	const cJSON *c;
	if (!strcmp(policy, "Never")) {
		cJSON_ArrayForEach(c, ck_json_get(pod, "spec.initContainers"))
		{
			const cri_container *cur =
			    pod_status_current(rp, uid, ck_json_get_str(c, "name", ""), NULL);
			if (cur && cur->state == CRI_CONTAINER_EXITED && cur->exit_code != 0)
				return true;
		}
	}
	cJSON_ArrayForEach(c, ck_json_get(pod, "spec.containers"))
	{
		const cri_container *cur =
		    pod_status_current(rp, uid, ck_json_get_str(c, "name", ""), NULL);
		if (!cur || cur->state != CRI_CONTAINER_EXITED || should_restart(policy, cur))
			return false;
	}
	return true;
}

static const cri_sandbox *ready_sandbox(const kl_runtime_pod *rp, const char *uid)
{
	const cri_sandbox *best = NULL;
	for (size_t i = 0; i < rp->n_sandboxes; i++) {
		const cri_sandbox *s = &rp->sandboxes[i];
		if (s->state != CRI_SANDBOX_READY || !s->uid || strcmp(s->uid, uid))
			continue;
		if (!best || s->attempt > best->attempt)
			best = s;
	}
	return best;
}

/* Removes exited instances older than the two newest of each container name (the
 * newest gives the state, the one before the lastState) and those of dead sandboxes. */
static void gc_containers(const pod_sync_in *in, const kl_runtime_pod *rp, const char *uid)
{
	for (size_t i = 0; i < rp->n_containers; i++) {
		const cri_container *c = &rp->containers[i];
		if (c->state != CRI_CONTAINER_EXITED ||
		    strcmp(label(c->labels, KL_LABEL_POD_UID), uid))
			continue;
		const cri_container *prev = NULL;
		const cri_container *cur = pod_status_current(rp, uid, c->name, &prev);
		if (c == cur || c == prev)
			continue;
		cri_result r = {0};
		cri_remove_container(in->cri, c->id, cri_result_on_done, &r);
		cri_result_clear(&r);
	}
}

static void sync_running_pod(const pod_sync_in *in, kl_runtime_pod *rp, kl_runtime_pod *made,
                             pod_sync_out *out, kl_waiting **w)
{
	const cJSON *pod = in->pod;
	const char *uid = ck_json_get_str(pod, "metadata.uid", "");
	const char *policy = ck_json_get_str(pod, "spec.restartPolicy", "Always");
	const cri_sandbox *sb = ready_sandbox(rp, uid);

	if (pod_done(pod, rp, uid)) {
		/* Terminal: nothing runs again; release the sandbox (keep containers' logs). */
		if (sb) {
			cri_result r = {0};
			cri_stop_sandbox(in->cri, sb->id, cri_result_on_done, &r);
			if (r.rc < 0)
				set_error(out, "StopPodSandbox: %s", cri_result_msg(&r));
			cri_result_clear(&r);
		}
		return;
	}

	_cleanup_free_ char *sid = NULL;
	_cleanup_(sandbox_ip_done) sandbox_ip ip = {0};
	uint32_t attempt = 0;
	bool fresh = false;
	if (sb) {
		sid = ck_strdup(sb->id);
		attempt = sb->attempt;
		ip.ip = ck_strdup_or_null(sb->ip);
	} else {
		/* No ready sandbox: stop what is left of dead ones, then make a new one. */
		bool had = false;
		for (size_t i = 0; i < rp->n_sandboxes; i++) {
			if (rp->sandboxes[i].uid && !strcmp(rp->sandboxes[i].uid, uid)) {
				had = true;
				if (rp->sandboxes[i].attempt + 1 > attempt)
					attempt = rp->sandboxes[i].attempt + 1;
			}
		}
		for (size_t i = 0; i < rp->n_containers; i++) {
			const cri_container *c = &rp->containers[i];
			if (c->state == CRI_CONTAINER_RUNNING &&
			    !strcmp(label(c->labels, KL_LABEL_POD_UID), uid)) {
				cri_result r = {0};
				cri_stop_container(in->cri, c->id, 0, cri_result_on_done, &r);
				cri_result_clear(&r);
			}
		}
		if (had)
			add_event(out, NULL, "Normal", "SandboxChanged",
			          "Pod sandbox changed, it will be killed and re-created.");
		sandbox_cfg sc;
		sandbox_cfg_build(in->cfg, pod, attempt, &sc);
		cri_result r = {0};
		cri_run_sandbox(in->cri, &sc.c, cri_result_on_id, &r);
		sandbox_cfg_clear(&sc);
		if (r.rc < 0) {
			add_event(out, NULL, "Warning", "FailedCreatePodSandBox",
			          "Failed to create pod sandbox: %s", cri_result_msg(&r));
			set_error(out, "RunPodSandbox: %s", cri_result_msg(&r));
			cri_result_clear(&r);
			return;
		}
		sid = CK_TAKE_PTR(r.id);
		cri_result_clear(&r);
		sandbox_ip_ask_start(&ip, in->cri, sid, made);
		fresh = true;
	}

	kl_volumes vols = {0};
	_cleanup_free_ char *vol_error = NULL;
	if (volumes_setup(in, &vols, &vol_error) < 0) {
		add_event(out, NULL, "Warning", "FailedMount", "%s", vol_error);
		requeue_min(out, 3000);
		return;
	}
	sandbox_cfg sc;
	sandbox_cfg_build(in->cfg, pod, attempt, &sc);
	int64_t now = now_ms();
	bool initialized =
	    run_init_containers(in, rp, sid, fresh, &sc, &ip, &vols, now, made, out, w);
	const cJSON *c;
	const cJSON *containers = initialized ? ck_json_get(pod, "spec.containers") : NULL;
	cJSON_ArrayForEach(c, containers)
	{
		const char *name = ck_json_get_str(c, "name", "");
		const cri_container *cur = pod_status_current(rp, uid, name, NULL);
		bool in_sandbox = cur && cur->sandbox_id && !strcmp(cur->sandbox_id, sid);
		if (cur && in_sandbox && cur->state == CRI_CONTAINER_RUNNING)
			continue;
		if (cur && in_sandbox && cur->state == CRI_CONTAINER_CREATED) {
			/* Created by a kubelet that stopped before starting it. */
			cri_result r = {0};
			cri_start_container(in->cri, cur->id, cri_result_on_done, &r);
			if (r.rc == 0)
				add_event(out, name, "Normal", "Started", "Started container %s",
				          name);
			else
				set_error(out, "StartContainer %s: %s", name, cri_result_msg(&r));
			cri_result_clear(&r);
			continue;
		}
		uint32_t next_attempt = 0;
		if (cur) {
			next_attempt = cur->attempt + 1;
			if (cur->state == CRI_CONTAINER_EXITED && !fresh) {
				if (!should_restart(policy, cur))
					continue;
				if (in_back_off(cur, name, &sc, now, out, w))
					continue;
			} else if (fresh && cur->state == CRI_CONTAINER_EXITED &&
			           !should_restart(policy, cur)) {
				continue;
			}
		}
		if (!ensure_image(in, c, &sc, out, w))
			continue;
		start_container(in, c, sid, &sc, next_attempt, &ip, &vols, made, out, w);
	}
	sandbox_cfg_clear(&sc);
	volumes_clear(&vols);

	/* Dead sandboxes of this pod go once a new one runs. */
	if (fresh) {
		for (size_t i = 0; i < rp->n_sandboxes; i++) {
			const cri_sandbox *s = &rp->sandboxes[i];
			if (!s->uid || strcmp(s->uid, uid) || !strcmp(s->id, sid))
				continue;
			cri_result r = {0};
			cri_stop_sandbox(in->cri, s->id, cri_result_on_done, &r);
			cri_result_clear(&r);
			cri_remove_sandbox(in->cri, s->id, cri_result_on_done, &r);
			cri_result_clear(&r);
		}
	}
}

void pod_sync_run(const pod_sync_in *in, pod_sync_out *out)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	if (informer_split_key(in->key, &ns, &name) < 0 || !ns) {
		set_error(out, "bad key %s", in->key);
		return;
	}
	/* The CRI calls this thread logs next (at -v=4) are this pod's. */
	CK_V(4, "pod %s: sync%s", in->key, in->fresh ? " (fresh)" : "");
	kl_runtime_pod rp = {0};
	_cleanup_free_ char *msg = NULL;
	if (!in->fresh && query_runtime(in->cri, ns, name, &rp, &msg) < 0) {
		set_error(out, "runtime: %s", msg);
		return;
	}
	const cJSON *pod = in->pod;
	const char *uid = pod ? ck_json_get_str(pod, "metadata.uid", "") : NULL;

	/* Sandboxes of a pod that is gone, or of an older pod with this name. */
	kill_sandboxes(in->cfg, in->cri, &rp, uid, 2, out, NULL, false);
	if (!pod) {
		kl_runtime_pod_clear(&rp);
		return;
	}

	if (ck_json_get(pod, "metadata.deletionTimestamp") &&
	    !cJSON_IsNull(ck_json_get(pod, "metadata.deletionTimestamp"))) {
		int64_t grace =
		    ck_json_get_int(pod, "metadata.deletionGracePeriodSeconds",
		                    ck_json_get_int(pod, "spec.terminationGracePeriodSeconds", 30));
		kill_sandboxes(in->cfg, in->cri, &rp, NULL, grace, out, pod, true);
		kl_runtime_pod_clear(&rp);
		if (!out->failed) {
			volumes_remove(in->cfg, ns, name, uid);
			out->delete_pod = true;
		}
		return;
	}

	kl_waiting *w = NULL;
	kl_runtime_pod made = {0};
	sync_running_pod(in, &rp, &made, out, &w);
	kl_runtime_pod_clear(&rp);

	/* The status from what the runtime says now: of a fresh pod, what the sync made. */
	if ((in->fresh && made_view(in->cri, &made, &rp) == 0) ||
	    query_runtime(in->cri, ns, name, &rp, &msg) == 0) {
		gc_containers(in, &rp, uid);
		termination_messages(in, &rp);
		rp.probes = in->probes;
		rp.n_probes = in->n_probes;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		out->status = pod_status_compute(pod, &rp, w, in->node_ip, &now);
		for (size_t i = 0; i < rp.n_containers; i++) {
			const cri_container *c = &rp.containers[i];
			if (c->state != CRI_CONTAINER_RUNNING ||
			    strcmp(label(c->labels, KL_LABEL_POD_UID), uid))
				continue;
			out->running =
			    ck_realloc(out->running, (out->n_running + 1) * sizeof(kl_running));
			out->running[out->n_running++] =
			    (kl_running){ck_strdup(c->name), ck_strdup(c->id)};
		}
		const char *ip = ck_json_get_str(out->status, "podIP", NULL);
		out->pod_ip = ck_strdup_or_null(ip);
	} else {
		set_error(out, "runtime: %s", msg);
	}
	kl_runtime_pod_clear(&made);
	kl_runtime_pod_clear(&rp);
	waiting_free(w);
}
