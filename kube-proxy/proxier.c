/* proxier: informers -> wanted rules -> iptables-restore. */
#include "proxier.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "api/informer.h"
#include "api/kind.h"
#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "endpoints.h"
#include "iptables.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define SLICE_INDEX        "service"
#define FULL_SYNC_MS       (3600 * 1000)
#define N_BUCKETS          15 /* 1 ms doubling up to 16 s, as upstream's sync histogram */

struct proxier {
	kc_client *c;
	uv_loop_t *loop;
	const proxy_config *cfg;
	informer *services, *slices;
	uv_timer_t *timer;
	uint64_t due;         /* loop time the timer fires at */
	uint64_t last_sync;   /* loop time the last sync started */
	uint64_t last_full;   /* loop time of the last full sync */
	uint64_t dirty_since; /* loop time of the oldest change not yet applied; 0: none */
	bool ready, need_full;
	ck_map *prev_nat, *prev_filter; /* chain -> rules text as last written */
	char *save_cmd, *restore_cmd;   /* iptables-save, iptables-legacy-save, ... */
	/* metrics */
	uint64_t buckets[N_BUCKETS], n_syncs, restore_failures;
	double sum_seconds;
	time_t last_success;
	size_t nat_rules, filter_rules;
};

static char **slice_service_index(const cJSON *obj, void *data)
{
	(void)data;
	/* The label's key has dots, which ck_json_get would split: look it up directly. */
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ck_json_get(obj, "metadata.labels"),
	                                                  SERVICE_NAME_LABEL);
	if (!cJSON_IsString(v))
		return NULL;
	const char *svc = v->valuestring;
	char **out = NULL;
	ck_strv_push(&out,
	             ck_asprintf("%s/%s", ck_json_get_str(obj, "metadata.namespace", ""), svc));
	return out;
}

static void on_timer(uv_timer_t *t);

/* Arms the timer for the earliest sync the minimum period allows. */
static void schedule(proxier *p)
{
	uint64_t now = uv_now(p->loop);
	if (!p->dirty_since)
		p->dirty_since = now;
	if (!p->ready)
		return;
	uint64_t at = p->last_sync + (uint64_t)p->cfg->min_sync_ms;
	if (at < now)
		at = now;
	if (uv_is_active((uv_handle_t *)p->timer) && p->due <= at)
		return;
	p->due = at;
	uv_timer_start(p->timer, on_timer, at - now, 0);
}

static void on_add(const cJSON *obj, void *data)
{
	(void)obj;
	schedule(data);
}

static void on_update(const cJSON *old, const cJSON *obj, void *data)
{
	/* Status-only and resourceVersion-only changes leave the rules alone, but telling them
	 * apart costs more than a sync that writes nothing. */
	(void)old;
	(void)obj;
	schedule(data);
}

static void on_delete(const cJSON *obj, void *data)
{
	(void)obj;
	schedule(data);
}

static void on_synced(void *data)
{
	proxier *p = data;
	if (p->ready || !informer_synced(p->services) || !informer_synced(p->slices))
		return;
	p->ready = true;
	schedule(p);
}

static int key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c = strcmp(ck_json_get_str(x, "metadata.namespace", ""),
	               ck_json_get_str(y, "metadata.namespace", ""));
	return c ? c
	         : strcmp(ck_json_get_str(x, "metadata.name", ""),
	                  ck_json_get_str(y, "metadata.name", ""));
}

/* This node's IPv4 addresses inside the --nodeport-addresses CIDRs; NULL when unset. */
static char **nodeport_ips(const proxy_config *cfg)
{
	if (!cfg->nodeport_addresses)
		return NULL;
	char **ips = ck_calloc(1, sizeof(*ips));
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0)
		return ips;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		for (char **c = cfg->nodeport_addresses; *c; c++) {
			uint32_t net, mask;
			char text[INET_ADDRSTRLEN];
			if (proxy_cidr_parse(*c, &net, &mask) < 0 || (a & mask) != net)
				continue;
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, text,
			          sizeof(text));
			if (!ck_strv_contains(ips, text))
				ck_strv_add(&ips, text);
			break;
		}
	}
	freeifaddrs(ifs);
	return ips;
}

static void record(proxier *p, double seconds)
{
	p->n_syncs++;
	p->sum_seconds += seconds;
	for (int i = 0; i < N_BUCKETS; i++)
		if (seconds <= 0.001 * (double)(1u << i))
			p->buckets[i]++;
}

