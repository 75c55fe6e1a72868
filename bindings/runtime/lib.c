/*
 * lib.c - registering the API's parts once per process (lib.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "runtime/lib.h"

static pthread_mutex_t register_mu = PTHREAD_MUTEX_INITIALIZER;
static bool registered;           /* register_mu */

static void register_funcs(const luaL_Reg *r)
{
	for (; r && r->name; r++)
		chl_transfer_register_cfunction(r->name, r->func);
}

void chl_lua_libs_register(const chl_lua_lib *const *libs)
{
	pthread_mutex_lock(&register_mu);
	if (!registered) {
		for (; *libs; libs++) {
			const chl_lua_lib *lib = *libs;

			for (chl_lua_type *const *t = lib->types; t && *t; t++)
				chl_lua_type_register(*t);
			register_funcs(lib->funcs);
			register_funcs(lib->more_funcs);
		}
		registered = true;
	}
	pthread_mutex_unlock(&register_mu);
}

const chl_lua_lib *chl_lua_lib_find(const chl_lua_lib *const *libs, const char *name)
{
	for (; libs && *libs; libs++)
		if (strcmp((*libs)->name, name) == 0)
			return *libs;
	return NULL;
}
