/* etcd_harness: real etcd servers (/usr/bin/etcd, or $CKUBE_ETCD) for integration tests.
 *
 *   etcd_harness *h = NULL;
 *   ck_err *err = NULL;
 *   if (etcd_harness_start(&h, &err) < 0) fail_msg("%s", err->msg);
 *   ... etcd_client_new(loop, &(etcd_client_opts){.endpoints = etcd_harness_endpoints(h)}, ...)
 *   etcd_harness_stop(h);
 *
 * Each member listens on 127.0.0.1 only, on ports chosen free at start (retried with new
 * ports if a port was taken in between), with its data dir and log (member-N.log) in a
 * private temp dir: $CKUBE_ETCD_TMPDIR, else /dev/shm (fast fsync), else $TMPDIR, else
 * /tmp. Members run with short raft timings (heartbeat 50 ms, election 500 ms), send
 * watch progress notifications every second (to watches asking for them), die with
 * the test process (PR_SET_PDEATHSIG), and every harness still running at exit() is
 * stopped and its dir removed (dirs of test processes that were killed are swept at the
 * next start: each holds its owner's pid). Start returns once every member serves a linearizable
 * read (so a cluster has a leader), or fails after 30 s with the log's tail in err.
 *
 * Not thread-safe: drive a harness from one thread, one that lives as long as the
 * members (PR_SET_PDEATHSIG follows the thread that started them). Blocking: not for use on a loop
 * thread that must keep running (call it before uv_run or from the test body). */
#ifndef CK_TESTS_ETCD_HARNESS_H
#define CK_TESTS_ETCD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

typedef struct etcd_harness etcd_harness;

/* Starts one etcd member. Returns 0 and *out, or a negative code with err. */
int etcd_harness_start(etcd_harness **out, ck_err **err);

/* Starts a cluster of n members (1..7) on loopback. Returns 0 and *out once all serve. */
int etcd_harness_start_cluster(int n, etcd_harness **out, ck_err **err);

typedef struct etcd_harness_opts {
	int members; /* 0: 1 */
	/* Clients over TLS (https:// URLs, client certificates required): a throwaway CA
	 * and one certificate for 127.0.0.1 (server and client use), made with the openssl
	 * CLI in the temp dir. Peers stay plain. */
	bool tls;
} etcd_harness_opts;
/* Starts members as opts say (NULL: one plain member). */
int etcd_harness_start_opts(const etcd_harness_opts *opts, etcd_harness **out, ck_err **err);

/* With tls: the CA, and the certificate and key a client presents (PEM paths, owned
 * by h); NULL without tls. Pass them as etcd_client_opts ca_file/cert_file/key_file. */
const char *etcd_harness_ca_file(const etcd_harness *h);
const char *etcd_harness_cert_file(const etcd_harness *h);
const char *etcd_harness_key_file(const etcd_harness *h);

/* Kills every member (SIGKILL, reaped), removes the temp dir, frees h. Accepts NULL. */
void etcd_harness_stop(etcd_harness *h);

/* Number of members. */
int etcd_harness_size(const etcd_harness *h);

/* All client URLs, comma-separated: "http://127.0.0.1:P0,http://127.0.0.1:P1" (the
 * --etcd-servers form). Owned by h. */
const char *etcd_harness_endpoints(const etcd_harness *h);

/* Client URL of member i ("http://127.0.0.1:P"), and "127.0.0.1:P" for gRPC targets.
 * Owned by h. */
const char *etcd_harness_endpoint(const etcd_harness *h, int i);
const char *etcd_harness_target(const etcd_harness *h, int i);

/* The temp dir holding member-N/ data dirs and member-N.log files. */
const char *etcd_harness_dir(const etcd_harness *h);

/* PID of member i, or -1 when it is not running. */
pid_t etcd_harness_pid(const etcd_harness *h, int i);

/* Kills member i (SIGKILL) and reaps it. Its data stays, for etcd_harness_restart.
 * Returns 0, or -ESRCH when it was not running. */
int etcd_harness_kill(etcd_harness *h, int i);

/* Starts member i again on the same ports and data, and waits until it serves (in a
 * cluster that needs a quorum). Returns 0, or a negative code with err. */
int etcd_harness_restart(etcd_harness *h, int i, ck_err **err);

/* Index of the member that leads the cluster now (asking each running member's
 * Status), or -EAGAIN when none knows of a leader, or a negative code with err. */
int etcd_harness_leader(etcd_harness *h, ck_err **err);

/* Waits until member i serves a linearizable read, up to timeout_ms. Returns 0,
 * -ETIMEDOUT, or -ECHILD when the member exited (err then carries its log's tail). */
int etcd_harness_wait_ready(etcd_harness *h, int i, int timeout_ms, ck_err **err);

#endif
