/*
 * lsem.h - the `semaphore` part of the Lua API (lsem.c).
 */
#ifndef CHL_LSEM_H
#define CHL_LSEM_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_semaphore;

#endif