/* One sync; returns 0 or a negative code (then the next one is full). */
static int sync_rules(proxier *p)
{
	uint64_t t0 = uv_hrtime();
	uint64_t now = uv_now(p->loop);
	bool full = p->need_full || !p->last_full || now - p->last_full >= FULL_SYNC_MS;
	p->last_sync = now;
	p->dirty_since = 0;

	size_t n_svcs = 0, n_ports = 0;
	_cleanup_free_ const cJSON **svcs = informer_list(p->services, &n_svcs);
	if (n_svcs)
		qsort(svcs, n_svcs, sizeof(*svcs), key_cmp);
	proxy_port *ports = NULL;
	for (size_t i = 0; i < n_svcs; i++) {
		_cleanup_free_ char *key = informer_key(svcs[i]);
		size_t n_slices = 0;
		_cleanup_free_ const cJSON **slices =
		    informer_by_index(p->slices, SLICE_INDEX, key, &n_slices);
		proxy_ports_add(svcs[i], slices, n_slices, p->cfg->hostname, &ports, &n_ports);
	}
	char **np_ips = nodeport_ips(p->cfg);
	proxy_rules_opts o = {.cluster_cidr = p->cfg->cluster_cidr,
	                      .masquerade_all = p->cfg->masquerade_all,
	                      .nodeport_ips = np_ips};
	proxy_rules rules;
	proxy_rules_build(ports, n_ports, &o, &rules);
	proxy_ports_free(ports, n_ports);
	free(ports);
	ck_strv_free(np_ips);

	_cleanup_err_ ck_err *err = NULL;
	_cleanup_free_ char *save_nat = NULL, *save_filter = NULL;
	int r = 0;
	if (full) {
		char *nat_argv[] = {p->save_cmd, "-t", "nat", NULL};
		char *filter_argv[] = {p->save_cmd, "-t", "filter", NULL};
		if ((r = proxy_exec(nat_argv, NULL, 0, &save_nat, &err)) < 0 ||
		    (r = proxy_exec(filter_argv, NULL, 0, &save_filter, &err)) < 0)
			goto out;
	}
	_cleanup_buf_ ck_buf in = {0};
	size_t changed = proxy_restore_text(&rules.nat, full ? NULL : p->prev_nat, save_nat, &in);
	changed +=
	    proxy_restore_text(&rules.filter, full ? NULL : p->prev_filter, save_filter, &in);
	if (changed) {
		char *restore_argv[] = {p->restore_cmd, "-w", "5", "--noflush", NULL};
		r = proxy_exec(restore_argv, ck_buf_str(&in), in.len, NULL, &err);
		if (r < 0) {
			p->restore_failures++;
			goto out;
		}
	}
	proxy_table_remember(&rules.nat, p->prev_nat);
	proxy_table_remember(&rules.filter, p->prev_filter);
	p->nat_rules = proxy_table_rule_count(&rules.nat);
	p->filter_rules = proxy_table_rule_count(&rules.filter);
	p->last_success = time(NULL);
	p->need_full = false;
	if (full)
		p->last_full = now;
	double secs = (double)(uv_hrtime() - t0) / 1e9;
	record(p, secs);
	CK_INFO(
	    "synced %s: %zu services, %zu chains changed, %zu nat and %zu filter rules in %.1f ms",
	    full ? "all rules" : "changed rules", n_svcs, changed, p->nat_rules, p->filter_rules,
	    secs * 1e3);
out:
	if (r < 0) {
		CK_WARN("sync failed: %s", err ? err->msg : "unknown error");
		p->need_full = true;
	}
	proxy_rules_free(&rules);
	return r;
}

static void on_timer(uv_timer_t *t)
{
	proxier *p = t->data;
	int r = sync_rules(p);
	if (r < 0) {
		schedule(p);
		return;
	}
	/* The periodic resync, unless a change came in meanwhile. */
	p->due = uv_now(p->loop) + (uint64_t)p->cfg->sync_ms;
	uv_timer_start(p->timer, on_timer, (uint64_t)p->cfg->sync_ms, 0);
}

