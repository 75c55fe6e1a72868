/*
 * chan.h - Go's channels for C: a fixed element size, a ring buffer of
 * `cap` elements (cap 0 = unbuffered rendezvous), a queue of parked
 * senders and one of parked receivers, and close.
 *
 * Values are bytes: elem_size bytes are copied in at send and out at
 * receive (elem_size 0 makes a signal-only channel).  A channel is
 * reference-counted; whoever uses it (a thread, a task, a Lua state)
 * holds a reference for as long as it may send, receive or wait on it.
 *
 * Blocking works through waiter.h: the thread API below parks the calling
 * thread; the parker-level API (*_begin) lets the scheduler park a task
 * and lets select queue one waiter on many channels.
 *
 * Misuse never aborts, it returns Go's error as a status code:
 * CHL_CLOSED ("send on closed channel"), CHL_CLOSE_CLOSED, CHL_CLOSE_NIL,
 * CHL_NIL (any other operation on a NULL channel).  Go blocks forever on a
 * nil channel; the core refuses instead and leaves that to the caller
 * (the Lua layer parks the goroutine for good).
 */
#ifndef CHL_CHAN_H
#define CHL_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "waiter.h"

typedef struct chl_chan chl_chan;

/* ---- life ---- */

/* A new channel with one reference.  elem_size may be 0; cap 0 makes it
 * unbuffered.  NULL when out of memory (or cap * elem_size overflows). */
chl_chan *chl_chan_new(size_t elem_size, size_t cap);

/* Called on every element still buffered when the channel is freed (the
 * Lua layer sends pointers to owned messages).  Set it before sharing c. */
void chl_chan_set_elem_free(chl_chan *c, void (*free_elem)(void *elem));

/* Called once when c is freed, after free_elem (the Lua layer gives back
 * what the buffer was charged to a memory limit).  Set it before sharing c. */
void chl_chan_set_on_free(chl_chan *c, void (*on_free)(const chl_chan *c));

/* A label the owner may attach (the Lua layer: what the elements are).
 * 0 until set; atomic, so setting the same tag from two threads is fine. */
void chl_chan_set_tag(chl_chan *c, uintptr_t tag);
uintptr_t chl_chan_tag(chl_chan *c);

/* One more reference; returns c.  Atomic, takes no lock.  NULL-safe. */
chl_chan *chl_chan_retain(chl_chan *c);

/* One reference less; the last one frees c (and its buffered elements,
 * through free_elem).  Nobody may be waiting on c then.  NULL-safe. */
void chl_chan_release(chl_chan *c);

/* ---- the thread-blocking API (parks on chl_thread_parker_self()) ---- */

/* Send *elem (elem NULL sends a zero value).  Blocks until a receiver or a
 * buffer slot takes it.  CHL_OK; CHL_CLOSED when c is closed, also when it
 * closes while we wait (the value was not delivered); CHL_NIL if c NULL. */
int chl_chan_send(chl_chan *c, const void *elem);

/* Receive into elem (NULL: discard the value).  CHL_OK with *ok = true and
 * the value, or *ok = false and elem zeroed when c is closed and drained.
 * ok may be NULL.  CHL_NIL if c is NULL. */
int chl_chan_recv(chl_chan *c, void *elem, bool *ok);

/* The same with a deadline (absolute chl_now() ns; < 0 = none): also
 * CHL_TIMEOUT when it passes first (nothing was sent / received), or
 * CHL_NOMEM when the deadline could not be armed.  An operation that can
 * complete at once does, even with a deadline already past. */
int chl_chan_send_until(chl_chan *c, const void *elem, int64_t deadline_ns);
int chl_chan_recv_until(chl_chan *c, void *elem, bool *ok, int64_t deadline_ns);

/* Never block.  try_send: CHL_OK, CHL_WOULDBLOCK, CHL_CLOSED, CHL_NIL.
 * try_recv: CHL_OK (with *ok as for recv), CHL_WOULDBLOCK, CHL_NIL. */
int chl_chan_try_send(chl_chan *c, const void *elem);
int chl_chan_try_recv(chl_chan *c, void *elem, bool *ok);

/* Close: CHL_OK, CHL_CLOSE_CLOSED, CHL_CLOSE_NIL (c NULL).  Wakes every
 * waiter: receivers get ok = false, senders CHL_CLOSED.  Values already
 * buffered stay receivable. */
