/* apiserver_harness: the built kube-apiserver on a real etcd, for C integration tests.
 *
 *   etcd_harness *etcd = NULL;
 *   apiserver_harness *api = NULL;
 *   ck_err *err = NULL;
 *   if (etcd_harness_start(&etcd, &err) < 0 ||
 *       apiserver_harness_start(&(apiserver_harness_opts){
 *           .etcd_servers = etcd_harness_endpoints(etcd),
 *           .log_path = "/tmp/x/apiserver.log"}, &api, &err) < 0)
 *           fail_msg("%s", err->msg);
 *   ... kc_client_new(loop, &(kubeconfig){.server = (char *)apiserver_harness_url(api)}, ...)
 *   apiserver_harness_stop(api);
 *   etcd_harness_stop(etcd);
 *
 * Spawns $CKUBE_BINARY_DIR/kube-apiserver with --secure-port=0 and --insecure-port on a
 * free loopback port (plain HTTP, no authentication), stdout and stderr appended to the
 * log. The process dies with the test process (PR_SET_PDEATHSIG) and is stopped by its
 * PID. Start and restart return once GET /readyz answers 200 (the caches are primed), or
 * fail after 30 s (or when the process exits) with the log's tail in err.
 *
 * Blocking, not thread-safe: call it from the test body, not from a loop callback. */
#ifndef CK_TESTS_APISERVER_HARNESS_H
#define CK_TESTS_APISERVER_HARNESS_H

#include <sys/types.h>

#include "base/error.h"

typedef struct apiserver_harness apiserver_harness;

typedef struct apiserver_harness_opts {
	const char *etcd_servers; /* --etcd-servers: etcd_harness_endpoints() */
	const char *log_path;     /* where the output goes (appended); NULL: /dev/null */
	const char *const *args;  /* more flags, NULL-terminated; NULL: none */
} apiserver_harness_opts;

/* Starts kube-apiserver and waits until it is ready. opts' strings are copied. Returns 0
 * and *out, or a negative code with err. */
int apiserver_harness_start(const apiserver_harness_opts *opts, apiserver_harness **out,
                            ck_err **err);

/* "http://127.0.0.1:<port>" (owned by h) and the port. */
const char *apiserver_harness_url(const apiserver_harness *h);
int apiserver_harness_port(const apiserver_harness *h);
/* PID of the process, or -1 when it is not running. */
pid_t apiserver_harness_pid(const apiserver_harness *h);

/* Kills the process (SIGKILL) and reaps it; h stays, for apiserver_harness_restart.
 * Returns 0, or -ESRCH when it was not running. */
int apiserver_harness_kill(apiserver_harness *h);
/* Starts it again on the same port and waits until it is ready. Returns 0, or a negative
 * code with err. */
int apiserver_harness_restart(apiserver_harness *h, ck_err **err);

/* Kills and reaps the process and frees h. Accepts NULL. */
void apiserver_harness_stop(apiserver_harness *h);

#endif
