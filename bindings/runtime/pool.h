/*
 * pool.h - finished goroutines' states, kept for the next goroutines.
 *
 * Making a state costs more than the rest of a short goroutine's life, so
 * a finished goroutine's state, if it ended cleanly, goes to a small pool
 * of its worker and the next goroutine started there reuses it: stack
 * emptied, its garbage collected (finalizers run now, as lua_close would
 * run them), fresh globals (lazyenv.h).  What survives is what every
 * goroutine would build the same way: interned strings and the handle
 * types' metatables.  Per worker thread, so no lock; a state only moves
 * between threads inside a goroutine, with the scheduler's ordering.
 */
#ifndef CHL_POOL_H
#define CHL_POOL_H

#include <lua.h>

#include "runtime/alloc.h"

/* Keep L (whose allocator ud is m) for reuse, or close it when the pool
 * is full or L did not end cleanly.  m's counts go with L. */
void chl_state_pool_put(lua_State *L, chl_state_mem *m);

/* A kept state, now allocating through m (which gets its counts), or
 * NULL when this thread has none. */
lua_State *chl_state_pool_get(chl_state_mem *m);

#endif
