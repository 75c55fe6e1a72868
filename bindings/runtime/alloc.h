/*
 * alloc.h - the allocator of every goroutine's Lua state.
 *
 * It counts the bytes the state holds (for runtime.memory() and a memory
 * limit) and serves blocks of up to CHL_ARENA_MAX bytes from the state's
 * arena while the arena has room (core/arena.h: no per-block header).
 * Most of a small state is such blocks - interned strings, tables,
 * closures - so a parked goroutine costs about a kilobyte less than with
 * malloc alone.
 *
 * Only the thread running the state touches its chl_state_mem.
 */
#ifndef CHL_ALLOC_H
#define CHL_ALLOC_H

#include <stddef.h>

#include "arena.h"

typedef struct chl_state_mem {
	size_t used;               /* bytes the state holds, as malloc's blocks
	                              (header and rounding included) */
	size_t limit;              /* 0: none; past it an allocation fails */
	chl_arena *arena;          /* its small blocks; may be NULL */
	/* A request refused for a limit (limits.h), until Lua asks again
	 * (after its emergency collection) or a safe point sees it. */
	const void *refused_ptr;
	size_t refused_size;       /* 0: none refused */
	int refused_kind;          /* which limit refused it */
} chl_state_mem;

/* lua_Alloc; ud is the state's chl_state_mem. */
void *chl_state_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* An arena for a new state, sized by what the last state wanted by the
 * end of its first step (NULL in AddressSanitizer builds, so that it sees
 * every block, and when out of memory). */
chl_arena *chl_state_arena_new(void);

/* After a goroutine's first step: what its state wanted becomes the size
 * of the next arenas (goroutines started together are usually alike, and
 * a parked one has made its first step). */
void chl_state_arena_learn(const chl_state_mem *m);

#endif
