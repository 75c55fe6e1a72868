/*
 * preempt.h - making a goroutine that runs Lua code yield to others.
 *
 * The scheduler asks (SIGURG to the worker, scheduler config on_preempt);
 * the goroutine then yields at its next count hook.  A state made or
 * reused for a goroutine is given what that needs by chl_preempt_watch.
 */
#ifndef CHL_PREEMPT_H
#define CHL_PREEMPT_H

#include <lua.h>

#include "chanlab.h"

/* Give a goroutine's state what preemption needs (TSan builds: a polling
 * hook; others: nothing until the scheduler asks). */
void chl_preempt_watch(lua_State *L);

/* From a count hook, as its last action: yield the goroutine if the
 * scheduler asked and L is its own yieldable thread. */
void chl_preempt_poll(lua_State *L);

/* Signal context, on the worker running t (a goroutine): make it yield
 * soon.  The scheduler's on_preempt. */
void chl_preempt_goroutine(chl_task *t);

#endif
