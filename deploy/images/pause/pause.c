/* pause: the pod sandbox's first process. Sleeps until SIGTERM or SIGINT and
 * reaps every child that is re-parented to it. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(int argc, char **argv)
{
	struct sigaction stop = {.sa_handler = on_stop};
	struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};

	if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v') {
		static const char msg[] = "pause.c (ckube)\n";
		return write(1, msg, sizeof(msg) - 1) < 0;
	}
	if (getpid() != 1)
		(void)write(2, "pause: warning: not PID 1\n", 26);
	if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 ||
	    sigaction(SIGCHLD, &child, NULL) < 0)
		return 1;
	for (;;)
		pause();
}
