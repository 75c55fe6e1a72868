/*
 * failalloc.c - the fault-injection allocator: the N-th allocation of the
 * process fails.
 *
 * Linked into a test build with -Wl,--wrap=malloc,--wrap=calloc,... so
 * that every call our objects make (core/, bindings/, the tests, and the
 * Lua library when it is linked statically, as the interpreter is) comes
 * here first; libc's own internal allocations do not.
 *
 *   CHANLAB_FAIL_AT=N      the N-th call (1-based) returns NULL (ENOMEM);
 *                          0 or unset: none fails
 *   CHANLAB_FAIL_RUN=K     and so do the K-1 calls after it (default 1;
 *                          0: every call from the N-th on).  K = 2 also
 *                          fails the retry Lua makes after its emergency
 *                          collection, so the failure reaches the caller
 *   CHANLAB_FAIL_COUNT=1   at exit, print "failalloc: N allocations" on
 *                          stderr (how many points a run can fail at)
 *
 * At _exit (the interpreter's way out: report.c) with status 0, an
 * AddressSanitizer build runs LeakSanitizer first, as exit() would.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
void __real__exit(int status);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
void __wrap__exit(int status);

#if defined(__SANITIZE_ADDRESS__)
int __lsan_do_recoverable_leak_check(void);
#endif

static long fail_at = -1;          /* -1: not read yet */
static long fail_run = 1;
static atomic_long calls;
static int report;

static void read_env(void)
{
	const char *at = getenv("CHANLAB_FAIL_AT");
	const char *count = getenv("CHANLAB_FAIL_COUNT");
	const char *run = getenv("CHANLAB_FAIL_RUN");

	report = count && *count == '1';
	fail_at = at ? atol(at) : 0;
	fail_run = run ? atol(run) : 1;
}

/* Print the count at a normal exit too (the C suites). */
static void at_exit_report(void)
{
	if (report)
		fprintf(stderr, "failalloc: %ld allocations\n", atomic_load(&calls));
}

__attribute__((constructor)) static void init(void)
{
	read_env();
	atexit(at_exit_report);
}

/* Count this call; true when it is the one to fail. */
static int fails(void)
{
	long n = atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed) + 1;

	if (fail_at < 0)
		read_env();
	if (fail_at > 0 && n >= fail_at && (fail_run == 0 || n < fail_at + fail_run)) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n)
{
	return fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
	return fails() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
	/* a free is not an allocation */
	if (n == 0)
		return __real_realloc(p, n);
	return fails() ? NULL : __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	return fails() ? NULL : __real_aligned_alloc(align, n);
}

char *__wrap_strdup(const char *s)
{
	return fails() ? NULL : __real_strdup(s);
}

void __wrap__exit(int status)
{
	at_exit_report();
#if defined(__SANITIZE_ADDRESS__)
	if (status == 0 && __lsan_do_recoverable_leak_check())
		status = 23;           /* as LeakSanitizer's own exit code */
#endif
	__real__exit(status);
}
