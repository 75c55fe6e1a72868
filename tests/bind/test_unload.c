/*
 * test_unload.c - the module in a host that closes its Lua state: stock
 * lua5.4 (and any embedder) runs lua_close at exit, which dlcloses the C
 * libraries that `require` loaded, while the runtime's threads - workers,
 * the timer - still live.  The module must stay mapped (it is linked with
 * -z nodelete): here a goroutine sleeps across the close, so the timer
 * thread and a worker run module code after it; unmapped, that code
 * would fault.
 *
 * Then a new state loads it again and a goroutine answers through a
 * channel: the runtime left behind still works.
 *
 * The module is build/chanlab.so of the same build: next to the tests
 * folder this binary is in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lualib.h>

static char module_dir[4096];

/* luaL_openlibs, in protected mode: out of memory is then an error the
 * test reports, not a panic. */
static int open_libs(lua_State *L)
{
	luaL_openlibs(L);
	return 0;
}

/* A new state with the standard libraries that runs code (which must not
 * raise) with the module on package.cpath; returns the state. */
static lua_State *run_with_module(const char *code)
{
	lua_State *L = luaL_newstate();
	char chunk[8192];

	assert_non_null(L);
	lua_pushcfunction(L, open_libs);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK)
		fail_msg("luaL_openlibs: %s", lua_tostring(L, -1));
	snprintf(chunk, sizeof chunk, "package.cpath = '%s/?.so'\n%s", module_dir, code);
	if (luaL_dostring(L, chunk) != LUA_OK)
		fail_msg("%s", lua_tostring(L, -1));
	return L;
}

/* The global `answer`, looked up in protected mode (its name is a new
 * string: that allocates). */
static int get_answer(lua_State *L)
{
	lua_getglobal(L, "answer");
	return 1;
}

static void goroutines_outlive_the_state_that_loaded_the_module(void **state)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	lua_State *L;

	(void)state;
	L = run_with_module("local cl = require 'chanlab'\n"
			    "local started = cl.chan()\n"
			    "cl.go(function() started:send(true) cl.time.sleep(0.03) end)\n"
			    "assert(started:recv())\n");
	lua_close(L);                /* unloads the module's C library */
	nanosleep(&pause, NULL);     /* the sleeper wakes and finishes */
	L = run_with_module("local cl = require 'chanlab'\n"
			    "local c = cl.chan()\n"
			    "cl.go(function() c:send(6 * 7) end)\n"
			    "answer = c:recv()\n");
	lua_pushcfunction(L, get_answer);
	if (lua_pcall(L, 0, 1, 0) != LUA_OK)
		fail_msg("answer: %s", lua_tostring(L, -1));
	assert_int_equal(lua_tointeger(L, -1), 42);
	lua_close(L);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(goroutines_outlive_the_state_that_loaded_the_module),
	};
	const char *slash = strrchr(argv[0], '/');

	(void)argc;
	/* argv[0] is BUILD/tests/test_unload: the module is BUILD/chanlab.so */
	snprintf(module_dir, sizeof module_dir, "%.*s/..",
		 slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
