/*
 * test_signal.c - signals to channels and contexts (signal.h).
 *
 * Every test registers a signal before raising it: an unwatched SIGTERM
 * or SIGUSR1 would end this program.  Waits for a delivery are bounded by
 * WAIT_NS (10 s: a delivery that never comes fails instead of hanging;
 * on an idle machine it takes well under a millisecond).  Registrations
 * are counted through chl_sched_wake_sources: each one is a wake source
 * the deadlock detector must see.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chan.h"
#include "ctx.h"
#include "sched.h"
#include "signal.h"
#include "timer.h"
#include "helpers.h"

#define WAIT_NS (10 * CHL_NS_PER_SEC)

static void (*disposition(int signo))(int)
{
	struct sigaction sa;

	assert_int_equal(sigaction(signo, NULL, &sa), 0);
	return sa.sa_handler;
}

static chl_chan *int_chan(void)
{
	chl_chan *c = chl_chan_new(sizeof(int), 1);

	assert_non_null(c);
	return c;
}

static int recv_signal(chl_chan *c)
{
	int v = 0;
	bool ok = false;

	assert_int_equal(chl_chan_recv_until(c, &v, &ok, chl_now() + WAIT_NS), CHL_OK);
	assert_true(ok);
	return v;
}

static void names_and_numbers(void **state)
{
	(void)state;
	assert_int_equal(chl_signal_from_name("INT"), SIGINT);
	assert_int_equal(chl_signal_from_name("SIGINT"), SIGINT);
	assert_int_equal(chl_signal_from_name("TERM"), SIGTERM);
	assert_int_equal(chl_signal_from_name("HUP"), SIGHUP);
	assert_int_equal(chl_signal_from_name("SIGUSR1"), SIGUSR1);
	assert_int_equal(chl_signal_from_name("USR2"), SIGUSR2);
	assert_int_equal(chl_signal_from_name("KILL"), CHL_NOSIG);
	assert_int_equal(chl_signal_from_name("URG"), CHL_NOSIG);
	assert_int_equal(chl_signal_from_name("int"), CHL_NOSIG);
	assert_int_equal(chl_signal_from_name("SIG"), CHL_NOSIG);
	assert_int_equal(chl_signal_from_name(""), CHL_NOSIG);
	assert_int_equal(chl_signal_from_name(NULL), CHL_NOSIG);
	assert_string_equal(chl_signal_name(SIGINT), "SIGINT");
	assert_string_equal(chl_signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(chl_signal_name(SIGHUP), "SIGHUP");
	assert_string_equal(chl_signal_name(SIGUSR1), "SIGUSR1");
	assert_string_equal(chl_signal_name(SIGUSR2), "SIGUSR2");
	assert_string_equal(chl_signal_name(SIGKILL), "unknown");
}

static void misuse_is_reported(void **state)
{
	chl_chan *c = int_chan(), *wide = chl_chan_new(sizeof(int64_t), 1);
	chl_ctx *ctx = NULL;
	chl_signal_watch *w = NULL;
	int bad[] = { SIGUSR1, SIGKILL }, base = chl_sched_wake_sources();

	(void)state;
	assert_non_null(wide);
	assert_int_equal(chl_signal_notify(NULL, SIGUSR1), CHL_NIL);
	assert_int_equal(chl_signal_notify(c, SIGKILL), CHL_NOSIG);
	assert_int_equal(chl_signal_notify(c, SIGURG), CHL_NOSIG);
	assert_int_equal(chl_signal_notify(wide, SIGUSR1), CHL_INVAL);
	assert_int_equal(chl_signal_raise(SIGKILL), CHL_NOSIG);
	assert_int_equal(chl_signal_notify_ctx(chl_ctx_background(), bad, 0, &ctx, &w), CHL_INVAL);
	assert_int_equal(chl_signal_notify_ctx(chl_ctx_background(), bad, 2, &ctx, &w), CHL_NOSIG);
	assert_int_equal(chl_signal_notify_ctx(NULL, bad, 1, &ctx, &w), CHL_NIL);
	assert_null(ctx);
	assert_null(w);
	assert_int_equal(chl_sched_wake_sources(), base);
	chl_signal_stop(NULL);
	chl_signal_watch_stop(NULL);
	chl_chan_release(wide);
	chl_chan_release(c);
}

static void raise_reaches_notify_channel(void **state)
{
	chl_chan *c = int_chan();
	int base = chl_sched_wake_sources();

	(void)state;
	assert_int_equal(chl_signal_notify(c, SIGUSR1), CHL_OK);
	assert_int_equal(chl_signal_notify(c, SIGUSR1), CHL_OK);  /* the same one */
	assert_int_equal(chl_signal_notify(c, SIGUSR2), CHL_OK);
	assert_int_equal(chl_sched_wake_sources(), base + 2);
	assert_int_equal(chl_signal_raise(SIGUSR1), CHL_OK);
	assert_int_equal(recv_signal(c), SIGUSR1);
	assert_int_equal(chl_signal_raise(SIGUSR2), CHL_OK);
	assert_int_equal(recv_signal(c), SIGUSR2);
	chl_signal_stop(c);
	assert_int_equal(chl_sched_wake_sources(), base);
	chl_chan_release(c);
}

