/*
 * limits.h - what a program may use, and its end when it uses more.
 *
 * Limits (each 0: none; `chanlab run --sandbox` sets defaults):
 *   mem            bytes the whole program holds: every goroutine's Lua
 *                  state (its allocator, alloc.h), channel buffers and the
 *                  messages values travel in (lval.h, go's arguments)
 *   goroutine_mem  bytes one goroutine's Lua state holds
 *   cpu            seconds of the process's CPU time (every worker thread)
 *   timeout        seconds of wall time since the runtime started
 *   goroutines     goroutines alive at once (the main one included)
 *   chan_buffer    a channel's buffer, in values (chan(n): n)
 *
 * A program that goes past one ends with a Go-style report on stderr,
 * after stdout is flushed, and exit status 2:
 *
 *     fatal error: goroutine 7 exceeded its memory limit (64 MiB)
 *
 *     goroutine 7 [running]:
 *             script.lua:12: in function <script.lua:10>
 *     created by go() at script.lua:20
 *
 * How each is enforced, and why the script cannot catch it:
 *  - Counted things (goroutines, a buffer, a message) are checked where
 *    they are made, in a C function of the API: the report is printed
 *    there and then (the goroutine is at a safe point).
 *  - Memory is refused by the allocator, which cannot report (Lua's
 *    state may be half-way through a change).  A refusal is first only
 *    that: Lua collects (its emergency collection) and asks again; the
 *    same request refused again is the violation.  The allocator records
 *    it and the request fails ("not enough memory"); the goroutine's
 *    state then reports at its next safe point: the error reaching the
 *    goroutine's top (gr_step), or - if a pcall caught it - the next
 *    count hook.
 *  - CPU and wall time are watched by a thread of their own, every
 *    10 ms; past a limit it asks for the end, and the count hook of a
 *    running goroutine reports it.
 *  - The count hook (every CHL_LIMITS_HOOK_COUNT instructions) is set on
 *    every goroutine's state when any limit is on; a coroutine inherits
 *    its creator's hook, so code inside coroutines is stopped too.  It
 *    also serves preemption (it polls, preempt.h).  pcall cannot catch a
 *    report: it ends the process.
 *  - When no goroutine reaches a safe point soon after an end was asked
 *    for (stuck in one C call such as a backtracking string.find, in a
 *    __gc metamethod where Lua runs no hooks, or parked after catching
 *    its "not enough memory"), the watchdog reports without a traceback,
 *    naming the goroutine and the line its hook saw last.
 * Without --sandbox a script can remove the hook (debug.sethook); the
 * watchdog still ends it.
 */
#ifndef CHL_LIMITS_H
#define CHL_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "chanlab.h"
#include "value/transfer.h"

struct goroutine;
struct chl_state_mem;

typedef struct chl_limits {
	size_t mem;                /* bytes, the whole program; 0: none */
	size_t goroutine_mem;      /* bytes, each goroutine's state; 0: none */
	double cpu;                /* seconds of process CPU time; 0: none */
	double timeout;            /* seconds of wall time; 0: none */
	int64_t goroutines;        /* alive at once; 0: none */
	int64_t chan_buffer;       /* a channel's buffer, in values; 0: none */
	bool sandbox;              /* the restricted standard library (sandbox.h) */
} chl_limits;

/* What --sandbox gives each limit left at 0: 256 MiB, 10 s CPU, 30 s
 * wall, 10,000 goroutines, 1,048,576 values a buffer. */
void chl_limits_sandbox_defaults(chl_limits *l);

/* Instructions between two calls of the limits' count hook. */
#define CHL_LIMITS_HOOK_COUNT 10000

/* Set the process's limits (from rt.c, once, before any goroutine) and
 * start the watchdog when a time limit is set.  l may be NULL. */
void chl_limits_start(const chl_limits *l, chl_sched *s);

/* The limits in force (all zero before start). */
const chl_limits *chl_limits_get(void);

/* True once any limit is on: goroutine states get the limits' hook. */
extern bool chl_limits_on;

/* ---- memory ---- */

/* The program-wide budget (mem): true and charged, or false (nothing
 * charged) when n more bytes would pass it.  Any thread; no-ops without
 * the limit.  charge_or_die reports the violation in L's goroutine. */
bool chl_limits_charge(size_t n);
void chl_limits_uncharge(size_t n);
void chl_limits_charge_or_die(lua_State *L, size_t n);

/* A message (transfer.h) made or freed outside a Lua state: charged to
 * the budget (charge_msg frees m and reports when it does not fit). */
void chl_limits_charge_msg(lua_State *L, chl_msg *m);
void chl_limits_uncharge_msg(const chl_msg *m);

/* The allocator's side (alloc.c): may the state of m grow from old to
 * nsize bytes for the block at ptr (NULL: a new block; otherwise it may
 * move, and is held twice meanwhile: the peak must fit)?  Charges the
 * budget with the growth when it may;
 * records a violation when the same request is refused twice in a row
 * (the second time is after Lua's emergency collection). */
bool chl_limits_admit(struct chl_state_mem *m, const void *ptr, size_t old, size_t nsize);

/* A new goroutine, before it is spawned: its allocator gets the
 * per-goroutine limit, and it gets what the watchdog reads of it.  False
 * when out of memory. */
bool chl_limits_init(struct goroutine *g);

/* ---- counted things, checked where they are made (report at once) ---- */

/* go(): one goroutine more. */
void chl_limits_check_spawn(lua_State *L, chl_sched *s);
/* chan(n): a buffer of n values. */
void chl_limits_check_buffer(lua_State *L, lua_Integer n);

/* ---- the end ---- */

/* A limit was passed where no report can be printed (the allocator, the
 * watchdog): remember it - the first one wins - for the next safe point.
 * culprit: the goroutine's id, or 0 for the program (CPU, time). */
enum { CHL_LIMIT_NONE, CHL_LIMIT_MEM, CHL_LIMIT_GOROUTINE_MEM, CHL_LIMIT_CPU,
       CHL_LIMIT_TIME, CHL_LIMIT_GOROUTINES, CHL_LIMIT_BUFFER };
void chl_limits_violate(int kind, uint64_t culprit);

/* Is an end pending that g's state should report now (g is its culprit,
 * or the program is)?  Cheap: one relaxed load when none is. */
bool chl_limits_pending(const struct goroutine *g);

/* Report the pending end with L's traceback (L: g's state or a coroutine
 * in it) and exit 2. */
_Noreturn void chl_limits_report(lua_State *L, const struct goroutine *g);

/* At the process's exit (chl_rt_exit): a pending end not yet reported
 * is reported now, instead of the exit. */
void chl_limits_before_exit(void);

/* ---- the hook and the watchdog's view of a goroutine ---- */

/* What the watchdog may read of a goroutine: whether it is inside a
 * step, the line its hook saw last.  Made by chl_limits_init when a limit
 * is on (goroutine.h holds a pointer), freed with it. */
typedef struct chl_limit_seen chl_limit_seen;

/* Set the limits' count hook on L (a goroutine's state); false (nothing
 * done) when no limit is on. */
bool chl_limits_watch(lua_State *L);

/* Note the line of the Lua function calling the C function running in L
 * (before a C call that may run long: the sandbox's pattern matching). */
void chl_limits_see(lua_State *L);

/* Around each step of a goroutine (goroutine.c): the watchdog reports a
 * goroutine stuck in one step as the running one. */
void chl_limits_step_begin(struct goroutine *g);
void chl_limits_step_end(struct goroutine *g);
void chl_limits_release(struct goroutine *g);

#endif
