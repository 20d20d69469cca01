/* proc_harness: the process plumbing every harness needs — spawning a server that dies
 * with the test, running a tool to completion, free loopback ports, waiting for a process
 * and stopping it by PID, the tail of a log. apiserver_harness, etcd_harness,
 * containerd_harness and the C integration tests spawn through it.
 *
 * Blocking, not thread-safe: call from the test body. */
#ifndef CK_TESTS_PROC_HARNESS_H
#define CK_TESTS_PROC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* Runs in the child of harness_spawn_setup between fork and exec, after the output
 * redirection: only async-signal-safe calls (the test process may have threads). Returns
 * 0, or the exit code the child then ends with. */
typedef int (*harness_child_fn)(void *data);

/* Starts argv[0] (a path, or a name looked up in PATH) with argv: stdin /dev/null, stdout
 * and stderr appended to log_path (created 0644), killed (SIGKILL) when the calling thread
 * exits (PR_SET_PDEATHSIG). Returns 0 and *pid, or a negative code with err. */
int harness_spawn(char *const argv[], const char *log_path, pid_t *pid, ck_err **err);
/* As harness_spawn, with setup(data) run in the child just before exec (to enter
 * namespaces of its own, say). */
int harness_spawn_setup(char *const argv[], const char *log_path, harness_child_fn setup,
                        void *data, pid_t *pid, ck_err **err);

/* Runs argv (argv[0] a path or a name looked up in PATH) to completion, stdin /dev/null,
 * with its output captured. Returns its exit status (>= 0; 128 + the signal's number when
 * a signal ended it) or a negative code with err; *output (may be NULL) gets stdout and
 * stderr, malloc'd. */
int harness_run(char *const argv[], char **output, ck_err **err);

/* Sends sig to *pid when it is > 0, waits for it to exit, reaps it and sets *pid to -1.
 * Returns 0, or -ESRCH when it was not running. */
int harness_kill(pid_t *pid, int sig);

/* Waits up to timeout_ms (0: not at all) for *pid to exit, woken by the exit itself.
 * Returns 0 once it exited (reaped; *pid set to -1; *status, when status is not NULL, gets
 * the waitpid status) or when it was not running (*pid <= 0), -ETIMEDOUT while it runs. */
int harness_wait(pid_t *pid, int timeout_ms, int *status);

/* n distinct loopback TCP ports free now (the kernel's choices for port 0, all held until
 * every one is known, then released). Returns 0, or a negative code with err. */
int harness_free_ports(int *ports, size_t n, ck_err **err);
/* One such port, or a negative code with err. */
int harness_free_port(ck_err **err);

/* The last max bytes of the file at path, malloc'd ("(no log)" when it cannot be read). */
char *harness_log_tail(const char *path, size_t max);

#endif
