/*
 * ltime.h - the `time` part of the Lua API (ltime.c).
 */
#ifndef CHL_LTIME_H
#define CHL_LTIME_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_time;

#endif
