/*
 * lerrgroup.h - the `errgroup` part of the Lua API (lerrgroup.c).
 */
#ifndef CHL_LERRGROUP_H
#define CHL_LERRGROUP_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_errgroup;

#endif
