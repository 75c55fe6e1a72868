/*
 * lsync.h - the `sync` part of the Lua API (lsync.c).
 */
#ifndef CHL_LSYNC_H
#define CHL_LSYNC_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_sync;

#endif
