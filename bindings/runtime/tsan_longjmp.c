/*
 * tsan_longjmp.c - only in ThreadSanitizer builds: route Lua's longjmp
 * through the one ThreadSanitizer watches.
 *
 * Debian's liblua5.4 is built with _FORTIFY_SOURCE, so its error and
 * yield paths call __longjmp_chk, which ThreadSanitizer does not
 * intercept.  It then never learns that a yield (lua_yieldk from one of
 * our instrumented C functions back to lua_resume) dropped frames; its
 * shadow stack grows by a frame or two per yield until it overflows after
 * ~65,000 yields.  Defining the symbol in the executable (exported with
 * -rdynamic) makes the library use this one, and plain longjmp is
 * intercepted.  It drops fortify's check that the jump goes up the stack,
 * which only matters to a buggy caller.
 */
#if defined(__SANITIZE_THREAD__)
#include <setjmp.h>

_Noreturn void __longjmp_chk(jmp_buf env, int val);

_Noreturn void __longjmp_chk(jmp_buf env, int val)
{
	longjmp(env, val);
}
#else
typedef int chl_tsan_longjmp_unused;   /* ISO C wants something in a file */
#endif
