/*
 * refcount.h - the reference count of the shared objects (channels,
 * contexts, waitgroups, mutexes, onces, semaphores, atomics, timers).
 *
 * Invariant: the count is the number of references held; the holder
 * whose release takes it from 1 to 0 frees the object, and nobody else
 * touches it after that.  A retain is only ever made through a reference
 * the caller holds (so the count is >= 1 during it), except for
 * chl_ref_try_retain, which is for the rare pointer that does not own one.
 *
 * Memory order.  Retain is relaxed: the caller's own reference keeps the
 * object alive, and a new reference only reaches another thread through
 * something that synchronises by itself (a channel, a lock, thread
 * creation), so the counter carries no data.  Release is acq_rel: the
 * release half makes this holder's accesses to the object happen before
 * whatever follows its decrement; the acquire half lets the thread that
 * takes the last reference see every other holder's accesses before it
 * frees (the decrements form one release sequence).
 *
 * Internal: included by the .c files that define these structs, never by
 * a public header.
 */
#ifndef CHL_REFCOUNT_H
#define CHL_REFCOUNT_H

#include <stdatomic.h>
#include <stdbool.h>

typedef struct chl_refcount {
	atomic_int n;          /* references; atomic, no lock */
} chl_refcount;

/* One reference: the creator's.  Before the object is shared. */
static inline void chl_ref_init(chl_refcount *r)
{
	atomic_init(&r->n, 1);
}

/* One more reference; the caller holds one already.  Cannot fail. */
static inline void chl_ref_retain(chl_refcount *r)
{
	atomic_fetch_add_explicit(&r->n, 1, memory_order_relaxed);
}

/* Drop one reference.  True when it was the last: the caller frees. */
static inline bool chl_ref_release(chl_refcount *r)
{
	return atomic_fetch_sub_explicit(&r->n, 1, memory_order_acq_rel) == 1;
}

/* Retain unless the count already reached 0 (the object is being freed).
 * For a pointer that holds no reference: the caller must know the memory
 * is still there (the freeing side waits for it, see ctx.c).  Acquire on
 * success: the increment reads from the holders' release decrements, so
 * what they did to the object is visible to the new holder. */
static inline bool chl_ref_try_retain(chl_refcount *r)
{
	int n = atomic_load_explicit(&r->n, memory_order_relaxed);

	while (n > 0)
		if (atomic_compare_exchange_weak_explicit(&r->n, &n, n + 1,
				memory_order_acquire, memory_order_relaxed))
			return true;
	return false;
}

#endif
