/*
 * test_atomic.c - the shared atomic integer: exact under contention (add
 * and a cas loop), add returns the new value, wrap-around, references.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <cmocka.h>

#include "atomic.h"
#include "helpers.h"

#define NTHREADS 8
#define NOPS 100000

static void *adder(void *arg)
{
	chl_atomic *a = arg;

	for (int i = 0; i < NOPS; i++)
		chl_atomic_add(a, 1);
	for (int i = 0; i < NOPS; i++) {   /* increment by cas, Go style */
		int64_t old;

		do
			old = chl_atomic_load(a);
		while (!chl_atomic_cas(a, old, old + 1));
	}
	chl_atomic_release(a);   /* each thread held its own reference */
	return NULL;
}

static void contended_adds_and_cas_are_exact(void **state)
{
	chl_atomic *a = chl_atomic_new(0);
	pthread_t th[NTHREADS];

	(void)state;
	assert_non_null(a);
	for (int i = 0; i < NTHREADS; i++)
		th[i] = spawn(adder, chl_atomic_retain(a));
	for (int i = 0; i < NTHREADS; i++)
		join(th[i]);
	assert_int_equal(chl_atomic_load(a), 2 * NTHREADS * NOPS);
	chl_atomic_release(a);
}

static void operations(void **state)
{
	chl_atomic *a = chl_atomic_new(40);

	(void)state;
	assert_non_null(a);
	assert_int_equal(chl_atomic_load(a), 40);
	assert_int_equal(chl_atomic_add(a, 2), 42);        /* the new value */
	assert_int_equal(chl_atomic_add(a, -50), -8);
	assert_false(chl_atomic_cas(a, 7, 9));
	assert_int_equal(chl_atomic_load(a), -8);
	assert_true(chl_atomic_cas(a, -8, 9));
	assert_int_equal(chl_atomic_swap(a, 11), 9);
	chl_atomic_store(a, INT64_MAX);
	assert_true(chl_atomic_add(a, 1) == INT64_MIN);     /* wraps, like Go */
	assert_true(chl_atomic_add(a, -1) == INT64_MAX);
	chl_atomic_release(a);
}

static void nil_handle(void **state)
{
	(void)state;
	assert_int_equal(chl_atomic_load(NULL), 0);
	assert_int_equal(chl_atomic_add(NULL, 5), 0);
	assert_false(chl_atomic_cas(NULL, 0, 1));
	chl_atomic_store(NULL, 3);
	assert_null(chl_atomic_retain(NULL));
	chl_atomic_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(operations),
		cmocka_unit_test(nil_handle),
		cmocka_unit_test(contended_adds_and_cas_are_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
