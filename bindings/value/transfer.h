/*
 * transfer.h - copying Lua values from one lua_State to another.
 *
 * Goroutines run in separate lua_States that share no memory.  Every value
 * that crosses (arguments of `go`, channel values, context values, errors,
 * causes) is encoded from the source state into a message - ONE malloc'd,
 * self-contained block - and decoded into the destination state later,
 * possibly on another thread.  A message refers to nothing in the source
 * state, so the source may run on, or be closed, meanwhile.
 *
 * What crosses (DESIGN.md "What crosses between states"):
 *   nil, booleans, integers, floats (bit-exact), strings   copied
 *   tables      deep-copied; cycles and repeated references kept (a table
 *               met twice decodes as one table met twice); metatables are
 *               NOT copied
 *   Lua functions   copied as bytecode (with debug info), upvalues copied by
 *               these same rules; upvalues shared between closures of one
 *               message stay shared
 *   the source's globals table (wherever it appears, typically as _ENV)
 *               becomes the destination's globals table
 *   standard library C functions (print, string.format, require...) are
 *               sent by name and looked up in the destination's libraries
 *               (package.loaded[lib][name], whatever the destination has there);
 *               light C functions registered with chl_transfer_register_cfunction
 *               cross as themselves
 *   handles (userdata of a type registered with chl_handle_type_register):
 *               shared, the message holding one reference to the C object
 *   anything else (coroutines, other userdata, light userdata, other C
 *               functions) cannot cross: encoding raises an error.
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
 *
 * Threads: a message may be decoded and freed on any thread.  Encoding and
 * decoding use only the given lua_State, plus registries (handle types,
 * C functions) that are filled at startup and read-only afterwards.
 */
#ifndef CHL_TRANSFER_H
#define CHL_TRANSFER_H

#include <stddef.h>
#include <lua.h>

/* Opaque: one contiguous allocation holding the encoded values and the
 * handle references the message owns. */
typedef struct chl_msg chl_msg;

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

/* Push the message's values into L, in order; returns how many.  The
 * message is not consumed (decode it again, or call chl_msg_free).  Raises
 * in L on memory errors and when a standard library function it carries is
 * missing from L's libraries ("cannot receive string.format: ..."). */
int chl_msg_decode(lua_State *L, const chl_msg *m);

/* Release the message's handle references and its memory.  NULL is fine. */
void chl_msg_free(chl_msg *m);

/* Bytes the message occupies (its one allocation). */
size_t chl_msg_size(const chl_msg *m);

/* Number of top-level values the message holds. */
int chl_msg_count(const chl_msg *m);

/* Handles: shared C objects (channels, waitgroups, contexts...), one type
 * per metatable name.  A userdata is a handle of type t when its metatable
 * is the registry's luaL_getmetatable(L, t->tname). */
typedef struct chl_handle_type chl_handle_type;
struct chl_handle_type {
	const char *tname;                    /* metatable name, e.g. "chanlab.chan" */
	/* The C object behind the userdata at idx (of this type); NULL: cannot cross. */
	void *(*get)(lua_State *L, int idx, const chl_handle_type *t);
	void (*retain)(void *obj);            /* +1 reference; any thread */
	void (*release)(void *obj);           /* -1 reference; any thread */
	/* Push a new userdata of this type for obj, taking over one reference
	 * (decode has just retained it).  Allocate the userdata before storing
	 * obj: if the allocation raises, that reference is lost. */
	void (*push)(lua_State *L, const chl_handle_type *t, void *obj);
};

/* Call fn for each handle reference the message owns (each object once,
 * with its type).  Reads only; cannot fail.  For the leak detector. */
void chl_msg_foreach_handle(const chl_msg *m,
	void (*fn)(const chl_handle_type *t, void *obj, void *arg), void *arg);

/* Register a handle type (the struct must outlive every message; keep it
 * static).  At startup, before any thread uses transfer.  Registering the
 * same tname again replaces nothing and is ignored.  Up to 32 types: more
 * is a bug of the bindings and aborts. */
void chl_handle_type_register(const chl_handle_type *t);

/* Register a light C function of the bindings (no upvalues) so that it can
 * cross: it is pushed as itself in the destination.  `name` (static) is for
 * documentation only.  Same rules as chl_handle_type_register; up to 64. */
void chl_transfer_register_cfunction(const char *name, lua_CFunction f);

#endif
