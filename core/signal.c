/*
 * signal.c - process signals to channels and contexts.
 *
 * Mechanism: the handler (installed with sigaction, SA_RESTART, only
 * while a signal has registrations) writes the signal number as one byte
 * into a non-blocking self-pipe - write() is async-signal-safe, and a
 * full pipe drops the signal rather than block in a handler.  One
 * dispatcher thread reads the pipe and delivers under the registry lock.
 * No signal masks: the handler may run on any thread, before or after
 * the dispatcher exists, and only touches the pipe and errno.
 *
 * Registry (sg.mu guards everything in `sg` except the pipe fds, written
 * once before the first handler is installed):
 *  - entries: (signal, channel) with a channel reference, or (signal,
 *    watch) for notify-context; no two entries are equal.
 *  - count[i]: entries of supported signal i; the handler is installed
 *    exactly while count[i] > 0, and saved[i] holds what it replaced.
 *  - every entry is one scheduler wake source (chl_sched_wake_source_add,
 *    under sg.mu): while any exists a signal may still wake a task, so
 *    the deadlock detector waits.
 *
 * Lock order: sg.mu is taken with no other chanlab lock held; under it we
 * take channel locks (try_send) and context locks (chl_ctx_err).
 * Contexts are canceled after dropping sg.mu (cancel can wait for another
 * cancellation in progress).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "decide.h"
#include "sched.h"
#include "signal.h"

static const struct sig {
	int signo;
	const char *name;      /* without "SIG" */
	const char *full;      /* with it */
	const char *cause;     /* Go's NotifyContext cause */
} sigs[] = {
	{ SIGINT, "INT", "SIGINT", "interrupt signal received" },
	{ SIGTERM, "TERM", "SIGTERM", "terminated signal received" },
	{ SIGHUP, "HUP", "SIGHUP", "hangup signal received" },
	{ SIGUSR1, "USR1", "SIGUSR1", "user defined signal 1 received" },
	{ SIGUSR2, "USR2", "SIGUSR2", "user defined signal 2 received" },
};
#define NSIGS ((int)(sizeof sigs / sizeof sigs[0]))

struct chl_signal_watch {
	chl_ctx *ctx;          /* one reference; fixed */
};

typedef struct entry {
	int sig;               /* index into sigs */
	chl_chan *c;           /* a reference, or NULL for a watch entry */
	chl_signal_watch *w;   /* the watch, or NULL for a channel entry */
} entry;

static struct {
	pthread_mutex_t mu;
	entry *v;              /* mu */
	int n, cap;            /* mu */
	int count[NSIGS];      /* mu: entries per signal */
	struct sigaction saved[NSIGS];   /* mu: valid while count > 0 */
	bool started;          /* mu: pipe and dispatcher exist */
	int pipe_r, pipe_w;    /* written once, before any handler */
} sg = { .mu = PTHREAD_MUTEX_INITIALIZER, .pipe_r = -1, .pipe_w = -1 };

static int sig_index(int signo)
{
	int i;

	for (i = 0; i < NSIGS; i++)
		if (sigs[i].signo == signo)
			return i;
	return -1;
}

int chl_signal_from_name(const char *name)
{
	int i;

	if (!name)
		return CHL_NOSIG;
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; i < NSIGS; i++)
		if (strcmp(name, sigs[i].name) == 0)
			return sigs[i].signo;
	return CHL_NOSIG;
}

const char *chl_signal_name(int signo)
{
	int i = sig_index(signo);

	return i < 0 ? "unknown" : sigs[i].full;
}

/* ---- the handler and the dispatcher ---- */

static void on_signal(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;

	/* A full pipe drops the signal, as a full channel would. */
	if (write(sg.pipe_w, &b, 1) < 0) {
	}
	errno = saved;
}

/* Deliver one signal: channels first (never blocks), then cancel the
 * contexts of the watches, in batches so no allocation is needed and no
 * context is canceled under sg.mu.  A batch takes contexts not done yet,
 * and every batch cancels them, so the rescans end. */
