/*
 * rt.h - the runtime: one per process, the scheduler the goroutines run
 * on and the settings they all read.
 *
 * Why one per process: a goroutine's state and the main state of a stock
 * lua5.4 both need to find it, and only the process is common to them.
 * It is made once (chl_rt_start) and lives until the process exits.
 *
 * The runtime knows nothing of the layers above it: the API modules it
 * offers as globals and what the scheduler calls back (preemption, the
 * deadlock report) come in through chl_rt_config, filled by the caller
 * (bindings/module.c).
 */
#ifndef CHL_RT_H
#define CHL_RT_H

#include <stdbool.h>
#include <lua.h>

#include "chanlab.h"
#include "decide.h"

typedef struct chl_rt chl_rt;
typedef struct chl_lua_lib chl_lua_lib;      /* runtime/lib.h */
typedef struct chl_limits chl_limits;        /* runtime/limits.h */

typedef struct chl_rt_config {
	int procs;                 /* <= 0: number of CPUs */
	bool detect_deadlock;      /* the interpreter: yes; a stock lua5.4: no */
	bool preempt;              /* CHANLAB_PREEMPT=0 turns it off */
	const char *script_dir;    /* prepended to package.path in goroutines */
	/* The API, NULL-ended: each lib is a global of every goroutine,
	 * made on first use (lazyenv.h). */
	const chl_lua_lib *const *libs;
	/* Signal context, on the worker running t: make it yield soon. */
	void (*on_preempt)(chl_task *t);
	/* Every goroutine is asleep: report and end the process. */
	void (*on_deadlock)(chl_sched *s, void *ud);
	/* A deterministic run (core/decide.h): one worker, every choice by
	 * this strategy, a virtual clock; NULL for a normal run. */
	const chl_decide_config *det;
	/* Limits and the sandbox (limits.h); NULL: none. */
	const chl_limits *limits;
} chl_rt_config;

/* Where a deterministic run's virtual clock starts (ns): 1 s, so that no
 * deadline computed from it is 0, which some APIs read as "none". */
#define CHL_VIRTUAL_EPOCH INT64_C(1000000000)

/* Settings from the environment (CHANLAB_PROCS, CHANLAB_PREEMPT). */
void chl_rt_config_from_env(chl_rt_config *cfg);

/* Start the process's runtime once (later calls return the same one and
 * ignore cfg).  NULL when out of memory. */
chl_rt *chl_rt_start(const chl_rt_config *cfg);
chl_rt *chl_rt_current(void);              /* NULL before start */
chl_rt *chl_lua_rt(lua_State *L);           /* raises if not started */

chl_sched *chl_rt_sched(chl_rt *rt);
const char *chl_rt_script_dir(chl_rt *rt);
const chl_lua_lib *const *chl_rt_libs(chl_rt *rt);

#endif
