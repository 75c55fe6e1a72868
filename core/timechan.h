/*
 * timechan.h - Go's time.After, time.Timer, time.Ticker and time.Sleep,
 * built on the timer heap (timer.h) and channels (chan.h).
 *
 * Every time channel has capacity 1 and carries int64_t values: the
 * chl_now() time of the fire.  A fire that finds the channel full is
 * dropped, like Go (a slow reader of a ticker misses ticks, it never
 * blocks the timer thread).  As in Go before 1.23, a value delivered
 * before stop/reset stays in the channel.
 */
#ifndef CHL_TIMECHAN_H
#define CHL_TIMECHAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "timer.h"

/* A channel that receives chl_now() once, d_ns from now (d <= 0: at once,
 * from the timer thread).  The caller owns the one reference returned;
 * the timer holds its own until it fires, so dropping ours early is fine.
 * NULL when out of memory. */
chl_chan *chl_after(int64_t d_ns);

/* A Go Timer (period 0) or Ticker (period > 0). */
typedef struct chl_timechan chl_timechan;

/* A timer firing d_ns from now, then (period_ns > 0) every period_ns.
 * One reference to the caller.  NULL when out of memory. */
chl_timechan *chl_timechan_new(int64_t d_ns, int64_t period_ns);

/* Its channel (borrowed: valid while the caller holds t; retain it to
 * keep it longer).  Never NULL for a live t. */
chl_chan *chl_timechan_chan(chl_timechan *t);

/* Stop further fires.  True if a fire was pending (Go's Stop); a value
 * already in the channel stays.  On return the fire callback is not
 * running.  NULL-safe (false). */
bool chl_timechan_stop(chl_timechan *t);

/* Stop, then fire d_ns from now; a ticker also takes d_ns as its new
 * period (Go's Ticker.Reset; d_ns <= 0 is refused with false and nothing
 * changes, as Go panics there).  Returns what stop would have returned.
 * Out of memory for the heap leaves t stopped. */
bool chl_timechan_reset(chl_timechan *t, int64_t d_ns);

/* True for a ticker. */
bool chl_timechan_is_ticker(const chl_timechan *t);

/* References: atomic, NULL-safe.  The last release stops t and drops its
 * reference to the channel (others may still hold the channel). */
chl_timechan *chl_timechan_retain(chl_timechan *t);
void chl_timechan_release(chl_timechan *t);

/* Block the calling thread for d_ns (d <= 0 returns at once).  CHL_OK,
 * or CHL_NOMEM when the timer could not be armed (returns at once).
 * Tasks must not call it: they sleep by parking their own parker with a
 * deadline (the bindings do that). */
int chl_sleep(int64_t d_ns);

#endif
