/*
 * dump.h - goroutines printed in Go's format, the one formatter of every
 * dump: panics, the deadlock report, the leak report, Ctrl-\ (SIGQUIT)
 * and runtime.stack().
 *
 *     goroutine 8 [chan send]:
 *             [C]: in function 'chan.send'
 *             x.lua:3: in function <x.lua:2>
 *     created by go() at x.lua:2
 *
 * Reading another goroutine's state is safe only while it cannot run:
 * with the world stopped (sched.h), or every goroutine asleep (deadlock).
 */
#ifndef CHL_DUMP_H
#define CHL_DUMP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <lua.h>

#include "chanlab.h"
#include "runtime/goroutine.h"

/* Lua's traceback of L1 without its "stack traceback:" header, malloc'd
 * (NULL when there is no Lua frame or no memory).  Only reads L1. */
char *chl_dump_traceback(lua_State *L1);

/* Where L1 is: "file:line" of its innermost frame that has a line, into
 * buf; "?" when none.  Only reads L1.  Returns buf. */
char *chl_dump_line(lua_State *L1, char *buf, size_t size);

/* One goroutine: the header with its state in brackets, the traceback
 * (may be NULL), "created by go() at <created>" (not for goroutine 1,
 * nor when created is NULL or empty). */
void chl_dump_goroutine(FILE *f, uint64_t id, const char *state, const char *tb,
                        const char *created);

/* What a dump says g is doing: "runnable", "running", or what it waits on
 * ("chan receive", "sync.Mutex.Lock" ...).  With the world stopped. */
const char *chl_dump_state(const goroutine *g, chl_task_state st);

/* Every goroutine, by id, each after a blank line, with its state and
 * traceback; self (the caller's goroutine, or NULL) is "running" and read
 * through L, its running thread.  The world must be stopped (by the
 * caller); goroutines still running (a stop that timed out) are printed
 * without a traceback. */
void chl_dump_all(FILE *f, chl_sched *s, goroutine *self, lua_State *L);

#endif
