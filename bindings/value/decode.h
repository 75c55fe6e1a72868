/*
 * decode.h - pushing a message's values into a lua_State (what arrives
 * and how: transfer.h; the bytes: format.h).
 */
#ifndef CHL_VALUE_DECODE_H
#define CHL_VALUE_DECODE_H

#include <lua.h>

#include "value/msg.h"

/* Push the message's values into L, in order; returns how many.  The
 * message is not consumed (decode it again, or call chl_msg_free).  Raises
 * in L on memory errors and when a standard library function it carries is
 * missing from L's libraries ("cannot receive string.format: ..."). */
int chl_msg_decode(lua_State *L, const chl_msg *m);

#endif