static void dispatch(int i)
{
	enum { BATCH = 16 };
	chl_ctx *todo[BATCH];
	bool first = true;
	int n, k;

	do {
		n = 0;
		pthread_mutex_lock(&sg.mu);
		for (k = 0; k < sg.n; k++) {
			entry *e = &sg.v[k];
			if (e->sig != i)
				continue;
			if (e->c) {
				int v = sigs[i].signo;
				if (first)
					(void)chl_chan_try_send(e->c, &v);
			} else if (n < BATCH && chl_ctx_err(e->w->ctx) == 0) {
				todo[n++] = chl_ctx_retain(e->w->ctx);
			}
		}
		pthread_mutex_unlock(&sg.mu);
		first = false;
		for (k = 0; k < n; k++) {
			chl_ctx_cancel(todo[k], CHL_CANCELED, NULL, NULL, sigs[i].cause);
			chl_ctx_release(todo[k]);
		}
	} while (n == BATCH);
}

static void *dispatcher_main(void *unused)
{
	unsigned char buf[64];

	(void)unused;
	for (;;) {
		ssize_t n = read(sg.pipe_r, buf, sizeof buf), k;
		if (n < 0 && errno == EINTR)
			continue;
		chl_assert(n > 0);   /* nobody closes the write end */
		for (k = 0; k < n; k++) {
			int i = sig_index(buf[k]);
			if (i >= 0)
				dispatch(i);
		}
	}
	return NULL;
}

/* With sg.mu held: make the pipe and the dispatcher once.  CHL_NOMEM when
 * either cannot be had (then a later call tries again). */
static int ensure_started(void)
{
	int fds[2];
	pthread_t th;
	pthread_attr_t a;
	int rc;

	if (sg.started)
		return CHL_OK;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return CHL_NOMEM;
	/* Only the writer is non-blocking: the dispatcher sleeps in read. */
	if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0)
		goto fail;
	sg.pipe_r = fds[0];
	sg.pipe_w = fds[1];
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &a, dispatcher_main, NULL);
	pthread_attr_destroy(&a);
	if (rc != 0) {
		sg.pipe_r = sg.pipe_w = -1;
		goto fail;
	}
	sg.started = true;
	return CHL_OK;
fail:
	close(fds[0]);
	close(fds[1]);
	return CHL_NOMEM;
}

/* ---- the registry (all with sg.mu held) ---- */

static bool has_entry(int i, chl_chan *c, chl_signal_watch *w)
{
	int k;

	for (k = 0; k < sg.n; k++)
		if (sg.v[k].sig == i && sg.v[k].c == c && sg.v[k].w == w)
			return true;
	return false;
}

/* Room for `more` entries.  CHL_OK or CHL_NOMEM. */
static int reserve(int more)
{
	if (sg.n + more > sg.cap) {
		int cap = sg.cap ? sg.cap : 8;
		entry *v;
		while (cap < sg.n + more)
			cap *= 2;
		v = realloc(sg.v, (size_t)cap * sizeof *v);
		if (!v)
			return CHL_NOMEM;
		sg.v = v;
		sg.cap = cap;
	}
	return CHL_OK;
}

/* Add an entry (room reserved); install the handler for its first one. */
static int add_entry(int i, chl_chan *c, chl_signal_watch *w)
{
	if (sg.count[i] == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(sigs[i].signo, &sa, &sg.saved[i]) != 0)
			return CHL_INVAL;
	}
	sg.count[i]++;
	sg.v[sg.n].sig = i;
	sg.v[sg.n].c = c ? chl_chan_retain(c) : NULL;
	sg.v[sg.n].w = w;
	sg.n++;
	chl_sched_wake_source_add(1);
	return CHL_OK;
}

/* Remove entry k; restore the old disposition after the last of its
 * signal.  The channel reference is dropped too (release takes no lock). */
