/*
 * alloc.c - the goroutine states' allocator (alloc.h).
 *
 * Arena sizing: too small, and the rest goes to malloc; too big, and the
 * rest of the region is wasted; so the size follows what the last
 * goroutine wanted by the end of its first step, within bounds.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/alloc.h"
#include "runtime/limits.h"

#if defined(__SANITIZE_ADDRESS__)
#define USE_ARENA 0
#else
#define USE_ARENA 1
#endif
#define HINT_MIN 1024
#define HINT_MAX 16384
static atomic_size_t region_hint = 2048;

chl_arena *chl_state_arena_new(void)
{
	if (!USE_ARENA)
		return NULL;
	return chl_arena_new(atomic_load_explicit(&region_hint, memory_order_relaxed));
}

void chl_state_arena_learn(const chl_state_mem *m)
{
	size_t want;

	if (!m->arena)
		return;
	want = chl_arena_demand(m->arena);
	if (want < HINT_MIN)
		want = HINT_MIN;
	if (want > HINT_MAX)
		want = HINT_MAX;
	atomic_store_explicit(&region_hint, want, memory_order_relaxed);
}

/* A new block of n bytes: from the arena if small and there is room. */
static void *block_new(chl_arena *a, size_t n)
{
	void *p;

	if (a && n <= CHL_ARENA_MAX) {
		if ((p = chl_arena_alloc(a, n)))
			return p;
		a->spilled += (uint32_t)n;
	}
	return malloc(n);
}

static void block_free(chl_arena *a, void *p, size_t n)
{
	if (a && chl_arena_owns(a, p))
		chl_arena_release(a, p, n);
	else
		free(p);
}

/* What a block of n bytes costs the process: glibc's malloc adds an
 * 8-byte header and rounds up to 16 (32 at least).  `used` and the limits
 * count this rather than n, so that a limit bounds what the process holds
 * (small strings and table nodes cost 10 to 30 % more than their size). */
static inline size_t block_cost(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
}

void *chl_state_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	chl_state_mem *m = ud;
	chl_arena *a = m->arena;
	/* for a new block osize is a type tag */
	size_t oc = ptr ? block_cost(osize) : 0, nc;
	void *p;

	if (nsize == 0) {
		if (ptr)
			block_free(a, ptr, osize);
		m->used -= oc;
		if (chl_limits_on)
			chl_limits_uncharge(oc);
		return NULL;
	}
	nc = block_cost(nsize);
	/* limits.h: growth is admitted (and charged to the program) or refused */
	if (chl_limits_on && nc > oc && !chl_limits_admit(m, ptr, oc, nc))
		return NULL;
	if (!ptr) {
		p = block_new(a, nsize);
	} else if (a && chl_arena_owns(a, ptr)) {
		/* in place when it fits: shrinking never fails, as Lua needs */
		if (nsize <= CHL_ARENA_MAX && chl_arena_fits(osize, nsize)) {
			p = ptr;
		} else if ((p = block_new(a, nsize))) {
			memcpy(p, ptr, osize < nsize ? osize : nsize);
			chl_arena_release(a, ptr, osize);
		}
	} else {
		p = realloc(ptr, nsize);
	}
	if (p)
		m->used = m->used - oc + nc;
	if (chl_limits_on && (p ? nc < oc : nc > oc))
		chl_limits_uncharge(p ? oc - nc : nc - oc);
	return p;
}