int proxier_new(kc_client *c, const proxy_config *cfg, proxier **out, ck_err **err)
{
	proxier *p = ck_calloc(1, sizeof(*p));
	p->c = c;
	p->loop = kc_client_loop(c);
	p->cfg = cfg;
	const char *b = cfg->iptables_backend;
	p->save_cmd = *b ? ck_asprintf("iptables-%s-save", b) : ck_strdup("iptables-save");
	p->restore_cmd = *b ? ck_asprintf("iptables-%s-restore", b) : ck_strdup("iptables-restore");
	p->prev_nat = ck_map_new(free);
	p->prev_filter = ck_map_new(free);
	p->timer = ck_calloc(1, sizeof(*p->timer));
	uv_timer_init(p->loop, p->timer);
	p->timer->data = p;
	informer_handlers h = {on_add, on_update, on_delete, p};
	if (informer_new(c, &(informer_opts){.resource = &KC_SERVICES}, &p->services, err) < 0 ||
	    informer_new(c, &(informer_opts){.resource = &KC_ENDPOINTSLICES}, &p->slices, err) <
	        0) {
		proxier_free(p);
		return -EINVAL;
	}
	informer_add_index(p->slices, SLICE_INDEX, slice_service_index, NULL);
	informer_add_handlers(p->services, &h);
	informer_add_handlers(p->slices, &h);
	*out = p;
	return 0;
}

int proxier_start(proxier *p)
{
	informer_on_synced(p->services, on_synced, p);
	informer_on_synced(p->slices, on_synced, p);
	informer_start(p->services);
	informer_start(p->slices);
	return 0;
}

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

void proxier_free(proxier *p)
{
	if (!p)
		return;
	informer_free(p->services);
	informer_free(p->slices);
	uv_close((uv_handle_t *)p->timer, timer_closed);
	ck_map_free(p->prev_nat);
	ck_map_free(p->prev_filter);
	free(p->save_cmd);
	free(p->restore_cmd);
	free(p);
}

bool proxier_healthy(const proxier *p, char **body)
{
	uint64_t now = uv_now(p->loop);
	bool ok = p->last_success &&
	          (!p->dirty_since || now - p->dirty_since < 2 * (uint64_t)p->cfg->sync_ms);
	struct timespec last = {.tv_sec = p->last_success}, cur;
	clock_gettime(CLOCK_REALTIME, &cur);
	_cleanup_free_ char *l = p->last_success ? ck_time_rfc3339(&last, false) : ck_strdup("");
	_cleanup_free_ char *c = ck_time_rfc3339(&cur, false);
	*body = ck_asprintf("{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\"}", l, c);
	return ok;
}

void proxier_metrics(const proxier *p, ck_buf *out)
{
	ck_buf_puts(
	    out,
	    "# HELP kubeproxy_sync_proxy_rules_duration_seconds SyncProxyRules latency in seconds\n"
	    "# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram\n");
	for (int i = 0; i < N_BUCKETS; i++)
		ck_buf_printf(
		    out, "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    0.001 * (double)(1u << i), (unsigned long long)p->buckets[i]);
	ck_buf_printf(out,
	              "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	              "kubeproxy_sync_proxy_rules_duration_seconds_sum %g\n"
	              "kubeproxy_sync_proxy_rules_duration_seconds_count %llu\n",
	              (unsigned long long)p->n_syncs, p->sum_seconds,
	              (unsigned long long)p->n_syncs);
	ck_buf_printf(out,
	              "# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds The last time "
	              "proxy rules were successfully synced\n"
	              "# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge\n"
	              "kubeproxy_sync_proxy_rules_last_timestamp_seconds %lld\n",
	              (long long)p->last_success);
	ck_buf_printf(out,
	              "# HELP kubeproxy_sync_proxy_rules_iptables_total Total number of iptables "
	              "rules owned by kube-proxy\n"
	              "# TYPE kubeproxy_sync_proxy_rules_iptables_total gauge\n"
	              "kubeproxy_sync_proxy_rules_iptables_total{table=\"filter\"} %zu\n"
	              "kubeproxy_sync_proxy_rules_iptables_total{table=\"nat\"} %zu\n",
	              p->filter_rules, p->nat_rules);
	ck_buf_printf(out,
	              "# HELP kubeproxy_sync_proxy_rules_iptables_restore_failures_total "
	              "Cumulative proxy iptables restore failures\n"
	              "# TYPE kubeproxy_sync_proxy_rules_iptables_restore_failures_total counter\n"
	              "kubeproxy_sync_proxy_rules_iptables_restore_failures_total %llu\n",
	              (unsigned long long)p->restore_failures);
}
