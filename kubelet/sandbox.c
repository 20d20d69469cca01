/* sandbox: the pod's sandbox (its network namespace and pause container) as the CRI
 * makes it: the config built from the pod (pure), RunPodSandbox, the new sandbox's
 * PodSandboxStatus beside the image pull, and StopPodSandbox / RemovePodSandbox of the
 * sandboxes a pod no longer needs. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "kubelet.h"

void sandbox_cfg_clear(kl_sandbox_cfg *s)
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
	memset(s, 0, sizeof(*s));
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
static void dns_build(const kl_config *cfg, const cJSON *pod, kl_sandbox_cfg *s)
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

void sandbox_cfg_build(const kl_config *cfg, const cJSON *pod, uint32_t attempt, kl_sandbox_cfg *s)
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

/* ---- the IP of a new sandbox ----
 * PodSandboxStatus on a thread of its own while the sync goes on with volumes and the
 * image: containerd answers it late while other sandboxes start (up to 18 ms on two busy
 * cores), and nothing needs the IP before the first container's environment. Every path
 * out of the sync joins (sandbox_ip_done). */

static void *ip_ask(void *data)
{
	kl_sandbox_ip *s = data;
	cri_sandbox_status(s->cri, s->sid, cri_result_on_sandbox, &s->r);
	return NULL;
}

int sandbox_run(kl_sync *x)
{
	cri_result r = {0};
	cri_run_sandbox(x->cri, &x->sb.c, cri_result_on_id, &r);
	if (r.rc < 0) {
		kl_sync_add_event(x, NULL, "Warning", "FailedCreatePodSandBox",
		                  "Failed to create pod sandbox: %s", cri_result_msg(&r));
		kl_sync_error(x, "RunPodSandbox: %s", cri_result_msg(&r));
		int rc = r.rc;
		cri_result_clear(&r);
		return rc;
	}
	free(x->sid);
	x->sid = CK_TAKE_PTR(r.id);
	x->new_sandbox = true;
	cri_result_clear(&r);
	x->ip.cri = x->cri;
	x->ip.sid = ck_strdup(x->sid);
	x->ip.asking = pthread_create(&x->ip.thread, NULL, ip_ask, &x->ip) == 0;
	if (!x->ip.asking)
		ip_ask(&x->ip);
	return 0;
}

/* Waits for the question in flight, if any. */
static void ip_join(kl_sandbox_ip *s)
{
	if (s->asking) {
		pthread_join(s->thread, NULL);
		s->asking = false;
	}
}

const char *sandbox_ip(kl_sync *x)
{
	ip_join(&x->ip);
	if (x->ip.r.rc == 0 && x->ip.r.sandbox) {
		cri_sandbox *sb = CK_TAKE_PTR(x->ip.r.sandbox);
		free(x->pod_ip);
		x->pod_ip = ck_strdup_or_null(sb->ip);
		/* Nothing after RunPodSandbox changes a sandbox: its status as told now is
		 * the runtime's view of it at the end of the sync. */
		kl_runtime_pod *m = &x->made;
		m->sandboxes = ck_realloc(m->sandboxes, (m->n_sandboxes + 1) * sizeof(*sb));
		m->sandboxes[m->n_sandboxes++] = *sb;
		free(sb);
	}
	return x->pod_ip;
}

void sandbox_ip_done(kl_sandbox_ip *s)
{
	ip_join(s);
	cri_result_clear(&s->r);
	free(s->sid);
	memset(s, 0, sizeof(*s));
}

int sandbox_stop(kl_sync *x, const char *id)
{
	cri_result r = {0};
	cri_stop_sandbox(x->cri, id, cri_result_on_done, &r);
	int rc = r.rc == -ENOENT ? 0 : r.rc;
	if (rc < 0)
		kl_sync_error(x, "StopPodSandbox %s: %s", id, cri_result_msg(&r));
	cri_result_clear(&r);
	return rc;
}

int sandbox_remove(kl_sync *x, const char *id)
{
	int rc = sandbox_stop(x, id);
	if (rc < 0)
		return rc;
	cri_result r = {0};
	cri_remove_sandbox(x->cri, id, cri_result_on_done, &r);
	rc = r.rc == -ENOENT ? 0 : r.rc;
	if (rc < 0)
		kl_sync_error(x, "RemovePodSandbox %s: %s", id, cri_result_msg(&r));
	cri_result_clear(&r);
	return rc;
}

void sandbox_kill(kl_sync *x, const kl_runtime_pod *rp, const char *keep_uid, int64_t grace_s,
                  bool events)
{
	for (size_t i = 0; i < rp->n_containers; i++) {
		const cri_container *c = &rp->containers[i];
		if (keep_uid && !strcmp(kl_label(c->labels, KL_LABEL_POD_UID), keep_uid))
			continue;
		if (c->state == CRI_CONTAINER_RUNNING || c->state == CRI_CONTAINER_CREATED)
			lifecycle_kill(x, c, grace_s, events && x->pod);
	}
	for (size_t i = 0; i < rp->n_sandboxes; i++) {
		const cri_sandbox *s = &rp->sandboxes[i];
		if (keep_uid && s->uid && !strcmp(s->uid, keep_uid))
			continue;
		if (sandbox_remove(x, s->id) == 0 && !x->out->failed)
			volumes_remove(x->cfg, s->namespace, s->name, s->uid);
	}
}
