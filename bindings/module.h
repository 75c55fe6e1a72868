/*
 * module.h - the whole Lua API in one place: the list of its parts, and
 * the runtime started with them (the top of bindings/: it knows every
 * API file and the runtime's callbacks, and nothing below knows it).
 */
#ifndef CHL_MODULE_H
#define CHL_MODULE_H

#include "runtime/lrt.h"

/* Every part of the API (go, chan, sync ...), NULL-ended. */
extern const chl_lua_lib *const chl_module_libs[];

/* Fill in what the runtime needs from above (the API list, preemption,
 * the deadlock report), register the API for transfer, and start the
 * runtime (or return the one already started). */
chl_rt *chl_module_start(chl_rt_config *cfg);

/* Push one table holding every part of the API and `version`. */
void chl_module_push_api(lua_State *L);

/* Set every part of the API as a global of L. */
void chl_module_set_globals(lua_State *L);

/* require "chanlab" */
LUAMOD_API int luaopen_chanlab(lua_State *L);

#endif
