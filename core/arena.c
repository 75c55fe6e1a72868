/*
 * arena.c - chl_arena (the design: arena.h).
 *
 * A block of class k is k + 1 units.  A free block holds, in its first two
 * bytes, the next free block of its class (unit + 1, 0 ending the list).
 * A block released while it is the last one cut goes back to the bump
 * offset instead (top moves down), so short-lived blocks leave no holes.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check.h"

chl_arena *chl_arena_new(size_t bytes)
{
	size_t units = (bytes + CHL_ARENA_UNIT - 1) / CHL_ARENA_UNIT;
	size_t head = (sizeof(chl_arena) + CHL_ARENA_UNIT - 1) / CHL_ARENA_UNIT
		      * CHL_ARENA_UNIT;
	chl_arena *a;

	if (units == 0)
		units = 1;
	if (units > CHL_ARENA_MAX_REGION / CHL_ARENA_UNIT - 1)
		units = CHL_ARENA_MAX_REGION / CHL_ARENA_UNIT - 1;
	/* malloc's blocks are 16-aligned, so region = a + head is too */
	a = malloc(head + units * CHL_ARENA_UNIT);
	if (!a)
		return NULL;
	memset(a, 0, sizeof *a);
	a->region = (unsigned char *)a + head;
	a->units = (uint16_t)units;
	return a;
}

void chl_arena_free(chl_arena *a)
{
	free(a);
}

void *chl_arena_alloc(chl_arena *a, size_t n)
{
	unsigned k = chl_arena_class(n);
	unsigned u;

	chl_assert(n > 0 && n <= CHL_ARENA_MAX);
	if (a->head[k]) {
		u = a->head[k] - 1u;
		memcpy(&a->head[k], a->region + (size_t)u * CHL_ARENA_UNIT, sizeof a->head[k]);
	} else if ((unsigned)a->top + k + 1 <= a->units) {
		u = a->top;
		a->top = (uint16_t)(a->top + k + 1);
	} else {
		return NULL;
	}
	return a->region + (size_t)u * CHL_ARENA_UNIT;
}

void chl_arena_release(chl_arena *a, void *p, size_t n)
{
	unsigned k = chl_arena_class(n);
	size_t off = (size_t)((unsigned char *)p - a->region);

	chl_assert(chl_arena_owns(a, p) && off % CHL_ARENA_UNIT == 0 && n > 0 &&
		   n <= CHL_ARENA_MAX);
	if (off / CHL_ARENA_UNIT + k + 1 == a->top) {
		/* the last block cut: uncut it (temporaries often go first) */
		a->top = (uint16_t)(off / CHL_ARENA_UNIT);
		return;
	}
	memcpy(p, &a->head[k], sizeof a->head[k]);
	a->head[k] = (uint16_t)(off / CHL_ARENA_UNIT + 1);
}
