/*
 * ptrmap.h - a map from pointers to size_t values, for the leak detector
 * and the state walker: open addressing, linear probing, doubled when
 * half full.  Emptied in O(1) (a generation count), so one map serves a
 * hundred thousand small walks without clearing its slots each time.
 *
 * Not thread-safe: one owner.  NULL is not a valid key.
 */
#ifndef CHL_PTRMAP_H
#define CHL_PTRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chl_ptrslot chl_ptrslot;

typedef struct chl_ptrmap {
	chl_ptrslot *slots;        /* mask + 1 of them, or NULL while empty */
	size_t mask;
	size_t used;               /* keys of the current generation */
	uint32_t gen;              /* a slot is live only when its gen is this */
} chl_ptrmap;

#define CHL_PTRMAP_INIT { NULL, 0, 0, 1 }

/* Free the slots; the map is empty and usable again.  Cannot fail. */
void chl_ptrmap_free(chl_ptrmap *m);

/* Forget every key.  O(1) (O(slots) once every 2^32 calls). */
void chl_ptrmap_clear(chl_ptrmap *m);

/* The value stored under key, or NULL.  O(1) expected. */
size_t *chl_ptrmap_get(const chl_ptrmap *m, const void *key);

/* The value under key, added with val when absent (*added says which);
 * NULL when out of memory (nothing added). */
size_t *chl_ptrmap_put(chl_ptrmap *m, const void *key, size_t val, bool *added);

#endif
