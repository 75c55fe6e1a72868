/*
 * sigquit.c - Go's SIGQUIT (sigquit.h).
 *
 * The handler only writes a byte into a pipe (async-signal-safe); a
 * thread of our own reads it and does the dump, which needs locks,
 * memory and a stopped world - none of which a handler may touch.  The
 * thread is no goroutine and wakes none, so it does not count for
 * deadlock detection.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "runtime/report.h"
#include "runtime/sigquit.h"

static int quit_pipe[2] = { -1, -1 };

static void on_sigquit(int sig)
{
	int saved = errno;
	char b = 'q';

	(void)sig;
	if (write(quit_pipe[1], &b, 1) < 0) {
		/* full: a dump is coming anyway */
	}
	errno = saved;
}

static void *quit_main(void *arg)
{
	chl_rt *rt = arg;
	char b;

	for (;;) {
		ssize_t n = read(quit_pipe[0], &b, 1);

		if (n == 1)
			chl_report_quit(chl_rt_sched(rt));
		if (n == 0 || errno != EINTR)
			return NULL;
	}
}

int chl_sigquit_install(chl_rt *rt)
{
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	if (pipe(quit_pipe) != 0)
		return CHL_NOMEM;
	fcntl(quit_pipe[1], F_SETFL, O_NONBLOCK);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, quit_main, rt);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		close(quit_pipe[0]);
		close(quit_pipe[1]);
		quit_pipe[0] = quit_pipe[1] = -1;
		return CHL_NOMEM;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigquit;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGQUIT, &sa, NULL);
	return CHL_OK;
}
