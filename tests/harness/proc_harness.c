/* proc_harness: process plumbing for test harnesses (see the header). */
#include "proc_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int harness_spawn(char *const argv[], const char *log_path, pid_t *pid, ck_err **err)
{
	return harness_spawn_setup(argv, log_path, NULL, NULL, pid, err);
}

int harness_spawn_setup(char *const argv[], const char *log_path, harness_child_fn setup,
                        void *data, pid_t *pid, ck_err **err)
{
	_cleanup_close_ int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return ck_err_errno(err, -errno, "open %s", log_path);
	_cleanup_close_ int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0)
		return ck_err_errno(err, -errno, "open /dev/null");
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0)
		return ck_err_errno(err, -errno, "fork");
	if (child == 0) {
		/* Only async-signal-safe calls here: the test process may have threads. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		int code = setup ? setup(data) : 0;
		if (code)
			_exit(code);
		execvp(argv[0], argv);
		_exit(127);
	}
	*pid = child;
	return 0;
}

int harness_run(char *const argv[], char **output, ck_err **err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return ck_err_errno(err, -errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r != 0) {
		close(pfd[0]);
		return ck_err_errno(err, -r, "spawn %s", argv[0]);
	}
	size_t cap = 4096, len = 0;
	char *buf = ck_malloc(cap);
	for (;;) {
		if (cap - len < 1024)
			buf = ck_realloc(buf, cap *= 2);
		ssize_t n = read(pfd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (output)
		*output = buf;
	else
		free(buf);
	return code;
}

int harness_kill(pid_t *pid, int sig)
{
	if (*pid <= 0)
		return -ESRCH;
	kill(*pid, sig);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = -1;
	return 0;
}

int harness_wait(pid_t *pid, int timeout_ms, int *status)
{
	if (*pid <= 0)
		return 0;
	if (timeout_ms > 0) {
		_cleanup_close_ int fd = pidfd_open(*pid, 0);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		/* Without a pidfd (an old kernel) this is a plain pause. */
		poll(&p, fd >= 0 ? 1 : 0, timeout_ms);
	}
	int st = 0;
	if (waitpid(*pid, &st, WNOHANG) != *pid)
		return -ETIMEDOUT;
	*pid = -1;
	if (status)
		*status = st;
	return 0;
}

int harness_free_ports(int *ports, size_t n, ck_err **err)
{
	_cleanup_free_ int *fds = ck_calloc(n ? n : 1, sizeof(*fds));
	size_t bound = 0;
	int r = 0;
	while (bound < n) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			r = ck_err_errno(err, -errno, "socket");
			break;
		}
		fds[bound] = fd;
		struct sockaddr_in sa = {.sin_family = AF_INET,
		                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(sa);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
			r = ck_err_errno(err, -errno, "bind a free port");
			close(fd);
			break;
		}
		ports[bound++] = ntohs(sa.sin_port);
	}
	/* Held until here, so that the ports differ from each other. */
	for (size_t i = 0; i < bound; i++)
		close(fds[i]);
	return r;
}

int harness_free_port(ck_err **err)
{
	int port;
	int r = harness_free_ports(&port, 1, err);
	return r < 0 ? r : port;
}

char *harness_log_tail(const char *path, size_t max)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ck_strdup("(no log)");
	off_t end = lseek(fd, 0, SEEK_END);
	off_t start = end > (off_t)max ? end - (off_t)max : 0;
	char *buf = ck_malloc(max + 1);
	ssize_t n = pread(fd, buf, max, start);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}
