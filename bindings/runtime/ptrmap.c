/*
 * ptrmap.c - a map from pointers to size_t values (ptrmap.h).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/ptrmap.h"

struct chl_ptrslot {
	const void *key;
	size_t val;
	uint32_t gen;              /* live when == the map's gen */
};

static inline size_t hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 29;
	x *= UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(x >> 17);
}

void chl_ptrmap_free(chl_ptrmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->mask = 0;
	m->used = 0;
	m->gen = 1;
}

void chl_ptrmap_clear(chl_ptrmap *m)
{
	m->used = 0;
	if (++m->gen == 0) {
		if (m->slots)
			memset(m->slots, 0, (m->mask + 1) * sizeof *m->slots);
		m->gen = 1;
	}
}

size_t *chl_ptrmap_get(const chl_ptrmap *m, const void *key)
{
	size_t i;

	if (!m->slots)
		return NULL;
	for (i = hash(key) & m->mask; m->slots[i].gen == m->gen; i = (i + 1) & m->mask)
		if (m->slots[i].key == key)
			return &m->slots[i].val;
	return NULL;
}

/* Double the slots (or make the first 64); false when out of memory. */
static bool grow(chl_ptrmap *m)
{
	size_t n = m->slots ? 2 * (m->mask + 1) : 64, i, j;
	chl_ptrslot *s = calloc(n, sizeof *s);

	if (!s)
		return false;
	for (i = 0; m->slots && i <= m->mask; i++) {
		if (m->slots[i].gen != m->gen)
			continue;
		for (j = hash(m->slots[i].key) & (n - 1); s[j].gen == 1; j = (j + 1) & (n - 1))
			;
		s[j] = m->slots[i];
		s[j].gen = 1;
	}
	free(m->slots);
	m->slots = s;
	m->mask = n - 1;
	m->gen = 1;
	return true;
}

size_t *chl_ptrmap_put(chl_ptrmap *m, const void *key, size_t val, bool *added)
{
	size_t i;

	if ((!m->slots || 2 * (m->used + 1) > m->mask + 1) && !grow(m))
		return NULL;
	for (i = hash(key) & m->mask; m->slots[i].gen == m->gen; i = (i + 1) & m->mask) {
		if (m->slots[i].key == key) {
			*added = false;
			return &m->slots[i].val;
		}
	}
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->slots[i].gen = m->gen;
	m->used++;
	*added = true;
	return &m->slots[i].val;
}
