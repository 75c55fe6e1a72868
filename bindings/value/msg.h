/*
 * msg.h - a message: the one malloc'd block that carries encoded Lua
 * values from one lua_State to another.  encode.h makes it, decode.h
 * pushes its values; here is what whoever holds it needs.  Its layout is
 * private to bindings/value/ (format.h).
 *
 * Threads: a message refers to nothing in the state it came from; it may
 * be measured, decoded and freed on any thread.
 */
#ifndef CHL_VALUE_MSG_H
#define CHL_VALUE_MSG_H

#include <stddef.h>

/* Opaque: one contiguous allocation holding the encoded values and the
 * handle references the message owns. */
typedef struct chl_msg chl_msg;

/* Release the message's handle references and its memory.  NULL is fine. */
void chl_msg_free(chl_msg *m);

/* Bytes the message occupies (its one allocation). */
size_t chl_msg_size(const chl_msg *m);

/* Number of top-level values the message holds. */
int chl_msg_count(const chl_msg *m);

#endif
