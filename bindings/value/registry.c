/*
 * registry.c - the handle types, the bindings' C functions and the
 * standard library map that messages name by index (registry.h, which
 * holds the look-ups: inline, for the encoder and the decoder).
 *
 * The first two are fixed-size arrays filled by the registration calls at
 * startup and only read afterwards, so reading them takes no lock.  The
 * libmap is built under pthread_once on its first use, from any thread.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "check.h"
#include "value/registry.h"

/* ---- handle types and binding functions ---- */

#define MAX_HTYPES 32
#define MAX_BINDFN 64
const chl_handle_type *chl_handle_types[MAX_HTYPES];
int chl_nhandle_types;
lua_CFunction chl_bindfns[MAX_BINDFN];
int chl_nbindfns;

void chl_handle_type_register(const chl_handle_type *t)
{
	if (chl_handle_type_find(t->tname) >= 0)
		return;
	chl_assert(chl_nhandle_types < MAX_HTYPES);
	chl_handle_types[chl_nhandle_types++] = t;
}

void chl_transfer_register_cfunction(const char *name, lua_CFunction f)
{
	(void)name;
	if (chl_bindfn_find(f) >= 0)
		return;
	chl_assert(chl_nbindfns < MAX_BINDFN);
	chl_bindfns[chl_nbindfns++] = f;
}

/* ---- the standard library map: C function pointer -> library name ----
 *
 * Built once per process from a fresh state with every standard library
 * open, so user additions to `string` etc. never count as "standard".  The
 * same C function has the same address in every state of the process; the
 * receiver looks the name up in its own package.loaded and takes whatever
 * is there: `require`, a C closure, becomes the receiver's own `require`,
 * and a `print` the receiver's runtime replaced is the replacement. */

#define MAX_LIBFN 512
chl_libfn chl_libmap[MAX_LIBFN];
int chl_nlibmap;
pthread_once_t chl_libmap_once = PTHREAD_ONCE_INIT;

static const char *const stdlibs[] = {
	"_G", "package", "coroutine", "table", "io", "os", "string", "math",
	"utf8", "debug",
};

static int libfn_cmp(const void *a, const void *b)
{
	const chl_libfn *x = a, *y = b;
	uintptr_t fx = (uintptr_t)x->f, fy = (uintptr_t)y->f;
	if (fx != fy)
		return fx < fy ? -1 : 1;
	return x->order - y->order;
}

/* Runs protected in the scratch state: fills chl_libmap (unsorted). */
static int libmap_walk(lua_State *L)
{
	luaL_openlibs(L);
	lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	for (size_t i = 0; i < sizeof stdlibs / sizeof stdlibs[0]; i++) {
		if (lua_getfield(L, 1, stdlibs[i]) != LUA_TTABLE) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			size_t len;
			if (lua_type(L, -2) == LUA_TSTRING && lua_iscfunction(L, -1)
			    && chl_nlibmap < MAX_LIBFN) {
				const char *k = lua_tolstring(L, -2, &len);
				chl_libfn *e = &chl_libmap[chl_nlibmap];
				if (len < sizeof e->field) {
					e->f = lua_tocfunction(L, -1);
					snprintf(e->lib, sizeof e->lib, "%s", stdlibs[i]);
					memcpy(e->field, k, len + 1);
					e->order = chl_nlibmap++;
				}
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	return 0;
}

void chl_libmap_build(void)
{
	lua_State *L = luaL_newstate();
	if (L == NULL)
		return;                 /* then no C function can cross */
	lua_pushcfunction(L, libmap_walk);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK)
		chl_nlibmap = 0;
	lua_close(L);
	qsort(chl_libmap, (size_t)chl_nlibmap, sizeof chl_libmap[0], libfn_cmp);
	int n = 0;
	for (int i = 0; i < chl_nlibmap; i++)
		if (n == 0 || chl_libmap[n - 1].f != chl_libmap[i].f)
			chl_libmap[n++] = chl_libmap[i];
	chl_nlibmap = n;
}