int chl_chan_close(chl_chan *c);

/* Buffered elements now (takes the lock); 0 for NULL. */
size_t chl_chan_len(chl_chan *c);
/* Capacity and element size (fixed at creation, no lock); 0 for NULL. */
size_t chl_chan_cap(const chl_chan *c);
size_t chl_chan_elem_size(const chl_chan *c);
/* Closed yet?  (takes the lock); false for NULL. */
bool chl_chan_is_closed(chl_chan *c);

/* Waiters queued now, for dumps and tests (takes the lock, O(queued)).
 * Counts waiters whose wait another event (a select's other case, a
 * deadline) has just completed but that are not dequeued yet.  Either
 * pointer may be NULL.  Cannot fail (zeros for a NULL channel). */
void chl_chan_waiting(chl_chan *c, size_t *senders, size_t *receivers);

/* Call fn on every value c holds now: its buffered elements, oldest
 * first, then the values of its parked senders whose wait is still open.
 * For introspection (the leak detector: what a message in a channel
 * keeps reachable).  fn runs under c's lock: it must only look (no lock,
 * no channel call, no blocking).  Nothing for NULL or elem_size 0. */
void chl_chan_foreach_value(chl_chan *c, void (*fn)(const void *elem, void *arg),
			    void *arg);

/* ---- the parker-level API (tasks and select; see waiter.h) ----
 *
 * The caller has done chl_parker_prepare(p) and chl_waiter_init(w, p, c).
 * Returns CHL_OK / CHL_CLOSED (send) when done at once, no lock held; for
 * a receive done at once, *ok says value (true) or closed (false, elem
 * zeroed).  Or CHL_WAIT: w is queued, c is locked, and the unlock is
 * recorded in w->parker; elem (value or slot) must stay valid until the
 * wake.  After the wake the result is in w: send: w->status (CHL_OK
 * delivered, CHL_CLOSED closed meanwhile); receive: w->ok (value copied
 * into elem) / !w->ok (closed, elem zeroed).  If the wake was not this
 * waiter (p->fired != w: a deadline, p->status == CHL_TIMEOUT) call
 * chl_chan_dequeue(c, w).  CHL_NIL if c is NULL (nothing queued). */
int chl_chan_send_begin(chl_chan *c, const void *elem, chl_waiter *w);
int chl_chan_recv_begin(chl_chan *c, void *elem, bool *ok, chl_waiter *w);

/* Lock c and unlink w if it is still queued; idempotent, cannot fail. */
void chl_chan_dequeue(chl_chan *c, chl_waiter *w);

/* ---- for select.c: steps run with the channel lock held ----
 *
 * select locks every channel it involves (in address order) and then
 * polls, queues and dequeues with these.  Each expects c locked and
 * leaves it locked.  A step that completes another party's wait returns
 * that waiter in *wake, already claimed and filled in: the caller must
 * call chl_chan_wake(*wake) once it has dropped its channel locks. */
void chl_chan_lock(chl_chan *c);
void chl_chan_unlock(chl_chan *c);
/* CHL_OK (sent), CHL_CLOSED, CHL_WOULDBLOCK (must wait). */
int chl_chan_send_locked(chl_chan *c, const void *elem, chl_waiter **wake);
/* CHL_OK with *ok (value / closed and drained), CHL_WOULDBLOCK. */
int chl_chan_recv_locked(chl_chan *c, void *elem, bool *ok, chl_waiter **wake);
/* Without the lock, a look that may be stale as soon as it is read: would
 * a send (send true) or receive on c proceed now?  Only for buffered
 * channels (an unbuffered one's readiness is a waiter queue: false).  A
 * wrong "yes" costs one locked attempt, a wrong "no" the full protocol. */
bool chl_chan_ready_hint(const chl_chan *c, bool send);
/* Queue w (w->elem already set) as a sender (send true) or receiver. */
void chl_chan_enqueue_locked(chl_chan *c, chl_waiter *w, bool send);
/* Unlink w if still queued; idempotent. */
void chl_chan_dequeue_locked(chl_chan *c, chl_waiter *w);
/* Complete a waiter a *_locked step handed back.  Call it after dropping
 * the channel locks: the woken side would only run into them. */
void chl_chan_wake(chl_waiter *w);

#endif