static void remove_entry(int k)
{
	int i = sg.v[k].sig;

	chl_chan_release(sg.v[k].c);
	sg.v[k] = sg.v[--sg.n];
	if (--sg.count[i] == 0)
		sigaction(sigs[i].signo, &sg.saved[i], NULL);
	chl_sched_wake_source_add(-1);
}

/* ---- the API ---- */

int chl_signal_notify(chl_chan *c, int signo)
{
	int i = sig_index(signo), rc;

	if (!c)
		return CHL_NIL;
	if (i < 0)
		return CHL_NOSIG;
	if (chl_chan_elem_size(c) != sizeof(int))
		return CHL_INVAL;
	pthread_mutex_lock(&sg.mu);
	rc = ensure_started();
	if (rc == CHL_OK && !has_entry(i, c, NULL)) {
		rc = reserve(1);
		if (rc == CHL_OK)
			rc = add_entry(i, c, NULL);
	}
	pthread_mutex_unlock(&sg.mu);
	return rc;
}

void chl_signal_stop(chl_chan *c)
{
	int k;

	if (!c)
		return;
	pthread_mutex_lock(&sg.mu);
	for (k = sg.n - 1; k >= 0; k--)
		if (sg.v[k].c == c)
			remove_entry(k);
	pthread_mutex_unlock(&sg.mu);
}

/* A deterministic run delivers a watched signal at once, on the raising
 * task, so that it lands at the same point of every run; the dispatcher
 * thread would deliver it whenever the OS lets it run. */
int chl_signal_raise(int signo)
{
	int i = sig_index(signo);
	bool watched;

	if (i < 0)
		return CHL_NOSIG;
	if (chl_det_on) {
		pthread_mutex_lock(&sg.mu);
		watched = sg.count[i] > 0;
		pthread_mutex_unlock(&sg.mu);
		if (watched) {
			dispatch(i);
			return CHL_OK;
		}
	}
	return kill(getpid(), signo) == 0 ? CHL_OK : CHL_INVAL;
}

int chl_signal_notify_ctx(chl_ctx *parent, const int *signos, int n,
	chl_ctx **out, chl_signal_watch **stop)
{
	chl_signal_watch *w;
	chl_ctx *ctx;
	int k, rc;

	if (!out || !stop || !signos || n < 1)
		return CHL_INVAL;
	if (!parent)
		return CHL_NIL;
	for (k = 0; k < n; k++)
		if (sig_index(signos[k]) < 0)
			return CHL_NOSIG;
	w = malloc(sizeof *w);
	if (!w)
		return CHL_NOMEM;
	rc = chl_ctx_with_cancel(parent, &ctx);
	if (rc != CHL_OK) {
		free(w);
		return rc;
	}
	w->ctx = chl_ctx_retain(ctx);

	pthread_mutex_lock(&sg.mu);
	rc = ensure_started();
	if (rc == CHL_OK)
		rc = reserve(n);
	for (k = 0; rc == CHL_OK && k < n; k++) {
		int i = sig_index(signos[k]);
		if (!has_entry(i, NULL, w))
			rc = add_entry(i, NULL, w);
	}
	if (rc != CHL_OK)
		for (k = sg.n - 1; k >= 0; k--)
			if (sg.v[k].w == w)
				remove_entry(k);
	pthread_mutex_unlock(&sg.mu);

	if (rc != CHL_OK) {
		chl_ctx_release(w->ctx);
		chl_ctx_release(ctx);
		free(w);
		return rc;
	}
	*out = ctx;
	*stop = w;
	return CHL_OK;
}

void chl_signal_watch_stop(chl_signal_watch *w)
{
	int k;

	if (!w)
		return;
	pthread_mutex_lock(&sg.mu);
	for (k = sg.n - 1; k >= 0; k--)
		if (sg.v[k].w == w)
			remove_entry(k);
	pthread_mutex_unlock(&sg.mu);
	/* After the unlock the dispatcher cannot see w; a batch it took
	 * before holds its own context reference. */
	chl_ctx_cancel(w->ctx, CHL_CANCELED, NULL, NULL, NULL);
	chl_ctx_release(w->ctx);
	free(w);
}
