/*
 * select.h - Go's select over channels: wait until one of several sends
 * or receives can proceed, run exactly that one, leave the others alone.
 *
 * The algorithm is Go's (runtime/select.go), in three passes:
 *   1. lock every involved channel (in address order, each once) and poll
 *      the enabled cases in a random order - fairness among ready cases;
 *   2. if none was ready (and blocking): queue one waiter per enabled case,
 *      all of one parker, and park - the first case to claim the parker
 *      wins, the others' claims fail;
 *   3. after the wake: relock, dequeue every waiter still queued, unlock.
 * Duplicate channels (several cases on one channel, even a send and a
 * receive) are fine: each channel is locked once.
 *
 * Misuse never aborts: n < 0, n larger than the state, a bad dir ->
 * CHL_INVAL.  A send case whose channel is closed is Go's panic "send on
 * closed channel": CHL_CLOSED with its index, even with a default.
 */
#ifndef CHL_SELECT_H
#define CHL_SELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "waiter.h"

enum { CHL_SELECT_RECV = 0, CHL_SELECT_SEND = 1 };

typedef struct chl_select_case {
	chl_chan *chan;   /* NULL: case disabled (never fires) */
	int dir;          /* CHL_SELECT_RECV or CHL_SELECT_SEND */
	void *elem;       /* send: value to send (NULL: a zero value);
	                     recv: slot (NULL: discard) */
	bool ok;          /* out, recv: true value, false closed */
} chl_select_case;

/* Inline room: selects of up to this many cases never allocate. */
#define CHL_SELECT_INLINE 8

/* Scratch space of one select.  Owned by the selecting side; never
 * shared, so it needs no lock.  Between chl_select_begin returning
 * CHL_WAIT and chl_select_end it must stay where it is (channels point
 * at its waiters, the parker at its lock list). */
typedef struct chl_select_state {
	int size;                  /* cases it has room for */
	int nlocks;                /* distinct channels of the current select */
	chl_parker *parker;        /* of the current select (begin -> end) */
	chl_waiter *w;             /* [size]: w[i] stands for case i */
	int *poll;                 /* [size]: enabled cases, in random order */
	chl_chan **locks;          /* [size]: distinct channels, by address */
	void *heap;                /* the arrays when size > CHL_SELECT_INLINE */
	chl_waiter inline_w[CHL_SELECT_INLINE];
	int inline_poll[CHL_SELECT_INLINE];
	chl_chan *inline_locks[CHL_SELECT_INLINE];
} chl_select_state;

/* Room for n cases: CHL_OK, CHL_NOMEM, CHL_INVAL (n < 0). */
int chl_select_state_init(chl_select_state *st, int n);
/* Free what init allocated.  Cannot fail. */
void chl_select_state_free(chl_select_state *st);

/* Thread-blocking select.  Returns CHL_OK with *fired = case index (for a
 * receive, cases[i].ok says value or closed); CHL_WOULDBLOCK if nonblock
 * and nothing was ready (the default case); CHL_CLOSED with *fired = index
 * of a SEND case whose channel is closed (also when nonblock, and when it
 * closes while we wait); CHL_TIMEOUT if deadline_ns >= 0 passed first
 * (ignored when nonblock); CHL_NOMEM (n > CHL_SELECT_INLINE and no memory,
 * or the deadline could not be armed); CHL_INVAL.  *fired is -1 when no
 * case fired.  n == 0 (or every case disabled), blocking, no deadline:
 * blocks forever (Go's select {}). */
int chl_select(chl_select_case *cases, int n, bool nonblock, int64_t deadline_ns, int *fired);

/* Two-phase, for tasks.  The caller did chl_parker_prepare(p) (and maybe
 * chl_parker_arm_deadline) and chl_select_state_init(st, >= n).  Returns
 * as chl_select does, or CHL_WAIT: one waiter per enabled case is queued
 * (waiter.index = case index), ALL involved channel locks are held and
 * their unlock is recorded in p (with no enabled case nothing is queued
 * or locked: only a deadline or cancel can end the wait).  After the wake
 * call chl_select_end with the same cases, which relocks, dequeues the
 * losers and returns the final result.  cases must not change between. */
int chl_select_begin(chl_select_state *st, chl_select_case *cases, int n, bool nonblock, chl_parker *p, int *fired);
int chl_select_end(chl_select_state *st, chl_select_case *cases, int n, int *fired);

#endif
