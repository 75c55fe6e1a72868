/*
 * lgo.h - the `go` part of the Lua API (lgo.c).
 */
#ifndef CHL_LGO_H
#define CHL_LGO_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_go;

#endif
