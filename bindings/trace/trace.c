/*
 * trace.c - starting a trace and writing it at the end (trace.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "decide.h"
#include "runtime/report.h"
#include "trace/chrome.h"
#include "trace/html.h"
#include "trace/model.h"
#include "trace/record.h"
#include "trace/summary.h"
#include "trace/trace.h"

static chl_trace_config cfg;
static FILE *file;
static bool html;
static atomic_bool written;        /* the end came once already */
static int sig_pipe[2] = { -1, -1 };
static atomic_bool sig_taken;      /* a signal is being handled */

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && strcasecmp(s + n - k, tail) == 0;
}

/* Everything recorded, as the file and the summary. */
static void write_trace(int status, const char *why)
{
	trace_run_info info = { cfg.script, chl_det_on, chl_decide_seed(), status, why };
	trace_model *m;
	trace_rec **ev;
	size_t n;
	bool cut = false;
	int rc = 0;

	if (atomic_exchange(&written, true))
		return;
	trace_record_stop();
	flockfile(stdout);   /* goroutines still running print after us, if at all */
	ev = trace_record_collect(&n, &cut);
	m = trace_model_build(ev, n, cut, &info);
	if (!m) {
		fputs("chanlab: trace: not enough memory to write the trace\n", stderr);
		free(ev);
		return;
	}
	if (file) {
		rc = html ? trace_write_html(file, m) : trace_write_chrome(file, m);
		if (fclose(file) != 0)
			rc = -1;
		file = NULL;
		if (rc != 0)
			fprintf(stderr, "chanlab: cannot write the trace %s: %s\n", cfg.path,
			        strerror(errno));
	}
	if (cfg.summary)
		trace_write_summary(stderr, m);
	if (cfg.path && rc == 0)
		fprintf(stderr, "chanlab: trace written to %s (%zu events%s)\n", cfg.path, n,
		        cut ? ", cut short" : "");
	trace_model_free(m);   /* os.exit goes on to exit(): leave no leak behind */
	free(ev);
}

/* exit() (os.exit in the script) ends the process without a report. */
static void at_libc_exit(int status, void *arg)
{
	(void)arg;
	write_trace(status, "os.exit");
}

/* ---- Ctrl-C and SIGTERM ---- */

static void on_signal(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;

	if (atomic_exchange(&sig_taken, true)) {
		/* a second Ctrl-C while the file is written: die now */
		signal(signo, SIG_DFL);
		raise(signo);
	} else if (write(sig_pipe[1], &b, 1) < 0) {
		signal(signo, SIG_DFL);
		raise(signo);
	}
	errno = saved;
}

/* The thread that takes a signal from the handler and ends the process
 * by it, after the file is written (never returns once one came). */
static void *signal_thread(void *arg)
{
	unsigned char b;

	(void)arg;
	while (read(sig_pipe[0], &b, 1) != 1)
		if (errno != EINTR)
			return NULL;
	chl_rt_exit_signal(b);
}

static void watch_signals(void)
{
	struct sigaction sa;
	pthread_t t;
	sigset_t all, old;

	if (pipe2(sig_pipe, O_CLOEXEC) != 0)
		return;
	/* The thread takes no signal itself: handlers run elsewhere. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, signal_thread, NULL) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(t);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int chl_trace_start(const chl_trace_config *c)
{
	cfg = *c;
	if (cfg.path) {
		if (!(file = fopen(cfg.path, "w")))
			return -1;
		html = ends_with(cfg.path, ".html") || ends_with(cfg.path, ".htm");
	}
	trace_record_start(chl_det_on, cfg.max_events ? cfg.max_events : 4000000);
	chl_rt_on_exit(write_trace);
	on_exit(at_libc_exit, NULL);
	watch_signals();
	return 0;
}
