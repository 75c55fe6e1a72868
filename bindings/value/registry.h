/*
 * registry.h - what may cross between states besides plain values, and the
 * numbers a message names it by: handle types, the bindings' light C
 * functions, and the standard library's C functions (the libmap).
 *
 * Invariant: the handle types and binding functions are registered at
 * startup, before any thread encodes or decodes, and read-only afterwards;
 * the libmap is built once per process, on its first use, and read-only
 * afterwards.  So an index means the same thing in every state of the
 * process, which is why a message can name these things by index
 * (format.h: HANDLE, BINDFN, LIBFN), and why reading them takes no lock.
 *
 * The registration functions are for the rest of the bindings.  The
 * tables and look-ups after them are for encode.c, decode.c and msg.c,
 * which meet them for every handle and C function a message carries: they
 * are read in place and the look-ups are inline, as when all of this was
 * one file.  Only registry.c writes the tables.
 */
#ifndef CHL_VALUE_REGISTRY_H
#define CHL_VALUE_REGISTRY_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <lua.h>

/* ---- registration (at startup) ---- */

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
	 * (decode has just retained it).  If it raises (out of memory) it
	 * must release that reference first. */
	void (*push)(lua_State *L, const chl_handle_type *t, void *obj);
};

/* Register a handle type (the struct must outlive every message; keep it
 * static).  At startup, before any thread uses transfer.  Registering the
 * same tname again replaces nothing and is ignored.  Up to 32 types: more
 * is a bug of the bindings and aborts. */
void chl_handle_type_register(const chl_handle_type *t);

/* Register a light C function of the bindings (no upvalues) so that it can
 * cross: it is pushed as itself in the destination.  `name` (static) is for
 * documentation only.  Same rules as chl_handle_type_register; up to 64. */
void chl_transfer_register_cfunction(const char *name, lua_CFunction f);

/* ---- the tables (registry.c's; read them, never write them) ---- */

extern const chl_handle_type *chl_handle_types[];  /* chl_nhandle_types of them */
extern int chl_nhandle_types;
extern lua_CFunction chl_bindfns[];                /* chl_nbindfns of them */
extern int chl_nbindfns;

/* The standard library map: every C function of the standard libraries,
 * as a fresh state with all of them open has them (user additions to
 * `string` etc. never count), sorted by address, one entry per function. */
typedef struct chl_libfn {
	lua_CFunction f;
	char lib[12];               /* package.loaded key: "_G", "string"... */
	char field[24];             /* key in that table */
	int order;                  /* for a stable sort: first name wins */
} chl_libfn;

extern chl_libfn chl_libmap[];                     /* chl_nlibmap of them */
extern int chl_nlibmap;
extern pthread_once_t chl_libmap_once;

/* Fills chl_libmap; only through pthread_once(&chl_libmap_once, ...). */
void chl_libmap_build(void);

/* ---- look-ups (any thread; none raises) ---- */

/* The index of the handle type named tname, or -1.  O(types). */
static inline int chl_handle_type_find(const char *tname)
{
	for (int i = 0; i < chl_nhandle_types; i++)
		if (strcmp(chl_handle_types[i]->tname, tname) == 0)
			return i;
	return -1;
}

/* The index of the registered binding function f, or -1.  O(functions). */
static inline int chl_bindfn_find(lua_CFunction f)
{
	for (int i = 0; i < chl_nbindfns; i++)
		if (chl_bindfns[i] == f)
			return i;
	return -1;
}

/* The index of f in the libmap, or -1.  Builds the libmap on first use;
 * O(log n). */
static inline int chl_libmap_find(lua_CFunction f)
{
	pthread_once(&chl_libmap_once, chl_libmap_build);
	int lo = 0, hi = chl_nlibmap - 1;
	uintptr_t key = (uintptr_t)f;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		uintptr_t m = (uintptr_t)chl_libmap[mid].f;
		if (m == key)
			return mid;
		if (m < key)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

#endif
