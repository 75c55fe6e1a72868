/*
 * format.h - the byte format of a message, private to bindings/value/:
 * what encode.c writes, decode.c reads and msg.c frees.  The rest of the
 * bindings sees chl_msg as opaque (msg.h) and never includes this.
 *
 * A message is one malloc'd block:
 *
 *     struct chl_msg | payload (size bytes) | pad to 8 | handle records
 *
 * The payload is nvalues items, each a tag byte and what follows it.  Numbers
 * and lengths are in native byte order and width: a message never leaves
 * the process.  Objects that can be met twice (tables, Lua functions,
 * handles) are numbered 0, 1, 2... in the order their first item appears;
 * a later meeting is a REF to that number.
 *
 *   tag        name     follows
 *   0x00       NIL      -
 *   0x01       FALSE    -
 *   0x02       TRUE     -
 *   0x03       INT8     int8_t                  integers -128..127
 *   0x04       INT32    int32_t                 other integers that fit
 *   0x05       INT64    int64_t (lua_Integer)
 *   0x06       FLOAT    double (lua_Number), bit for bit (-0.0, nan, inf)
 *   0x07       STR      size_t len, len bytes   strings of 224 bytes or more
 *   0x08       TABLE    uint32_t narr, uint32_t npairs, then the array
 *                       section: items for t[1] .. t[narr] in order, where
 *                       a NIL is a hole (t[i] absent) and an NRUN stands
 *                       for as many slots as it counts; then npairs (key
 *                       item, value item)
 *   0x09       LFUNC    uint8_t nups, size_t len, len bytes of lua_dump
 *                       (not stripped), then nups upvalue slots: an item,
 *                       or an UPJOIN
 *   0x0A       UPJOIN   uint32_t function number, uint8_t upvalue number:
 *                       this upvalue is shared with that (earlier) function's
 *                       upvalue (only in an upvalue slot)
 *   0x0B       REF      uint32_t object number
 *   0x0C       GLOBALS  -  the receiving state's globals table
 *   0x0D       LIBFN    uint16_t index in the standard library map (libmap)
 *   0x0E       BINDFN   uint16_t index in the registered binding functions
 *   0x0F       HANDLE   uint8_t type index, void *object
 *   0x10       NRUN     uint32_t count (>= 4), then per block of up to 64
 *                       numbers: uint64_t bitmap (bit j set: number j of
 *                       the block is an integer), then the block's numbers,
 *                       8 bytes each (lua_Integer or lua_Number) - that
 *                       many slots of an array section (only there)
 *   0x11       FTABLE   a TABLE whose array section holds no table, function
 *                       or userdata: the receiver may build it on its stack
 *   0x12-0x1F  (unused)
 *   0x20-0xFF  SSTR     the string's (tag - 0x20) bytes: strings < 224 bytes
 *
 * The indices of LIBFN, BINDFN and HANDLE are those of the registries
 * (registry.h), which are the same in every state of the process.
 *
 * Handle references: the message owns one reference per handle object it
 * names (the first meeting of each userdata; REFs add none), taken when
 * encoding succeeds and dropped by chl_msg_free.  Decoding retains once more
 * for each new userdata, whose __gc drops it.
 */
#ifndef CHL_VALUE_FORMAT_H
#define CHL_VALUE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "value/msg.h"

enum {
	T_NIL, T_FALSE, T_TRUE, T_INT8, T_INT32, T_INT64, T_FLOAT, T_STR,
	T_TABLE, T_LFUNC, T_UPJOIN, T_REF, T_GLOBALS, T_LIBFN, T_BINDFN,
	T_HANDLE, T_NRUN, T_FTABLE,
	T_SSTR = 0x20
};
#define SSTR_MAX (0xFF - T_SSTR)    /* longest string stored as SSTR */

struct chl_msg {
	size_t size;                /* payload bytes, at data[0] */
	size_t hoff;                /* offset of the handle records in data */
	uint32_t nvalues;           /* top-level items */
	uint32_t nhandles;          /* handle records: references owned */
	uint32_t nobjs;             /* numbered objects */
	uint32_t backrefs;          /* REF + UPJOIN items; 0: decode keeps no object table */
	unsigned char data[];
};

/* A handle record, at data + hoff: one reference the message owns. */
typedef struct hrec {
	void *obj;
	uint32_t type;              /* index in the handle types (registry.h) */
} hrec;

#endif
