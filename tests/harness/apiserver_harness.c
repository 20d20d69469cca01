/* apiserver_harness: spawns the built kube-apiserver for tests (see the header). */
#include "apiserver_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/strbuf.h"

#define READY_TIMEOUT_MS  30000
#define PROBE_INTERVAL_MS 50

struct apiserver_harness {
	char **argv; /* NULL-terminated, owned */
	char *log_path;
	char *url;
	int port;
	pid_t pid;
};

/* A loopback port free now (the kernel's choice for port 0). */
static int free_port(ck_err **err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ck_err_errno(err, -errno, "socket");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return ck_err_errno(err, -errno, "bind a free port");
	return ntohs(sa.sin_port);
}

static char *log_tail(const apiserver_harness *h)
{
	_cleanup_close_ int fd = open(h->log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ck_strdup("(no log)");
	off_t end = lseek(fd, 0, SEEK_END);
	off_t start = end > 1536 ? end - 1536 : 0;
	char buf[1537];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, start);
	buf[n > 0 ? n : 0] = '\0';
	return ck_strdup(buf);
}

static int spawn(apiserver_harness *h, ck_err **err)
{
	_cleanup_close_ int logfd =
	    open(h->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return ck_err_errno(err, -errno, "open %s", h->log_path);
	_cleanup_close_ int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0)
		return ck_err_errno(err, -errno, "open /dev/null");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return ck_err_errno(err, -errno, "fork");
	if (pid == 0) {
		/* Only async-signal-safe calls here: the test process may have threads. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execv(h->argv[0], h->argv);
		_exit(127);
	}
	h->pid = pid;
	return 0;
}

/* One GET /readyz over a fresh connection: true on a 200 answer. */
static bool ready_once(int port)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return false;
	static const char req[] =
	    "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		return false;
	char buf[32] = "";
	size_t got = 0;
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 || strncmp(buf, "HTTP/1.0 200", 12) == 0;
}

static int wait_ready(apiserver_harness *h, ck_err **err)
{
	/* The apiserver has no readiness notification but /readyz: poll it. */
	for (int waited = 0; waited < READY_TIMEOUT_MS; waited += PROBE_INTERVAL_MS) {
		if (ready_once(h->port))
			return 0;
		int status;
		if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
			h->pid = -1;
			_cleanup_free_ char *tail = log_tail(h);
			return ck_err_set(err, -ECHILD, "kube-apiserver exited (log %s):\n%s",
			                  h->log_path, tail);
		}
		struct timespec ts = {0, PROBE_INTERVAL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	_cleanup_free_ char *tail = log_tail(h);
	return ck_err_set(err, -ETIMEDOUT, "kube-apiserver not ready after %d ms (log %s):\n%s",
	                  READY_TIMEOUT_MS, h->log_path, tail);
}

int apiserver_harness_start(const apiserver_harness_opts *opts, apiserver_harness **out,
                            ck_err **err)
{
	int port = free_port(err);
	if (port < 0)
		return port;
	apiserver_harness *h = ck_calloc(1, sizeof(*h));
	h->pid = -1;
	h->port = port;
	h->url = ck_asprintf("http://127.0.0.1:%d", port);
	h->log_path = ck_strdup(opts->log_path ? opts->log_path : "/dev/null");
	ck_strv_push(&h->argv, ck_asprintf("%s/kube-apiserver", CKUBE_BINARY_DIR));
	ck_strv_push(&h->argv, ck_asprintf("--etcd-servers=%s", opts->etcd_servers));
	ck_strv_add(&h->argv, "--secure-port=0");
	ck_strv_push(&h->argv, ck_asprintf("--insecure-port=%d", port));
	for (size_t i = 0; opts->args && opts->args[i]; i++)
		ck_strv_add(&h->argv, opts->args[i]);
	int rc = spawn(h, err);
	if (rc == 0)
		rc = wait_ready(h, err);
	if (rc < 0) {
		apiserver_harness_stop(h);
		return rc;
	}
	*out = h;
	return 0;
}

const char *apiserver_harness_url(const apiserver_harness *h)
{
	return h->url;
}

int apiserver_harness_port(const apiserver_harness *h)
{
	return h->port;
}

pid_t apiserver_harness_pid(const apiserver_harness *h)
{
	return h->pid;
}

int apiserver_harness_kill(apiserver_harness *h)
{
	if (h->pid <= 0)
		return -ESRCH;
	kill(h->pid, SIGKILL);
	while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
		;
	h->pid = -1;
	return 0;
}

int apiserver_harness_restart(apiserver_harness *h, ck_err **err)
{
	apiserver_harness_kill(h);
	int rc = spawn(h, err);
	return rc < 0 ? rc : wait_ready(h, err);
}

void apiserver_harness_stop(apiserver_harness *h)
{
	if (!h)
		return;
	apiserver_harness_kill(h);
	ck_strv_free(h->argv);
	free(h->log_path);
	free(h->url);
	free(h);
}
