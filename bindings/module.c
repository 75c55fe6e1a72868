/*
 * module.c - luaopen_chanlab: `require "chanlab"` from any Lua 5.4.
 *
 * Returns one table with the whole API and sets no globals.  Loaded into
 * a stock lua5.4, the calling thread becomes an outside thread of the
 * runtime: it blocks through thread parkers (slower, but correct), the
 * goroutines it starts run on the scheduler, and deadlock detection is off
 * (the outside thread could always wake someone).  Inside `chanlab run`
 * the runtime exists already and the module is the same table.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/goroutine.h"

/* Settings from the environment, shared with the interpreter. */
void chl_rt_config_from_env(chl_rt_config *cfg)
{
	const char *procs = getenv("CHANLAB_PROCS");
	const char *preempt = getenv("CHANLAB_PREEMPT");

	if (procs && *procs)
		cfg->procs = atoi(procs);
	cfg->preempt = !(preempt && strcmp(preempt, "0") == 0);
}

/* Push a table holding every part of the API. */
void chl_lua_push_api(lua_State *L)
{
	const luaL_Reg *p;

	lua_newtable(L);
	for (p = chl_lazyenv_api(); p->name; p++) {
		p->func(L);
		lua_setfield(L, -2, p->name);
	}
	lua_pushliteral(L, CHANLAB_VERSION);
	lua_setfield(L, -2, "version");
}

LUAMOD_API int luaopen_chanlab(lua_State *L);

LUAMOD_API int luaopen_chanlab(lua_State *L)
{
	chl_rt *rt = chl_rt_current();

	if (!rt) {
		chl_rt_config cfg = { 0 };

		chl_rt_config_from_env(&cfg);
		rt = chl_rt_start(&cfg);
		if (!rt)
			return luaL_error(L, "chanlab: cannot start the runtime");
		if (!chl_sched_current())
			chl_sched_external_enter(chl_rt_sched(rt));
	}
	chl_lua_push_api(L);
	return 1;
}
