/*
 * latomic.h - the `atomic` part of the Lua API (latomic.c).
 */
#ifndef CHL_LATOMIC_H
#define CHL_LATOMIC_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_atomic;

#endif
