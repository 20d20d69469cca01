/* component: what the main of every client component (kube-scheduler,
 * kube-controller-manager, the kubelet) shares, so that each main.c only declares its own
 * flags and wires its own modules:
 *   - the shared flags --kubeconfig and (unless no_master) --master, and with a lease
 *     name upstream's leader election flags (--leader-elect, default true;
 *     --leader-elect-lease-duration 15s, -renew-deadline 10s, -retry-period 2s,
 *     -resource-name, -resource-namespace kube-system), listed before the component's
 *     own;
 *   - resolving the kubeconfig, the loop (the default loop) and the kc_client;
 *   - the run loop: start() at once, or once this process holds the lease; a lost lease
 *     ends the process with exit code 1 (as upstream: another instance takes over);
 *     SIGTERM/SIGINT stop cleanly, handing a held lease over first.
 *
 *   component *cp = NULL;
 *   if (component_new(&(component_opts){.program = "kube-scheduler", ..., .flags = FLAGS,
 *                     .lease_name = "kube-scheduler"}, argc, argv, &cp, &err) < 0) ...
 *   ... create the component's modules on component_client(cp) ...
 *   int code = component_run(cp, start, modules);
 *   ... free the modules ...
 *   component_free(cp);
 *   return code; */
#ifndef CK_API_COMPONENT_H
#define CK_API_COMPONENT_H

#include <stdbool.h>

#include <uv.h>

#include "api/client.h"
#include "api/kubeconfig.h"
#include "base/error.h"
#include "base/flags.h"

typedef struct component component;

typedef struct component_opts {
	const char *program;  /* "kube-controller-manager": flags, logs and messages */
	const char *summary;  /* first line of --help */
	const ck_flag *flags; /* the component's own flags (NULL-terminated), or NULL */
	/* Non-NULL: leader election on a Lease of this name (the default of
	 * --leader-elect-resource-name), with the --leader-elect* flags. */
	const char *lease_name;
	bool no_master; /* --kubeconfig only: upstream's kubelet has no --master */
} component_opts;

/* Parses argv (exiting as ck_flags_parse_or_exit does on --help, --version or a bad
 * flag), resolves the kubeconfig (--kubeconfig, --master, else in-cluster) and creates
 * the client on the default loop. o and its strings must outlive the component. Returns 0
 * and *out, or a negative code with err. */
int component_new(const component_opts *o, int argc, char **argv, component **out, ck_err **err);

uv_loop_t *component_loop(const component *cp);
kc_client *component_client(const component *cp);
/* The resolved configuration; owned by cp. */
const kubeconfig *component_kubeconfig(const component *cp);
/* The parsed flags (ck_flags_changed tells which ones the command line gave); owned by
 * cp. */
const ck_flags *component_flags(const component *cp);

/* What the component does once it may act: returns 0, or a negative code with err (the
 * process then ends with exit code 1). */
typedef int (*component_start_fn)(void *data, ck_err **err);

/* Runs the loop until a signal, a lost lease or a failed start: calls start(data) at once
 * or, with leader election, once leading. Returns the process's exit code: 0 after
 * SIGTERM/SIGINT, 1 after a lost lease or a failed start. Call once. */
int component_run(component *cp, component_start_fn start, void *data);

/* Frees the client, the elector and the flags' values, and runs the loop until every
 * handle closed and every request finished (free the component's own modules first).
 * Work still queued on libuv's pool holds it up until it ends: a component that may leave
 * such work behind exits without calling this (the kubelet, see kubelet/main.c). Accepts
 * NULL. */
void component_free(component *cp);

#endif
