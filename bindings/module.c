/*
 * module.c - the one place that lists every part of the API, starts the
 * runtime with it, and luaopen_chanlab: `require "chanlab"` from any Lua
 * 5.4.
 *
 * require returns one table with the whole API and sets no globals.
 * Loaded into a stock lua5.4, the calling thread becomes an outside thread
 * of the runtime: it blocks through thread parkers (slower, but correct),
 * the goroutines it starts run on the scheduler, and deadlock detection is
 * off (the outside thread could always wake someone).  Inside `chanlab
 * run` the runtime exists already and the module is the same table.
 */
#include "module.h"
#include "api/latomic.h"
#include "api/lchan.h"
#include "api/lctx.h"
#include "api/lerrgroup.h"
#include "api/lgo.h"
#include "api/lruntime.h"
#include "api/lsem.h"
#include "api/lsignal.h"
#include "api/lsync.h"
#include "api/ltime.h"
#include "runtime/preempt.h"
#include "runtime/report.h"

const chl_lua_lib *const chl_module_libs[] = {
	&chl_lib_go,
	&chl_lib_chan,
	&chl_lib_sync,
	&chl_lib_atomic,
	&chl_lib_context,
	&chl_lib_errgroup,
	&chl_lib_semaphore,
	&chl_lib_time,
	&chl_lib_signal,
	&chl_lib_runtime,
	NULL
};

chl_rt *chl_module_start(chl_rt_config *cfg)
{
	cfg->libs = chl_module_libs;
	cfg->on_preempt = chl_preempt_goroutine;
	cfg->on_deadlock = chl_report_deadlock;
	chl_lua_libs_register(chl_module_libs);
	return chl_rt_start(cfg);
}

void chl_module_push_api(lua_State *L)
{
	lua_newtable(L);
	for (const chl_lua_lib *const *p = chl_module_libs; *p; p++) {
		(*p)->open(L);
		lua_setfield(L, -2, (*p)->name);
	}
	lua_pushliteral(L, CHANLAB_VERSION);
	lua_setfield(L, -2, "version");
}

void chl_module_set_globals(lua_State *L)
{
	for (const chl_lua_lib *const *p = chl_module_libs; *p; p++) {
		(*p)->open(L);
		lua_setglobal(L, (*p)->name);
	}
}

LUAMOD_API int luaopen_chanlab(lua_State *L)
{
	chl_rt *rt = chl_rt_current();

	if (!rt) {
		chl_rt_config cfg = { 0 };

		chl_rt_config_from_env(&cfg);
		rt = chl_module_start(&cfg);
		if (!rt)
			return luaL_error(L, "chanlab: cannot start the runtime (out of memory or threads)");
		if (!chl_sched_current())
			chl_sched_external_enter(chl_rt_sched(rt));
	}
	chl_module_push_api(L);
	return 1;
}
