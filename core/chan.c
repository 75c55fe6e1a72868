/*
 * chan.c - channels: one lock, a ring buffer, a queue of parked senders
 * and one of parked receivers (Go's runtime/chan.go is the model).
 *
 * Invariants, with c->mu held:
 *  - count <= cap; the ring holds count values, the oldest at head.
 *  - A waiter is *live* while its parker is unclaimed.  Among live
 *    waiters at least one of sendq and recvq is empty (except for one
 *    select waiting to both send and receive on an unbuffered channel).
 *    For a buffered channel, count > 0 implies no live receiver is queued
 *    and count < cap implies no live sender is queued: an operation only
 *    queues when it could not proceed, and every operation that changes
 *    count first looks at the other queue.
 *  - Dead waiters (their parker claimed by another event: a select's other
 *    case, a deadline) may sit in either queue until their owner dequeues
 *    them; chl_waitq_claim_first unlinks and skips them.
 *  - Once closed, no live waiter is queued (close claims them all and
 *    nobody queues on a closed channel) and the flag never clears.
 *
 * Wakes: whoever claims a waiter fills in its result (the value is copied
 * straight into a parked receiver's slot, or out of a parked sender's
 * value) while holding c->mu, and calls chl_parker_complete() only after
 * dropping it, so the woken side does not run into the lock at once.
 * Once completed, the waiter belongs to the woken side: touch it no more.
 *
 * The uncontended paths take c->mu once and never allocate.
 */
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "check.h"
#include "hook.h"
#include "lock.h"
#include "refcount.h"

/* Which queue a waiter is in (kept in chl_waiter.n, which the waiter
 * protocol leaves to the primitive). */
enum { QUEUE_RECV = 0, QUEUE_SEND = 1 };

/* Two cache lines' worth of layout: what every operation reads and nobody
 * writes after creation first, then - on a line of its own - the lock and
 * what it guards, which the sending and receiving cores keep taking from
 * each other.  Sharing one line made every read of cap or tag (each
 * send) a cache miss on a busy channel (perf: chl_chan_cap and
 * chl_chan_tag at 6 % each in the worker pool). */
#define CACHE_LINE 64

struct chl_chan {
	size_t elem_size;            /* fixed at creation */
	size_t cap;                  /* fixed at creation; 0 = unbuffered */
	void (*free_elem)(void *);   /* set before sharing; used by the last release */
	void (*on_free)(const chl_chan *); /* the same */
	atomic_uintptr_t tag;        /* the owner's label (the Lua side: element kind) */
	chl_refcount refs;           /* references; atomic, no lock (rarely changes) */
	_Alignas(CACHE_LINE)
	chl_lock mu;                 /* guards the fields marked "mu" (lock.h) */
	atomic_size_t count;         /* mu: values in the ring; also read
	                                without it by chl_chan_ready_hint, so
	                                relaxed atomics (count_of, count_set) */
	size_t head;                 /* mu: slot of the oldest value */
	atomic_bool closed;          /* mu; as count */
	chl_waitq sendq;             /* mu: parked senders (w->elem = value) */
	chl_waitq recvq;             /* mu: parked receivers (w->elem = slot) */
	_Alignas(max_align_t) unsigned char buf[]; /* mu: cap * elem_size bytes */
};

static inline unsigned char *slot(chl_chan *c, size_t i)
{
	return c->buf + i * c->elem_size;
}

static inline size_t ring_next(const chl_chan *c, size_t i)
{
	return i + 1 == c->cap ? 0 : i + 1;
}

/* count and closed are written under mu only; relaxed atomics let the
 * hint read them without it (on x86 these are plain loads and stores). */
static inline size_t count_of(const chl_chan *c)
{
	return atomic_load_explicit(&c->count, memory_order_relaxed);
}

static inline void count_set(chl_chan *c, size_t n)
{
	atomic_store_explicit(&c->count, n, memory_order_relaxed);
}

static inline bool is_closed(const chl_chan *c)
{
	return atomic_load_explicit(&c->closed, memory_order_relaxed);
}

/* Copy one element.  src NULL copies a zero value, dst NULL discards;
 * elem_size 0 copies nothing (and never hands NULL to memcpy). */
static inline void put(const chl_chan *c, void *dst, const void *src)
{
	if (!dst || c->elem_size == 0)
		return;
	if (src)
		memcpy(dst, src, c->elem_size);
	else
		memset(dst, 0, c->elem_size);
}

/* ---- life ---- */

