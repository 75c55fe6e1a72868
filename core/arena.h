/*
 * arena.h - chl_arena: small blocks for one owner, without block headers.
 *
 * One region, sized when made; blocks of up to CHL_ARENA_MAX bytes are cut
 * from it by a bump offset and recycled through one free list per 16-byte
 * size class.  The owner passes a block's size back when freeing it (as
 * Lua's allocator protocol does), so a block carries no header: a 29-byte
 * string takes 32 bytes here and 48 in glibc's malloc, and a Lua state is
 * mostly such blocks.  When the region has no room, chl_arena_alloc
 * returns NULL and the owner uses malloc instead; chl_arena_owns tells the
 * two kinds of block apart by address.  Memory stays with the arena until
 * it is freed, so a region is kept small: what spills goes to malloc.
 *
 * Blocks are 16-byte aligned, as malloc's.  Not thread-safe: one owner at
 * a time (a Lua state runs on one thread at a time).
 */
#ifndef CHL_ARENA_H
#define CHL_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHL_ARENA_MAX 256           /* largest block served */
#define CHL_ARENA_UNIT 16           /* block sizes are multiples of this */
#define CHL_ARENA_CLASSES (CHL_ARENA_MAX / CHL_ARENA_UNIT)
#define CHL_ARENA_MAX_REGION (1u << 20) /* units are counted in 16 bits */

typedef struct chl_arena {
	unsigned char *region;      /* CHL_ARENA_UNIT-aligned, units * UNIT bytes */
	uint16_t units;             /* the region's size in units */
	uint16_t top;               /* units cut (the bump offset) */
	uint16_t head[CHL_ARENA_CLASSES]; /* free list of class k: unit + 1, 0 = empty */
	uint32_t spilled;           /* bytes the owner had to take from malloc */
} chl_arena;

/* An arena whose region holds about `bytes` (rounded up to a unit, at most
 * CHL_ARENA_MAX_REGION), made with one malloc; NULL if out of memory. */
chl_arena *chl_arena_new(size_t bytes);
void chl_arena_free(chl_arena *a);

/* A block of n bytes (0 < n <= CHL_ARENA_MAX), or NULL when the region has
 * no room for it. */
void *chl_arena_alloc(chl_arena *a, size_t n);

/* Give back p, which this arena gave for a request of at least n bytes
 * (n may be smaller than asked if the block was shrunk in place). */
void chl_arena_release(chl_arena *a, void *p, size_t n);

static inline bool chl_arena_owns(const chl_arena *a, const void *p)
{
	const unsigned char *q = p;

	return q >= a->region && q < a->region + (size_t)a->units * CHL_ARENA_UNIT;
}

/* The size class of an n-byte block (0 < n <= CHL_ARENA_MAX): class k
 * blocks are k + 1 units. */
static inline unsigned chl_arena_class(size_t n)
{
	return (unsigned)((n + CHL_ARENA_UNIT - 1) / CHL_ARENA_UNIT) - 1;
}

/* Can a block given for osize bytes hold nsize (both <= CHL_ARENA_MAX)
 * where it is?  Shrinking always can. */
static inline bool chl_arena_fits(size_t osize, size_t nsize)
{
	return chl_arena_class(nsize) <= chl_arena_class(osize);
}

/* Bytes cut from the region plus bytes spilled to malloc: about the small
 * memory the owner wants (a little more: free-listed blocks count). */
static inline size_t chl_arena_demand(const chl_arena *a)
{
	return (size_t)a->top * CHL_ARENA_UNIT + a->spilled;
}

#endif