/* Two channels on one signal both get it. */
static void every_watcher_gets_the_signal(void **state)
{
	chl_chan *a = int_chan(), *b = int_chan();

	(void)state;
	assert_int_equal(chl_signal_notify(a, SIGHUP), CHL_OK);
	assert_int_equal(chl_signal_notify(b, SIGHUP), CHL_OK);
	assert_int_equal(chl_signal_raise(SIGHUP), CHL_OK);
	assert_int_equal(recv_signal(a), SIGHUP);
	assert_int_equal(recv_signal(b), SIGHUP);
	chl_signal_stop(a);
	chl_signal_stop(b);
	chl_chan_release(a);
	chl_chan_release(b);
}

static void notify_ctx_cause_after_term(void **state)
{
	int sigs[] = { SIGINT, SIGTERM };
	chl_ctx *ctx;
	chl_signal_watch *w;
	const char *msg = NULL;
	void *cause = (void *)1;
	bool ok = true;
	int base = chl_sched_wake_sources();

	(void)state;
	assert_int_equal(chl_signal_notify_ctx(chl_ctx_background(), sigs, 2, &ctx, &w), CHL_OK);
	assert_int_equal(chl_sched_wake_sources(), base + 2);
	assert_int_equal(chl_ctx_err(ctx), 0);
	assert_int_equal(chl_signal_raise(SIGTERM), CHL_OK);
	assert_int_equal(chl_chan_recv_until(chl_ctx_done(ctx), NULL, &ok, chl_now() + WAIT_NS), CHL_OK);
	assert_false(ok);
	assert_int_equal(chl_ctx_cause(ctx, &cause, &msg), CHL_CANCELED);
	assert_null(cause);
	assert_string_equal(msg, "terminated signal received");
	/* Still registered (later signals are still caught, as in Go). */
	assert_int_equal(chl_sched_wake_sources(), base + 2);
	chl_signal_watch_stop(w);
	assert_int_equal(chl_sched_wake_sources(), base);
	assert_int_equal(chl_ctx_cause(ctx, NULL, &msg), CHL_CANCELED);
	assert_string_equal(msg, "terminated signal received");   /* first wins */
	chl_ctx_release(ctx);
}

static void notify_ctx_cause_after_int(void **state)
{
	int sigs[] = { SIGINT };
	chl_ctx *parent, *ctx;
	chl_signal_watch *w;
	const char *msg = NULL;
	bool ok;

	(void)state;
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &parent), CHL_OK);
	assert_int_equal(chl_signal_notify_ctx(parent, sigs, 1, &ctx, &w), CHL_OK);
	assert_ptr_equal(chl_ctx_parent(ctx), parent);
	assert_int_equal(chl_signal_raise(SIGINT), CHL_OK);
	assert_int_equal(chl_chan_recv_until(chl_ctx_done(ctx), NULL, &ok, chl_now() + WAIT_NS), CHL_OK);
	assert_int_equal(chl_ctx_cause(ctx, NULL, &msg), CHL_CANCELED);
	assert_string_equal(msg, "interrupt signal received");
	assert_int_equal(chl_ctx_err(parent), 0);    /* only the child */
	chl_signal_watch_stop(w);
	chl_ctx_release(ctx);
	chl_ctx_release(parent);
}