chl_chan *chl_chan_new(size_t elem_size, size_t cap)
{
	chl_chan *c;

	if (elem_size && cap > (SIZE_MAX - sizeof *c - CACHE_LINE) / elem_size)
		return NULL;
	/* aligned_alloc wants a multiple of the alignment */
	size_t size = sizeof *c + cap * elem_size;
	c = aligned_alloc(CACHE_LINE, (size + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
	if (!c)
		return NULL;
	chl_lock_init(&c->mu);
	chl_ref_init(&c->refs);
	c->elem_size = elem_size;
	c->cap = cap;
	c->free_elem = NULL;
	c->on_free = NULL;
	atomic_init(&c->tag, 0);
	atomic_init(&c->count, 0);
	c->head = 0;
	atomic_init(&c->closed, false);
	c->sendq.head = c->sendq.tail = NULL;
	c->recvq.head = c->recvq.tail = NULL;
	if (CHL_HOOK_ON()) {
		chl_event ev = { 0 };

		ev.op = CHL_OP_MAKE;
		ev.obj = c;
		ev.b = (int64_t)cap;
		chl_hook_emit(&ev);
	}
	return c;
}

void chl_chan_set_tag(chl_chan *c, uintptr_t tag)
{
	atomic_store_explicit(&c->tag, tag, memory_order_relaxed);
}

uintptr_t chl_chan_tag(chl_chan *c)
{
	return atomic_load_explicit(&c->tag, memory_order_relaxed);
}

void chl_chan_set_elem_free(chl_chan *c, void (*free_elem)(void *elem))
{
	if (c)
		c->free_elem = free_elem;
}

void chl_chan_set_on_free(chl_chan *c, void (*on_free)(const chl_chan *c))
{
	if (c)
		c->on_free = on_free;
}

chl_chan *chl_chan_retain(chl_chan *c)
{
	if (c)
		chl_ref_retain(&c->refs);
	return c;
}

void chl_chan_release(chl_chan *c)
{
	size_t i, at;

	if (!c)
		return;
	if (!chl_ref_release(&c->refs))
		return;
	if (c->free_elem) {
		for (i = 0, at = c->head; i < count_of(c); i++, at = ring_next(c, at))
			c->free_elem(slot(c, at));
	}
	if (c->on_free)
		c->on_free(c);
	free(c);
}

/* ---- steps under the lock (shared by the operations and select) ---- */

void chl_chan_lock(chl_chan *c)
{
	chl_lock_acquire(&c->mu);
}

void chl_chan_unlock(chl_chan *c)
{
	chl_lock_release(&c->mu);
}

int chl_chan_send_locked(chl_chan *c, const void *elem, chl_waiter **wake)
{
	chl_waiter *r;

	*wake = NULL;
	if (is_closed(c))
		return CHL_CLOSED;
	r = chl_waitq_claim_first(&c->recvq);
	if (r) {
		/* A live receiver is parked only on an empty ring, so the value
		 * goes straight into its slot (FIFO is kept: nothing older). */
		chl_assert(count_of(c) == 0);
		put(c, r->elem, elem);
		r->ok = true;
		r->status = CHL_OK;
		*wake = r;
		return CHL_OK;
	}
	size_t n = count_of(c);
	if (n < c->cap) {
		size_t at = c->head + n;

		if (at >= c->cap)
			at -= c->cap;
		put(c, slot(c, at), elem);
		count_set(c, n + 1);
		return CHL_OK;
	}
	return CHL_WOULDBLOCK;
}

int chl_chan_recv_locked(chl_chan *c, void *elem, bool *ok, chl_waiter **wake)
{
	chl_waiter *s;

	*wake = NULL;
	s = chl_waitq_claim_first(&c->sendq);
	if (s) {
		if (c->cap == 0) {
			put(c, elem, s->elem);
		} else {
			/* A live sender is parked only on a full ring: take the
			 * oldest value, and the sender's value becomes the newest,
			 * in the slot just freed (head moves on, count stays). */
			chl_assert(count_of(c) == c->cap);
			put(c, elem, slot(c, c->head));
			put(c, slot(c, c->head), s->elem);
			c->head = ring_next(c, c->head);
		}
		s->status = CHL_OK;
		*wake = s;
		*ok = true;
		return CHL_OK;
	}
	size_t n = count_of(c);
	if (n > 0) {
		put(c, elem, slot(c, c->head));
		c->head = ring_next(c, c->head);
		count_set(c, n - 1);
		*ok = true;
		return CHL_OK;
	}
	if (is_closed(c)) {
		put(c, elem, NULL);
		*ok = false;
		return CHL_OK;
	}
	return CHL_WOULDBLOCK;
}

bool chl_chan_ready_hint(const chl_chan *c, bool send)
{
	if (c->cap == 0)
		return false;       /* its readiness is a queue: no cheap look */
	if (is_closed(c))
		return true;
	return send ? count_of(c) < c->cap : count_of(c) > 0;
}

void chl_chan_enqueue_locked(chl_chan *c, chl_waiter *w, bool send)
{
	w->n = send ? QUEUE_SEND : QUEUE_RECV;
	chl_waitq_push(send ? &c->sendq : &c->recvq, w);
}

void chl_chan_dequeue_locked(chl_chan *c, chl_waiter *w)
{
	if (w->queued)
		chl_waitq_remove(w->n == QUEUE_SEND ? &c->sendq : &c->recvq, w);
}

void chl_chan_wake(chl_waiter *w)
{
	chl_parker_complete(w->parker, w, w->status);
}

/* ---- the parker-level API ---- */

/* Recorded in the parker by *_begin; the parking side calls it. */
static void unlock_cb(void *arg)
{
	chl_chan_unlock(arg);
}

int chl_chan_send_begin(chl_chan *c, const void *elem, chl_waiter *w)
{
	chl_waiter *wake;
	int rc;

	if (!c)
		return CHL_NIL;
	chl_chan_lock(c);
	rc = chl_chan_send_locked(c, elem, &wake);
	if (rc != CHL_WOULDBLOCK) {
		chl_chan_unlock(c);
		if (wake)
			chl_chan_wake(wake);
		return rc;
	}
	w->elem = (void *)elem;  /* only ever read through it */
	chl_chan_enqueue_locked(c, w, true);
	chl_parker_set_unlock(w->parker, unlock_cb, c);
	return CHL_WAIT;
}

int chl_chan_recv_begin(chl_chan *c, void *elem, bool *ok, chl_waiter *w)
{
	chl_waiter *wake;
	bool got = false;
	int rc;

	if (!c)
		return CHL_NIL;
	chl_chan_lock(c);
	rc = chl_chan_recv_locked(c, elem, &got, &wake);
	if (rc != CHL_WOULDBLOCK) {
		chl_chan_unlock(c);
		if (wake)
			chl_chan_wake(wake);
		if (ok)
			*ok = got;
		return rc;
	}
	w->elem = elem;
	chl_chan_enqueue_locked(c, w, false);
	chl_parker_set_unlock(w->parker, unlock_cb, c);
	return CHL_WAIT;
}

void chl_chan_dequeue(chl_chan *c, chl_waiter *w)
{
	if (!c)
		return;
	chl_chan_lock(c);
	chl_chan_dequeue_locked(c, w);
	chl_chan_unlock(c);
}

/* ---- the thread-blocking API ---- */

/* After chl_thread_park: the wait was ours (CHL_OK, results in w) or a
 * deadline's (its status, w dequeued). */
static int settle_parked(chl_chan *c, chl_waiter *w, chl_parker *p, bool armed)
{
	if (armed)
		chl_parker_disarm(p);
	if (p->fired == w)
		return CHL_OK;
	chl_chan_dequeue(c, w);
	return p->status;
}

/* Either operation on the calling thread, with an optional deadline.
 * elem is only read when sending (the public send keeps it const). */
static int block_until(chl_chan *c, bool send, void *elem, bool *ok, int64_t deadline_ns)
{
	chl_parker *p;
	chl_waiter w;
	bool armed = deadline_ns >= 0;
	int rc;

	if (!c)
		return CHL_NIL;
	p = chl_thread_parker_self();
	chl_parker_prepare(p, send ? "chan send" : "chan receive");
	chl_waiter_init(&w, p, c);
	if (armed)
		chl_parker_arm_deadline(p, deadline_ns);
	rc = send ? chl_chan_send_begin(c, elem, &w) : chl_chan_recv_begin(c, elem, ok, &w);
	if (rc == CHL_WAIT) {
		chl_thread_park(p);
		rc = settle_parked(c, &w, p, armed);
		if (rc == CHL_OK && send)
			rc = w.status;
		else if (rc == CHL_OK && ok)
			*ok = w.ok;
	} else if (armed) {
		/* Done at once: the timer starts only at commit (waiter.h),
		 * so there is nothing to stop, only the request to clear. */
		chl_parker_disarm(p);
	}
	return rc;
}

int chl_chan_send_until(chl_chan *c, const void *elem, int64_t deadline_ns)
{
	return block_until(c, true, (void *)elem, NULL, deadline_ns);
}

int chl_chan_recv_until(chl_chan *c, void *elem, bool *ok, int64_t deadline_ns)
{
	return block_until(c, false, elem, ok, deadline_ns);
}

int chl_chan_send(chl_chan *c, const void *elem)
{
	return chl_chan_send_until(c, elem, -1);
}

int chl_chan_recv(chl_chan *c, void *elem, bool *ok)
{
	return chl_chan_recv_until(c, elem, ok, -1);
}

int chl_chan_try_send(chl_chan *c, const void *elem)
{
	chl_waiter *wake;
	int rc;

	if (!c)
		return CHL_NIL;
	chl_chan_lock(c);
	rc = chl_chan_send_locked(c, elem, &wake);
	chl_chan_unlock(c);
	if (wake)
		chl_chan_wake(wake);
	return rc;
}

int chl_chan_try_recv(chl_chan *c, void *elem, bool *ok)
{
	chl_waiter *wake;
	bool got = false;
	int rc;

	if (!c)
		return CHL_NIL;
	chl_chan_lock(c);
	rc = chl_chan_recv_locked(c, elem, &got, &wake);
	chl_chan_unlock(c);
	if (wake)
		chl_chan_wake(wake);
	if (rc == CHL_OK && ok)
		*ok = got;
	return rc;
}

int chl_chan_close(chl_chan *c)
{
	chl_waiter *first = NULL, *last = NULL, *w, *next;

	if (!c)
		return CHL_CLOSE_NIL;
	chl_chan_lock(c);
	if (is_closed(c)) {
		chl_chan_unlock(c);
		return CHL_CLOSE_CLOSED;
	}
	atomic_store_explicit(&c->closed, true, memory_order_relaxed);
	/* Claim every live waiter and fill in its result under the lock;
	 * chain them through their (now unused) queue links and wake them
	 * after unlocking.  Receivers first, each queue in FIFO order. */
	for (int q = 0; q < 2; q++) {
		while ((w = chl_waitq_claim_first(q == 0 ? &c->recvq : &c->sendq))) {
			if (q == 0) {
				put(c, w->elem, NULL);
				w->ok = false;
				w->status = CHL_OK;
			} else {
				w->status = CHL_CLOSED;
			}
			w->next = NULL;
			if (last)
				last->next = w;
			else
				first = w;
			last = w;
		}
	}
	chl_chan_unlock(c);
	for (w = first; w; w = next) {
		next = w->next;   /* read before the wake hands w back */
		chl_chan_wake(w);
	}
	return CHL_OK;
}

/* ---- inspection ---- */

size_t chl_chan_len(chl_chan *c)
{
	size_t n;

	if (!c)
		return 0;
	chl_chan_lock(c);
	n = count_of(c);
	chl_chan_unlock(c);
	return n;
}

size_t chl_chan_cap(const chl_chan *c)
{
	return c ? c->cap : 0;
}

size_t chl_chan_elem_size(const chl_chan *c)
{
	return c ? c->elem_size : 0;
}

bool chl_chan_is_closed(chl_chan *c)
{
	bool closed;

	if (!c)
		return false;
	chl_chan_lock(c);
	closed = is_closed(c);
	chl_chan_unlock(c);
	return closed;
}

static size_t queue_len(const chl_waitq *q)
{
	size_t n = 0;

	for (const chl_waiter *w = q->head; w; w = w->next)
		n++;
	return n;
}

void chl_chan_waiting(chl_chan *c, size_t *senders, size_t *receivers)
{
	size_t s = 0, r = 0;

	if (c) {
		chl_chan_lock(c);
		s = queue_len(&c->sendq);
		r = queue_len(&c->recvq);
		chl_chan_unlock(c);
	}
	if (senders)
		*senders = s;
	if (receivers)
		*receivers = r;
}

/* ---- introspection ---- */

void chl_chan_foreach_value(chl_chan *c, void (*fn)(const void *elem, void *arg),
			    void *arg)
{
	chl_waiter *w;
	size_t i, at;

	if (!c || c->elem_size == 0)
		return;
	chl_chan_lock(c);
	for (i = 0, at = c->head; i < count_of(c); i++, at = ring_next(c, at))
		fn(slot(c, at), arg);
	for (w = c->sendq.head; w; w = w->next)
		if (w->elem && !atomic_load_explicit(&w->parker->claimed, memory_order_acquire))
			fn(w->elem, arg);
	chl_chan_unlock(c);
}
