/* kube-apiserver: flags and wiring.
 *
 * The rooms of apiserver/:
 *   server      request dispatch, content negotiation, the request context
 *   router      path and method -> kind, namespace, name, subresource, verb
 *   verb_read   get, list          verb_write   create, update, patch, binding, scale
 *   verb_delete delete, deletecollection (graceful pods, finalizers, namespaces)
 *   verb_watch  watch streams      verb_log     pods/log through the kubelet
 *   storage     etcd keys, bytes at rest, compare-and-swap updates
 *   watch_cache one etcd watch per kind: current objects, recent events, subscribers
 *   filter      namespace and selectors     table    server-side printing
 *   defaults, validate, patch, scale, status (metav1.Status), discovery, openapi
 *   pipeline    authn, authz, admission (admission_*.c: one plugin per file)
 *   alloc       cluster IPs and node ports unique across apiservers; service: their repair
 *   namespace_finalize  empties deleted namespaces until a namespace controller exists
 *   bootstrap   the namespaces and the kubernetes service every cluster has
 * What each kind is (names, defaults, validation, columns) lives in lib/api/kind*.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "base/error.h"
#include "base/flags.h"
#include "base/log.h"
#include "net/etcd.h"
#include "net/http_server.h"
#include "server.h"
#include "watch_cache.h"

typedef struct options {
	char *etcd_servers;
	char *etcd_prefix;
	char *bind_address;
	int secure_port;
	char *tls_cert_file;
	char *tls_key_file;
	char *client_ca_file;
	char *advertise_address;
	char *service_cluster_ip_range;
	int insecure_port;
	char *kubelet_cert;
	char *kubelet_key;
	char *kubelet_ca;
	char **kubelet_address_types;
	int64_t event_ttl_ms;
} options;

typedef struct startup {
	apiserver *srv;
	const options *opts;
	size_t pending; /* caches not yet watching, plus the bootstrap */
	http_server *secure, *insecure;
} startup;

/* What is wrong with the flags together, or NULL. */
static const char *options_check(const options *o)
{
	if (!o->etcd_servers || !*o->etcd_servers)
		return "--etcd-servers must be specified";
	if (o->event_ttl_ms < 0 || (o->event_ttl_ms > 0 && o->event_ttl_ms < 1000))
		return "--event-ttl must be 0 or at least 1s";
	if (o->secure_port && (!o->tls_cert_file || !o->tls_key_file))
		return "--secure-port needs --tls-cert-file and --tls-private-key-file (or "
		       "--secure-port=0 with --insecure-port)";
	if (!o->secure_port && !o->insecure_port)
		return "no port to serve: set --secure-port or --insecure-port";
	return NULL;
}

static void die(const char *what, const ck_err *err)
{
	CK_ERROR("%s: %s", what, err ? err->msg : "failed");
	exit(1);
}

static void serve(startup *st)
{
	const options *o = st->opts;
	ck_err *err = NULL;
	if (o->secure_port) {
		http_server_opts so = {.bind_address = o->bind_address,
		                       .port = o->secure_port,
		                       .tls_cert_file = o->tls_cert_file,
		                       .tls_key_file = o->tls_key_file,
		                       .client_ca_file = o->client_ca_file};
		if (http_server_new(st->srv->loop, &so, server_handle, st->srv, &st->secure, &err) <
		    0)
			die("secure port", err);
		CK_INFO("Serving securely on %s:%d", o->bind_address, http_server_port(st->secure));
	}
	if (o->insecure_port >= 0 && (o->insecure_port > 0 || !o->secure_port)) {
		http_server_opts io = {.bind_address = "127.0.0.1", .port = o->insecure_port};
		if (http_server_new(st->srv->loop, &io, server_handle, st->srv, &st->insecure,
		                    &err) < 0)
			die("insecure port", err);
		CK_INFO("Serving insecurely on 127.0.0.1:%d", http_server_port(st->insecure));
	}
}

static void step_done(startup *st)
{
	if (--st->pending)
		return;
	service_repair_start(st->srv);
	namespace_finalize_start(st->srv);
	serve(st);
}

static void cache_ready(int rc, void *data)
{
	if (rc < 0) {
		ck_err *err = NULL;
		ck_err_set(&err, rc, "%s", ck_strerror(rc));
		die("starting watch caches", err);
	}
	step_done(data);
}

static void bootstrapped(int rc, const ck_err *err, void *data)
{
	if (rc < 0)
		die("bootstrap", err);
	step_done(data);
}

