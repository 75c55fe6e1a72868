/*
 * test_arena.c - chl_arena: blocks are aligned, disjoint and recycled by
 * size class; a full region says so (NULL) instead of overlapping; the
 * last block cut goes back to the bump offset; a random workload checked
 * against a pattern written into every live block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arena.h"

static void blocks_are_aligned_and_owned(void **state)
{
	chl_arena *a = chl_arena_new(1024);
	int outside;

	(void)state;
	assert_non_null(a);
	for (size_t n = 1; n <= CHL_ARENA_MAX; n += 37) {
		void *p = chl_arena_alloc(a, n);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % CHL_ARENA_UNIT, 0);
		assert_true(chl_arena_owns(a, p));
	}
	assert_false(chl_arena_owns(a, &outside));
	chl_arena_free(a);
}

static void a_freed_block_serves_its_class(void **state)
{
	chl_arena *a = chl_arena_new(4096);
	void *x, *y, *z, *w;

	(void)state;
	assert_non_null(a);
	x = chl_arena_alloc(a, 40);         /* class 48 */
	y = chl_arena_alloc(a, 100);        /* keeps x from being the last */
	chl_arena_release(a, x, 40);
	z = chl_arena_alloc(a, 20);         /* class 32: not x's */
	assert_ptr_not_equal(z, x);
	w = chl_arena_alloc(a, 33);         /* class 48 again: x */
	assert_ptr_equal(w, x);
	assert_ptr_not_equal(y, z);
	chl_arena_free(a);
}

static void the_last_block_cut_is_uncut(void **state)
{
	chl_arena *a = chl_arena_new(4096);
	void *x, *y;
	size_t before;

	(void)state;
	assert_non_null(a);
	x = chl_arena_alloc(a, 64);
	before = chl_arena_demand(a);
	y = chl_arena_alloc(a, 200);
	assert_true(chl_arena_demand(a) > before);
	chl_arena_release(a, y, 200);
	assert_int_equal(chl_arena_demand(a), before);
	assert_ptr_equal(chl_arena_alloc(a, 200), y);
	assert_ptr_not_equal(x, y);
	chl_arena_free(a);
}

static void a_full_region_returns_null(void **state)
{
	chl_arena *a = chl_arena_new(256);
	void *p[32];
	int n = 0;

	(void)state;
	assert_non_null(a);
	while (n < 32 && (p[n] = chl_arena_alloc(a, 64)) != NULL)
		n++;
	assert_int_equal(n, 4);             /* 256 bytes: four 64-byte blocks */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			assert_true((char *)p[i] + 64 <= (char *)p[j] ||
				    (char *)p[j] + 64 <= (char *)p[i]);
	chl_arena_release(a, p[1], 64);     /* a hole, not the last */
	assert_ptr_equal(chl_arena_alloc(a, 50), p[1]);
	assert_null(chl_arena_alloc(a, 16));
	chl_arena_free(a);
}

static void fits_in_place_within_a_class(void **state)
{
	(void)state;
	assert_true(chl_arena_fits(20, 32));
	assert_true(chl_arena_fits(200, 17));
	assert_false(chl_arena_fits(32, 33));
}

/* 20,000 random steps of alloc / free with sizes 1..256; each live block
 * holds its own byte pattern, checked when it is freed and at the end, so
 * two live blocks that overlap are caught.  Demand never exceeds the
 * region plus what spilled. */
static void random_workload_keeps_blocks_disjoint(void **state)
{
	enum { SLOTS = 300 };
	chl_arena *a = chl_arena_new(16384);
	struct { unsigned char *p; size_t n; unsigned char tag; } live[SLOTS];
	unsigned seed = 12345, full = 0;

	(void)state;
	assert_non_null(a);
	memset(live, 0, sizeof live);
	for (int step = 0; step < 20000; step++) {
		int i;

		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 8) % SLOTS);
		if (live[i].p) {
			for (size_t k = 0; k < live[i].n; k++)
				assert_int_equal(live[i].p[k], live[i].tag);
			chl_arena_release(a, live[i].p, live[i].n);
			live[i].p = NULL;
		} else {
			size_t n = 1 + (seed >> 16) % CHL_ARENA_MAX;
			unsigned char *p = chl_arena_alloc(a, n);

			if (!p) {
				full++;
				continue;
			}
			live[i].p = p;
			live[i].n = n;
			live[i].tag = (unsigned char)(step * 7 + 1);
			memset(p, live[i].tag, n);
		}
	}
	for (int i = 0; i < SLOTS; i++)
		for (size_t k = 0; live[i].p && k < live[i].n; k++)
			assert_int_equal(live[i].p[k], live[i].tag);
	assert_true(chl_arena_demand(a) <= 16384);
	assert_true(full > 0);           /* the region did fill up */
	chl_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blocks_are_aligned_and_owned),
		cmocka_unit_test(a_freed_block_serves_its_class),
		cmocka_unit_test(the_last_block_cut_is_uncut),
		cmocka_unit_test(a_full_region_returns_null),
		cmocka_unit_test(fits_in_place_within_a_class),
		cmocka_unit_test(random_workload_keeps_blocks_disjoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
