/*
 * sandbox.h - the standard library of `chanlab run --sandbox`: what a
 * stranger's script may use, in every goroutine (the main one included).
 *
 *   base       everything but loadfile and dofile; `load` of text only
 *              (a binary chunk is refused as Lua refuses it with mode "t":
 *              a forged one can crash the interpreter); collectgarbage
 *              only "count"; require of Lua modules from the script's
 *              folder only (text, names of letters, digits, _ - and dots)
 *   string table math utf8 coroutine   whole
 *   io         write, flush, stdout and stderr (whose methods are write
 *              and flush; their metatable is hidden)
 *   os         time, clock, date
 *   debug      traceback
 *   package    loaded, preload, path (the folder require searches)
 *   the chanlab API   whole (limits.h bounds what it can use up)
 * A refused function is there, and raises when called:
 * "sandbox: io.open is not available".  The libraries' tables hold only
 * what is allowed (their metatables' __index supplies the refusals), so
 * they can still be sent to other goroutines.
 *
 * The sandbox's globals come through lazyenv.h like any goroutine's: this
 * file only answers for the names it restricts.
 */
#ifndef CHL_SANDBOX_H
#define CHL_SANDBOX_H

#include <lua.h>

/* In lazyenv's __index: push the sandbox's value of global `name` and
 * return 1, or return 0 when the sandbox leaves the name alone. */
int chl_sandbox_global(lua_State *L, const char *name);

/* Register the sandbox's own C functions (load, require, collectgarbage)
 * for transfer; once, before any goroutine. */
void chl_sandbox_register(void);

#endif
