/*
 * lruntime.h - the `runtime` part of the Lua API (lruntime.c).
 */
#ifndef CHL_LRUNTIME_H
#define CHL_LRUNTIME_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_runtime;

#endif
