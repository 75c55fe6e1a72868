/*
 * encode.h - encoding Lua values of one lua_State into a message (what
 * crosses and how: transfer.h; the bytes: format.h).
 *
 * Error messages of encode:
 *   cannot <what> <type> (at <path>)
 *   cannot <what>: nesting deeper than 200 (at <path>)
 *   cannot <what>: stack overflow (at <path>)
 *   cannot <what>: not enough memory
 * `what` may hold one "%s" to say where the type goes: "pass %s to go" gives
 * "cannot pass thread to go (at ...)" and, for the other errors, "cannot
 * pass value to go: ...".
 * <type> is "thread", "light userdata", "C function", "userdata" or
 * "userdata <__name>".  <path> starts with the name of the top-level value
 * (see chl_msg_encode_as) followed by one segment per step:
 *   .name          the value under the string key `name` (an identifier)
 *   ["a b"]        the value under another string key (escaped, shortened)
 *   [3] [1.5] [true]   the value under a number or boolean key
 *   [<table>]      the value under a key that is a table (or function...)
 *   .<key>         the key itself (the key was what could not cross)
 *   .<upvalue co>  the upvalue `co` of a Lua function
 * e.g. "cannot send thread (at value.jobs[3].<upvalue co>)".
 */
#ifndef CHL_VALUE_ENCODE_H
#define CHL_VALUE_ENCODE_H

#include <lua.h>

#include "value/msg.h"

/* Deepest nesting of tables and functions that can be encoded. */
#define CHL_MSG_MAXDEPTH 200

/* Encode the n values at stack indices idx .. idx+n-1 of L (n >= 0; the
 * stack is left as it was).  Never returns NULL: on failure raises a Lua
 * error in L (formats above) and leaks nothing.  `what` names the operation
 * for messages: "send", "pass to go"...  The top-level values are named
 * "value" (n == 1) or "value #1", "value #2"... (n > 1).
 * Cost: a message of only nil/booleans/numbers/strings takes one malloc
 * and no Lua allocation. */
chl_msg *chl_msg_encode(lua_State *L, int idx, int n, const char *what);

/* Same, naming top-level value k (0-based) "<label> #<first + k>" in error
 * paths, e.g. label "argument", first 2 for go's arguments after fn:
 * "cannot pass thread to go (at argument #3.jobs[1])".  label NULL: as
 * chl_msg_encode. */
chl_msg *chl_msg_encode_as(lua_State *L, int idx, int n, const char *what,
			   const char *label, int first);

#endif
