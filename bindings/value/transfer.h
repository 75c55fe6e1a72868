/*
 * transfer.h - copying Lua values from one lua_State to another: the
 * header the rest of the bindings includes.
 *
 * Goroutines run in separate lua_States that share no memory.  Every value
 * that crosses (arguments of `go`, channel values, context values, errors,
 * causes) is encoded from the source state into a message - ONE malloc'd,
 * self-contained block - and decoded into the destination state later,
 * possibly on another thread.  A message refers to nothing in the source
 * state, so the source may run on, or be closed, meanwhile.
 *
 * What crosses (README.md, "The model", says it in short; the full rules
 * are these):
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
 * Threads: a message may be decoded and freed on any thread.  Encoding and
 * decoding use only the given lua_State, plus registries (handle types,
 * C functions) that are filled at startup and read-only afterwards.
 *
 * The files of bindings/value/, one concept each (as Lua's ldump.c and
 * lundump.c share only the format):
 *   registry.h/.c  handle types, binding C functions, the standard library
 *                  map: what a message names by index
 *   msg.h/.c       the message as its holder sees it: free, size, count
 *   encode.h/.c    values -> message, and encode's error messages
 *   decode.h/.c    message -> values
 *   format.h       the bytes, shared by encode.c, decode.c and msg.c only
 * Each .c file's exports are declared once, by its own header.  This one
 * declares nothing: it includes the four headers the rest of the bindings
 * may use (not format.h), so that a binding file needs one include and
 * chl_msg stays opaque outside bindings/value/.
 */
#ifndef CHL_TRANSFER_H
#define CHL_TRANSFER_H

#include "value/registry.h"
#include "value/msg.h"
#include "value/encode.h"
#include "value/decode.h"

#endif
