/*
 * atomic.c - the shared atomic integer: one atomic int64 and a reference
 * count, nothing else (no lock anywhere).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "atomic.h"
#include "refcount.h"

struct chl_atomic {
	_Atomic int64_t v;     /* the value */
	chl_refcount refs;     /* references */
};

chl_atomic *chl_atomic_new(int64_t v)
{
	chl_atomic *a = malloc(sizeof *a);

	if (!a)
		return NULL;
	atomic_init(&a->v, v);
	chl_ref_init(&a->refs);
	return a;
}

chl_atomic *chl_atomic_retain(chl_atomic *a)
{
	if (a)
		chl_ref_retain(&a->refs);
	return a;
}

void chl_atomic_release(chl_atomic *a)
{
	if (a && chl_ref_release(&a->refs))
		free(a);
}

int64_t chl_atomic_load(chl_atomic *a)
{
	return a ? atomic_load(&a->v) : 0;
}

void chl_atomic_store(chl_atomic *a, int64_t v)
{
	if (a)
		atomic_store(&a->v, v);
}

int64_t chl_atomic_add(chl_atomic *a, int64_t d)
{
	if (!a)
		return 0;
	/* C11 defines atomic signed arithmetic as wrapping; the new value is
	 * computed in unsigned arithmetic so that it wraps the same way
	 * instead of overflowing (undefined) here. */
	return (int64_t)((uint64_t)atomic_fetch_add(&a->v, d) + (uint64_t)d);
}

int64_t chl_atomic_swap(chl_atomic *a, int64_t v)
{
	return a ? atomic_exchange(&a->v, v) : 0;
}

bool chl_atomic_cas(chl_atomic *a, int64_t old, int64_t new_value)
{
	return a && atomic_compare_exchange_strong(&a->v, &old, new_value);
}
