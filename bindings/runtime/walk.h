/*
 * walk.h - every handle a Lua state can still reach, for the leak
 * detector.
 *
 * The walk starts from what Lua's own collector starts from - the
 * registry (which holds the main thread and the globals), the metatables
 * of the basic types - and follows tables (keys, values, metatables;
 * weak parts as the collector would: a weak value is skipped, and so is
 * a weak key), closures (upvalues), userdata (metatable, user values)
 * and threads (every frame's function, locals, temporaries and varargs,
 * or the stack of one not started).  So a handle found is one the state
 * could still use; garbage is never visited, which is what a full
 * collection before the walk would have given, without running any
 * finalizer in a state that is not ours to run.  (Not followed: the
 * strings' metatable, which needs a string to reach, and the handle
 * types' metatables, which hold chanlab's C functions.)
 *
 * The state must not run meanwhile: it is a parked goroutine's with the
 * world stopped (sched.h), or the caller's own.  The walk pushes only on
 * thread stacks (it may grow them: an allocation, never a collection
 * step) and leaves every stack as it found it.
 */
#ifndef CHL_WALK_H
#define CHL_WALK_H

#include <stdbool.h>
#include <lua.h>

#include "runtime/handle.h"
#include "runtime/ptrmap.h"

typedef void (*chl_walk_fn)(const chl_lua_type *t, void *obj, void *arg);

/* Walk the state of W, calling fn for each handle userdata met (a handle
 * met twice is reported once; two handles of one object twice).  W is
 * the thread whose stack holds the walk's work: the state's main thread
 * of a parked goroutine, or the running thread when the caller walks its
 * own state (then the running C function's frame counts up to the top it
 * had when called).  seen is scratch (cleared here).  False when a stack
 * could not grow or seen ran out of memory: then some handles were
 * missed. */
bool chl_walk_state(lua_State *W, chl_ptrmap *seen, chl_walk_fn fn, void *arg);

#endif
