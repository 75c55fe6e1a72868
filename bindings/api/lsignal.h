/*
 * lsignal.h - the `signal` part of the Lua API (lsignal.c).
 */
#ifndef CHL_LSIGNAL_H
#define CHL_LSIGNAL_H

#include "runtime/lrt.h"

extern const chl_lua_lib chl_lib_signal;

#endif