static void watch_stop_cancels_without_cause(void **state)
{
	int sigs[] = { SIGUSR1, SIGUSR2, SIGUSR1 };
	chl_ctx *ctx;
	chl_signal_watch *w;
	const char *msg = "x";
	int base = chl_sched_wake_sources();

	(void)state;
	assert_int_equal(chl_signal_notify_ctx(chl_ctx_background(), sigs, 3, &ctx, &w), CHL_OK);
	assert_int_equal(chl_sched_wake_sources(), base + 2);   /* USR1 once */
	chl_signal_watch_stop(w);
	assert_int_equal(chl_ctx_cause(ctx, NULL, &msg), CHL_CANCELED);
	assert_null(msg);
	assert_true(chl_chan_is_closed(chl_ctx_done(ctx)));
	chl_ctx_release(ctx);
}

static void notify_ctx_of_done_parent(void **state)
{
	int sigs[] = { SIGHUP };
	chl_ctx *parent, *ctx;
	chl_signal_watch *w;
	const char *msg;

	(void)state;
	assert_int_equal(chl_ctx_with_cancel(chl_ctx_background(), &parent), CHL_OK);
	chl_ctx_cancel(parent, CHL_CANCELED, NULL, NULL, "earlier");
	assert_int_equal(chl_signal_notify_ctx(parent, sigs, 1, &ctx, &w), CHL_OK);
	assert_int_equal(chl_ctx_cause(ctx, NULL, &msg), CHL_CANCELED);
	assert_string_equal(msg, "earlier");
	/* A signal now changes nothing (and does not kill us). */
	assert_int_equal(chl_signal_raise(SIGHUP), CHL_OK);
	chl_signal_watch_stop(w);
	assert_int_equal(chl_ctx_cause(ctx, NULL, &msg), CHL_CANCELED);
	assert_string_equal(msg, "earlier");
	chl_ctx_release(ctx);
	chl_ctx_release(parent);
}

/* The handler is ours exactly while someone watches; afterwards the old
 * disposition (the default here) is back, so Ctrl-C would kill again.
 * Checked by asking sigaction, never by dying. */
static void stop_restores_disposition(void **state)
{
	int sigs[] = { SIGINT };
	void (*before)(int);
	chl_chan *c = int_chan();
	chl_ctx *ctx;
	chl_signal_watch *w;

	(void)state;
	/* A shell without job control starts background jobs with SIGINT
	 * ignored; start from the default, as an interactive run would. */
	signal(SIGINT, SIG_DFL);
	before = disposition(SIGINT);
	assert_true(before == SIG_DFL);
	assert_int_equal(chl_signal_notify(c, SIGINT), CHL_OK);
	assert_true(disposition(SIGINT) != SIG_DFL);
	assert_int_equal(chl_signal_notify_ctx(chl_ctx_background(), sigs, 1, &ctx, &w), CHL_OK);
	chl_signal_stop(c);
	assert_true(disposition(SIGINT) != SIG_DFL);   /* the watch still needs it */
	chl_signal_watch_stop(w);
	assert_true(disposition(SIGINT) == before);
	assert_true(disposition(SIGUSR1) == SIG_DFL);
	assert_true(disposition(SIGTERM) == SIG_DFL);
	chl_ctx_release(ctx);
	chl_chan_release(c);
}

