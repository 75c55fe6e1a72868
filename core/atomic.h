/*
 * atomic.h - a shared 64-bit atomic integer (Lua's atomic.int handle).
 *
 * C code that owns its memory uses <stdatomic.h> directly; this object
 * exists because a value shared by many Lua states must live on the heap,
 * outlive any one of them and be freed by the last: it is reference-
 * counted like every other handle.  All operations are sequentially
 * consistent (Go's sync/atomic gives that too) and lock-free.  Arithmetic
 * wraps around on overflow, as Go's atomic.AddInt64 does.  NULL handles:
 * loads give 0, writes do nothing, cas fails.
 */
#ifndef CHL_ATOMIC_H
#define CHL_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

typedef struct chl_atomic chl_atomic;

/* A new integer holding v, with one reference; NULL when out of memory. */
chl_atomic *chl_atomic_new(int64_t v);

/* One more reference; returns a.  NULL-safe. */
chl_atomic *chl_atomic_retain(chl_atomic *a);

/* One reference less; the last one frees a.  NULL-safe. */
void chl_atomic_release(chl_atomic *a);

int64_t chl_atomic_load(chl_atomic *a);
void chl_atomic_store(chl_atomic *a, int64_t v);

/* Add d and return the NEW value (Go's AddInt64); wraps on overflow. */
int64_t chl_atomic_add(chl_atomic *a, int64_t d);

/* Store v and return the old value. */
int64_t chl_atomic_swap(chl_atomic *a, int64_t v);

/* If the value is old, make it new and return true; else false. */
bool chl_atomic_cas(chl_atomic *a, int64_t old, int64_t new_value);

#endif
