/* proc_harness: the process plumbing every harness needs — spawning a server that dies
 * with the test, a free loopback port, the tail of a log, stopping by PID. apiserver_harness
 * is built on it; etcd_harness, containerd_harness and test_kubelet.c have their own copies
 * still and can adopt it.
 *
 * Blocking, not thread-safe: call from the test body. */
#ifndef CK_TESTS_PROC_HARNESS_H
#define CK_TESTS_PROC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* Starts argv[0] (a path) with argv: stdin /dev/null, stdout and stderr appended to
 * log_path (created 0644), killed (SIGKILL) when the calling thread exits
 * (PR_SET_PDEATHSIG). Returns 0 and *pid, or a negative code with err. */
int harness_spawn(char *const argv[], const char *log_path, pid_t *pid, ck_err **err);

/* Kills *pid (SIGKILL) when it is > 0, reaps it and sets it to -1. Returns 0, or -ESRCH
 * when it was not running. */
int harness_kill(pid_t *pid);

/* True when *pid exited (it is reaped and *pid set to -1). */
bool harness_exited(pid_t *pid);

/* A loopback TCP port free now (the kernel's choice for port 0, released), or a negative
 * code with err. */
int harness_free_port(ck_err **err);

/* The last max bytes of the file at path, malloc'd ("(no log)" when it cannot be read). */
char *harness_log_tail(const char *path, size_t max);

#endif