int main(int argc, char **argv)
{
	options o = {.etcd_prefix = "/registry",
	             .bind_address = "0.0.0.0",
	             .secure_port = 6443,
	             .insecure_port = 0,
	             .service_cluster_ip_range = "10.0.0.0/24",
	             .event_ttl_ms = 3600 * 1000};
	const ck_flag flags[] = {
	    {"etcd-servers", 0, CK_FLAG_STRING, &o.etcd_servers,
	     "etcd endpoints (comma-separated URLs)"},
	    {"etcd-prefix", 0, CK_FLAG_STRING, &o.etcd_prefix, "prefix of every key in etcd"},
	    {"bind-address", 0, CK_FLAG_STRING, &o.bind_address, "address of the secure port"},
	    {"secure-port", 0, CK_FLAG_INT, &o.secure_port, "HTTPS port (0: off)"},
	    {"tls-cert-file", 0, CK_FLAG_STRING, &o.tls_cert_file, "serving certificate (PEM)"},
	    {"tls-private-key-file", 0, CK_FLAG_STRING, &o.tls_key_file, "serving key (PEM)"},
	    {"client-ca-file", 0, CK_FLAG_STRING, &o.client_ca_file,
	     "CA that signs client certificates"},
	    {"advertise-address", 0, CK_FLAG_STRING, &o.advertise_address,
	     "address advertised to the cluster"},
	    {"service-cluster-ip-range", 0, CK_FLAG_STRING, &o.service_cluster_ip_range,
	     "CIDR of service IPs"},
	    {"insecure-port", 0, CK_FLAG_INT, &o.insecure_port,
	     "plain HTTP port on 127.0.0.1 for development (0: off)"},
	    {"kubelet-client-certificate", 0, CK_FLAG_STRING, &o.kubelet_cert,
	     "client certificate for kubelets (PEM); kubelets are then reached over HTTPS"},
	    {"kubelet-client-key", 0, CK_FLAG_STRING, &o.kubelet_key,
	     "key of --kubelet-client-certificate (PEM)"},
	    {"kubelet-certificate-authority", 0, CK_FLAG_STRING, &o.kubelet_ca,
	     "CA that signs kubelet serving certificates (unset: not verified)"},
	    {"event-ttl", 0, CK_FLAG_DURATION, &o.event_ttl_ms,
	     "how long Events are kept after their last write (0: forever)"},
	    {"kubelet-preferred-address-types", 0, CK_FLAG_STRV, &o.kubelet_address_types,
	     "node address types to reach kubelets with, in order (default "
	     "InternalIP,ExternalIP,Hostname)"},
	    {0},
	};
	ck_flags fs = {
	    .program = "kube-apiserver",
	    .summary =
	        "The Kubernetes API server (ckube): validates and stores API objects in etcd.",
	    .flags = flags};
	ck_flags_parse_or_exit(&fs, argc, argv);
	const char *bad = options_check(&o);
	if (bad) {
		fprintf(stderr, "kube-apiserver: %s\n", bad);
		ck_flags_free(&fs);
		return 2;
	}
	uv_loop_t *loop = uv_default_loop();
	ck_err *err = NULL;
	apiserver srv = {
	    .loop = loop, .prefix = o.etcd_prefix, .event_ttl_s = o.event_ttl_ms / 1000};
	alloc_node_port_pool(&srv.node_ports);
	if (alloc_ip_pool(o.service_cluster_ip_range, &srv.svc_ips, &err) < 0) {
		fprintf(stderr, "kube-apiserver: --service-cluster-ip-range: %s\n", err->msg);
		ck_err_free(err);
		ck_flags_free(&fs);
		return 2;
	}
	if (etcd_client_new(loop, &(etcd_client_opts){.endpoints = o.etcd_servers}, &srv.etcd,
	                    &err) < 0)
		die("etcd", err);
	bool kubelet_tls = (o.kubelet_cert && *o.kubelet_cert) || (o.kubelet_ca && *o.kubelet_ca);
	httpc_opts ko = {.cert_file = o.kubelet_cert,
	                 .key_file = o.kubelet_key,
	                 .ca_file = o.kubelet_ca,
	                 .insecure_skip_verify = !o.kubelet_ca || !*o.kubelet_ca};
	if (httpc_new(loop, &ko, &srv.kubelet, &err) < 0)
		die("kubelet client", err);
	srv.kubelet_scheme = kubelet_tls ? "https" : "http";
	static char *default_types[] = {"InternalIP", "ExternalIP", "Hostname", NULL};
	srv.kubelet_address_types =
	    o.kubelet_address_types ? o.kubelet_address_types : default_types;
	size_t n;
	kind_all(&n);
	srv.caches = ck_calloc(n, sizeof(*srv.caches));
	startup st = {.srv = &srv, .opts = &o, .pending = n + 1};
	const kind_desc *const *all = kind_all(&n);
	for (size_t i = 0; i < n; i++)
		watch_cache_start(&srv, all[i], cache_ready, &st, &srv.caches[i]);
	server_bootstrap(&srv, o.advertise_address, o.secure_port, bootstrapped, &st);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}
