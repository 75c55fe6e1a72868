/*
 * lock.h - chl_lock: a small mutex for short critical sections (a
 * channel's).  One word and a futex, after Drepper's "Futexes Are Tricky"
 * (mutex, take 2):
 *
 *     state 0  free
 *           1  held, nobody asleep on it
 *           2  held, sleepers possible: the release must wake one
 *
 * Why not pthread_mutex_t: a channel's critical section is a few dozen
 * instructions, and glibc's uncontended lock + unlock pair costs about 70
 * instructions of its own (type dispatch, elision checks), on the path of
 * every send, receive and select; here it is one compare-and-swap and one
 * exchange, inline.  A contender spins briefly first (the holder is
 * usually about to leave), as glibc's adaptive mutex did, then sleeps.
 *
 * Memory order: acquire when taken, release when dropped - the usual
 * mutex contract, which ThreadSanitizer sees through the atomics.
 * Linux only (futex), like the rest of the runtime.
 */
#ifndef CHL_LOCK_H
#define CHL_LOCK_H

#include <stdatomic.h>

typedef struct chl_lock {
	atomic_uint state;
} chl_lock;

/* The spin-wait hint: lets the other hyperthread run and saves power
 * while a spinner polls (the scheduler's, the thread parker's, ours). */
static inline void chl_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static inline void chl_lock_init(chl_lock *l)
{
	atomic_init(&l->state, 0);
}

/* The contended halves (lock.c). */
void chl_lock_wait(chl_lock *l);
void chl_lock_wake(chl_lock *l);

static inline void chl_lock_acquire(chl_lock *l)
{
	unsigned free_state = 0;

	if (!atomic_compare_exchange_strong_explicit(&l->state, &free_state, 1,
						     memory_order_acquire,
						     memory_order_relaxed))
		chl_lock_wait(l);
}

static inline void chl_lock_release(chl_lock *l)
{
	if (atomic_exchange_explicit(&l->state, 0, memory_order_release) == 2)
		chl_lock_wake(l);
}

#endif
