/*
 * lock.c - the contended halves of chl_lock (the protocol: lock.h).
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lock.h"

/* Polls of a held lock before sleeping: a few microseconds (a pause is
 * tens of cycles), longer than a channel's critical section, far shorter
 * than a sleep and a wake. */
#define SPIN_POLLS 100

void chl_lock_wait(chl_lock *l)
{
	for (int i = 0; i < SPIN_POLLS; i++) {
		chl_cpu_relax();
		if (atomic_load_explicit(&l->state, memory_order_relaxed) == 0) {
			unsigned free_state = 0;

			if (atomic_compare_exchange_weak_explicit(&l->state, &free_state, 1,
								  memory_order_acquire,
								  memory_order_relaxed))
				return;
		}
	}
	/* Mark the lock contended, taking it if it was free meanwhile; else
	 * sleep while it stays contended.  A lock taken this way stays at 2,
	 * so its release makes one wake that may find nobody: harmless. */
	while (atomic_exchange_explicit(&l->state, 2, memory_order_acquire) != 0)
		syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void chl_lock_wake(chl_lock *l)
{
	syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
