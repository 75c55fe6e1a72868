/*
 * timechan.c - time channels and sleep on top of the timer heap.
 *
 * A fire runs on the timer thread: it try-sends chl_now() into a cap-1
 * channel and never blocks (a full channel drops the value).  The timer
 * record keeps a channel reference for as long as a fire can happen, so
 * a receiver that already let go of the channel costs nothing but memory
 * until the fire.
 *
 * chl_after's record is owned by its timer: the callback stops the timer
 * (the documented way to let the timer thread forget a record that is
 * about to be freed), drops the channel reference and frees the record.
 *
 * A chl_timechan is owned by its references; the last release stops the
 * timer first, which waits for a running fire, so the callback never
 * sees a freed record.
 */
#include <stdlib.h>

#include "check.h"
#include "refcount.h"
#include "timechan.h"
#include "waiter.h"

/* ---- after ---- */

typedef struct after {
	chl_timer t;      /* fires once; the callback frees the record */
	chl_chan *c;      /* the timer's own reference */
} after;

static void send_now(chl_chan *c)
{
	int64_t now = chl_now();

	/* A full channel (or one nobody reads any more) drops the fire. */
	(void)chl_chan_try_send(c, &now);
}

static void after_fire(chl_timer *t, void *arg)
{
	after *a = arg;

	send_now(a->c);
	chl_timer_stop(t);    /* from its own callback: detach before free */
	chl_chan_release(a->c);
	free(a);
}

chl_chan *chl_after(int64_t d_ns)
{
	after *a = malloc(sizeof *a);
	chl_chan *c;

	if (!a)
		return NULL;
	c = chl_chan_new(sizeof(int64_t), 1);
	if (!c) {
		free(a);
		return NULL;
	}
	a->c = chl_chan_retain(c);
	chl_timer_init(&a->t, after_fire, a);
	if (chl_timer_start(&a->t, chl_now() + (d_ns > 0 ? d_ns : 0), 0) != CHL_OK) {
		chl_chan_release(c);
		chl_chan_release(c);
		free(a);
		return NULL;
	}
	return c;
}

/* ---- timers and tickers ---- */

struct chl_timechan {
	chl_timer t;          /* the heap entry; when/period under the heap lock */
	chl_chan *c;          /* cap 1, int64_t; fixed for t's life */
	chl_refcount refs;    /* references; the last one frees */
	bool ticker;          /* fixed at creation */
};

static void timechan_fire(chl_timer *t, void *arg)
{
	chl_timechan *tc = arg;

	(void)t;
	send_now(tc->c);
}

chl_timechan *chl_timechan_new(int64_t d_ns, int64_t period_ns)
{
	chl_timechan *tc = malloc(sizeof *tc);

	if (!tc)
		return NULL;
	tc->c = chl_chan_new(sizeof(int64_t), 1);
	if (!tc->c) {
		free(tc);
		return NULL;
	}
	chl_ref_init(&tc->refs);
	tc->ticker = period_ns > 0;
	chl_timer_init(&tc->t, timechan_fire, tc);
	if (chl_timer_start(&tc->t, chl_now() + (d_ns > 0 ? d_ns : 0),
			tc->ticker ? period_ns : 0) != CHL_OK) {
		chl_chan_release(tc->c);
		free(tc);
		return NULL;
	}
	return tc;
}

chl_chan *chl_timechan_chan(chl_timechan *t)
{
	return t ? t->c : NULL;
}

bool chl_timechan_is_ticker(const chl_timechan *t)
{
	return t && t->ticker;
}

bool chl_timechan_stop(chl_timechan *t)
{
	return t ? chl_timer_stop(&t->t) : false;
}

bool chl_timechan_reset(chl_timechan *t, int64_t d_ns)
{
	bool was;

	if (!t || (t->ticker && d_ns <= 0))
		return false;
	was = chl_timer_stop(&t->t);
	/* A failed start (no memory for heap growth) leaves t stopped; there
	 * is no better answer in a bool, and stop already happened. */
	(void)chl_timer_start(&t->t, chl_now() + (d_ns > 0 ? d_ns : 0),
		t->ticker ? d_ns : 0);
	return was;
}

chl_timechan *chl_timechan_retain(chl_timechan *t)
{
	if (t)
		chl_ref_retain(&t->refs);
	return t;
}

void chl_timechan_release(chl_timechan *t)
{
	if (!t || !chl_ref_release(&t->refs))
		return;
	chl_timer_stop(&t->t);   /* waits for a running fire */
	chl_chan_release(t->c);
	free(t);
}

/* ---- sleep ---- */

int chl_sleep(int64_t d_ns)
{
	chl_parker *p;
	int status;

	if (d_ns <= 0)
		return CHL_OK;
	p = chl_thread_parker_self();
	/* Nothing to queue and no lock to drop (prepare clears the unlock):
	 * the deadline timer is the only party that can claim p, and the
	 * thread parker keeps its token if the fire comes before we sleep. */
	chl_parker_prepare(p, "sleep");
	chl_parker_arm_deadline(p, chl_now() + d_ns);
	chl_thread_park(p);
	chl_parker_disarm(p);
	status = p->status;
	return status == CHL_NOMEM ? CHL_NOMEM : CHL_OK;
}
