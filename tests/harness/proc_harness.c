/* proc_harness: process plumbing for test harnesses (see the header). */
#include "proc_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int harness_spawn(char *const argv[], const char *log_path, pid_t *pid, ck_err **err)
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
		execv(argv[0], argv);
		_exit(127);
	}
	*pid = child;
	return 0;
}

int harness_kill(pid_t *pid)
{
	if (*pid <= 0)
		return -ESRCH;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = -1;
	return 0;
}

bool harness_exited(pid_t *pid)
{
	int status;
	if (*pid <= 0 || waitpid(*pid, &status, WNOHANG) != *pid)
		return *pid <= 0;
	*pid = -1;
	return true;
}

int harness_free_port(ck_err **err)
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
