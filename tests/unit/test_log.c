#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"

static void test_format(void **state)
{
	setenv("TZ", "UTC", 1);
	tzset();
	/* 2026-11-22T17:33:27.627123Z */
	struct timespec t = {.tv_sec = 1795368807, .tv_nsec = 627123456};
	_cleanup_free_ char *l =
	    ck_log_format(CK_LOG_INFO, "/src/lib/base/file.c", 42, 1234, &t, "message");
	assert_string_equal(l, "I1122 17:33:27.627123    1234 file.c:42] message\n");
	_cleanup_free_ char *w = ck_log_format(CK_LOG_WARNING, "x.c", 7, 12345678, &t, "done\n");
	assert_string_equal(w, "W1122 17:33:27.627123 12345678 x.c:7] done\n");
	_cleanup_free_ char *e = ck_log_format(CK_LOG_ERROR, "a/b.c", 1, 1, &t, "");
	assert_string_equal(e, "E1122 17:33:27.627123       1 b.c:1] \n");
}

static char *read_all(int fd)
{
	static char buf[1 << 20];
	size_t n = 0;
	ssize_t r;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return buf;
}

static void test_verbosity_and_fd(void **state)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	ck_log_set_fd(p[1]);
	ck_log_set_verbosity(2);
	assert_int_equal(ck_log_verbosity(), 2);
	CK_V(2, "shown %d", 2);
	CK_V(3, "hidden %d", 3);
	CK_INFO("info");
	CK_WARN("warn");
	CK_ERROR("err %s", "x");
	ck_log_set_fd(2);
	ck_log_set_verbosity(0);
	close(p[1]);
	char *out = read_all(p[0]);
	close(p[0]);
	assert_non_null(strstr(out, "test_log.c:"));
	assert_non_null(strstr(out, "] shown 2\n"));
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "] info\n"));
	int lines = 0;
	for (char *s = out; *s; s++)
		lines += *s == '\n';
	assert_int_equal(lines, 4);
	/* Severity letters start each line. */
	assert_int_equal(out[0], 'I');
	char *w = strstr(out, "] warn");
	while (w > out && w[-1] != '\n')
		w--;
	assert_int_equal(w[0], 'W');
	char *e = strstr(out, "] err x");
	while (e > out && e[-1] != '\n')
		e--;
	assert_int_equal(e[0], 'E');
}

static int log_pipe_w;
static void *log_thread(void *arg)
{
	for (int i = 0; i < 200; i++)
		CK_INFO("thread %ld line %d %s", (long)(intptr_t)arg, i,
		        "padding-padding-padding-padding-padding-padding-padding");
	return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* Drain in a child so the pipe never fills. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		char *out = read_all(p[0]);
		int lines = 0;
		for (char *line = out; *line;) {
			char *nl = strchr(line, '\n');
			if (!nl)
				_exit(3);
			*nl = '\0';
			if (line[0] != 'I' || !strstr(line, "] thread ") ||
			    !strstr(line,
			            "padding-padding-padding-padding-padding-padding-padding"))
				_exit(4);
			lines++;
			line = nl + 1;
		}
		_exit(lines == 800 ? 0 : 5);
	}
	close(p[0]);
	log_pipe_w = p[1];
	ck_log_set_fd(log_pipe_w);
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_thread, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_log_set_fd(2);
	close(p[1]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_fatal_aborts_after_writing(void **state)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		ck_log_set_fd(p[1]);
		CK_FATAL("boom %d", 7);
		_exit(0);
	}
	close(p[1]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	char *out = read_all(p[0]);
	close(p[0]);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_int_equal(out[0], 'F');
	assert_non_null(strstr(out, "] boom 7\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_verbosity_and_fd),
	    cmocka_unit_test(test_threads_do_not_interleave),
	    cmocka_unit_test(test_fatal_aborts_after_writing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