/* A full channel drops the signal: delivery never blocks. */
static void full_channel_drops_signal(void **state)
{
	chl_chan *full = int_chan(), *probe = int_chan();
	int one = 1, v;
	bool ok;

	(void)state;
	assert_int_equal(chl_chan_try_send(full, &one), CHL_OK);
	assert_int_equal(chl_signal_notify(full, SIGUSR2), CHL_OK);
	assert_int_equal(chl_signal_notify(probe, SIGUSR2), CHL_OK);
	assert_int_equal(chl_signal_raise(SIGUSR2), CHL_OK);
	/* probe got it, so the dispatcher is past `full` too. */
	assert_int_equal(recv_signal(probe), SIGUSR2);
	assert_int_equal(chl_chan_len(full), 1);
	assert_int_equal(chl_chan_try_recv(full, &v, &ok), CHL_OK);
	assert_int_equal(v, 1);
	chl_signal_stop(full);
	chl_signal_stop(probe);
	chl_chan_release(full);
	chl_chan_release(probe);
}

/* Registrations come and go on several threads while signals arrive. */
static atomic_int churn_go;

static void *churn(void *arg)
{
	chl_chan *c = chl_chan_new(sizeof(int), 1);
	int i;

	(void)arg;
	if (!c)
		return (void *)1;
	while (!atomic_load(&churn_go))
		sched_yield();
	for (i = 0; i < 300; i++) {
		if (chl_signal_notify(c, SIGUSR2) != CHL_OK)
			return (void *)1;
		sched_yield();
		chl_signal_stop(c);
	}
	chl_chan_release(c);
	return NULL;
}

static void churn_while_signals_arrive(void **state)
{
	chl_chan *keep = int_chan();
	pthread_t th[3];
	int i, base = chl_sched_wake_sources();

	(void)state;
	/* `keep` holds the handler in place all along: a USR2 must never
	 * meet the default disposition (which would end the test). */
	assert_int_equal(chl_signal_notify(keep, SIGUSR2), CHL_OK);
	atomic_store(&churn_go, 0);
	for (i = 0; i < 3; i++)
		th[i] = spawn(churn, NULL);
	atomic_store(&churn_go, 1);
	for (i = 0; i < 50; i++) {
		assert_int_equal(chl_signal_raise(SIGUSR2), CHL_OK);
		sched_yield();
	}
	for (i = 0; i < 3; i++)
		assert_null(join(th[i]));
	/* One more signal after the storm still arrives. */
	{
		int v;
		bool ok;
		while (chl_chan_try_recv(keep, &v, &ok) == CHL_OK)
			;
	}
	assert_int_equal(chl_signal_raise(SIGUSR2), CHL_OK);
	assert_int_equal(recv_signal(keep), SIGUSR2);
	assert_int_equal(chl_sched_wake_sources(), base + 1);
	chl_signal_stop(keep);
	assert_true(disposition(SIGUSR2) == SIG_DFL);
	chl_chan_release(keep);
}

/* foreach_ctx lists a notify-context while it is registered. */
static void count_ctx(chl_ctx *ctx, void *arg)
{
	chl_ctx **seen = arg;

	*seen = ctx;
}

static void foreach_ctx_lists_watches(void **state)
{
	int sigs[1] = { SIGUSR2 };
	chl_ctx *ctx, *seen = NULL;
	chl_signal_watch *w;

	(void)state;
	assert_int_equal(chl_signal_notify_ctx(chl_ctx_background(), sigs, 1, &ctx, &w), CHL_OK);
	chl_signal_foreach_ctx(count_ctx, &seen);
	assert_ptr_equal(seen, ctx);
	chl_ctx_release(seen);
	chl_signal_watch_stop(w);
	seen = NULL;
	chl_signal_foreach_ctx(count_ctx, &seen);
	assert_null(seen);
	chl_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_numbers),
		cmocka_unit_test(misuse_is_reported),
		cmocka_unit_test(raise_reaches_notify_channel),
		cmocka_unit_test(every_watcher_gets_the_signal),
		cmocka_unit_test(notify_ctx_cause_after_term),
		cmocka_unit_test(notify_ctx_cause_after_int),
		cmocka_unit_test(watch_stop_cancels_without_cause),
		cmocka_unit_test(notify_ctx_of_done_parent),
		cmocka_unit_test(stop_restores_disposition),
		cmocka_unit_test(full_channel_drops_signal),
		cmocka_unit_test(churn_while_signals_arrive),
		cmocka_unit_test(foreach_ctx_lists_watches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
