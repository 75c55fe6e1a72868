/*
 * visible.h - the end of a visible operation of a goroutine (core/hook.h):
 * every API function whose effect another goroutine can see ends with
 *
 *     return chl_lua_visible(L, &OP_SEND, c, 0);   // 0 results
 *
 * Off (no trace, no deterministic run) that is one predictable branch.
 * On, it reports the event (hook.h: with the script line and a preview
 * of the value) and, in a deterministic run, is a decision point: the
 * goroutine yields, so that the scheduler's strategy picks who runs next
 * (decide.h), and on resume the function returns its results as if it
 * had not stopped.  A goroutine that cannot yield there (a coroutine, a
 * non-yieldable C call) goes on; so does a plain thread.
 */
#ifndef CHL_VISIBLE_H
#define CHL_VISIBLE_H

#include <lua.h>

#include "chanlab.h"
#include "decide.h"
#include "hook.h"

/* What an API function does, for the event. */
typedef struct chl_lua_op {
	chl_op op;
	const char *what;          /* "chan send", "sync.Mutex.Lock" ... */
	int value;                 /* where the value to preview is: a stack
	                              index (> 0), -1 for the first result, or 0 */
} chl_lua_op;

int chl_lua_visible_slow(lua_State *L, const chl_lua_op *op, const void *obj,
                         int nres, int64_t aux, uint64_t flow);

/* Some sink or a deterministic run wants visible operations: then call
 * chl_lua_visible_slow (the one predictable branch when off). */
#define CHL_VISIBLE_ON() __builtin_expect(chl_hook_on | chl_det_on, 0)

/* Report op on obj, decide, and return nres (the results on top).  A
 * send or receive calls chl_lua_visible_slow itself, under
 * CHL_VISIBLE_ON(), with aux 1 when a value moved (recv: ok) and the
 * value's flow id (chl_lua_val.flow; 0: none). */
static inline int chl_lua_visible(lua_State *L, const chl_lua_op *op,
                                  const void *obj, int nres)
{
	if (CHL_VISIBLE_ON())
		return chl_lua_visible_slow(L, op, obj, nres, 0, 0);
	return nres;
}

/* The same with an op-specific number (select: the case that fired). */
static inline int chl_lua_visible_aux(lua_State *L, const chl_lua_op *op,
                                      const void *obj, int nres, int64_t aux)
{
	if (CHL_VISIBLE_ON())
		return chl_lua_visible_slow(L, op, obj, nres, aux, 0);
	return nres;
}


/* For an operation that goes on after its decision point (select runs the
 * chosen case): reports op (with the value's flow and preview, when
 * given) and, in a deterministic run, yields with continuation k(ctx) -
 * not returning; otherwise returns, and the caller goes on itself.  Call
 * only when chl_hook_on or chl_det_on. */
void chl_lua_visible_then(lua_State *L, const chl_lua_op *op, const void *obj,
                          int64_t aux, uint64_t flow, const char *detail,
                          lua_KContext ctx, lua_KFunction k);

/* A new flow id for a value about to travel (hook.h); only when
 * chl_hook_on.  Never 0. */
uint32_t chl_lua_flow_new(void);

/* A short text for the value at idx into buf: numbers, booleans, nil,
 * short strings quoted, "table(3 items)", a function as its name and
 * where it is defined ("worker (lab.lua:12)", the name found among the
 * caller's locals, upvalues and globals; "function" when none holds it),
 * type names otherwise. */
const char *chl_lua_preview(lua_State *L, int idx, char *buf, size_t size);

/* "file:line" of the Lua code calling the running C function, into buf;
 * NULL when there is none. */
const char *chl_lua_where(lua_State *L, char *buf, size_t size);

#endif
