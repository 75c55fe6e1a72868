/*
 * report.c - panics and deadlock dumps (report.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "runtime/limits.h"
#include "runtime/report.h"

static pthread_mutex_t exit_mu = PTHREAD_MUTEX_INITIALIZER;

_Noreturn void chl_rt_exit(int status)
{
	chl_limits_before_exit();   /* a limit passed meanwhile: its report */
	pthread_mutex_lock(&exit_mu);   /* never unlocked: we are leaving */
	fflush(stdout);
	fflush(stderr);
	_exit(status);
}

/* Lua's traceback of L1 without its "stack traceback:" header, as a
 * malloc'd string (NULL when there is no Lua frame). */
static int traceback_in(lua_State *T)
{
	luaL_traceback(T, lua_touserdata(T, 1), NULL, 0);
	return 1;
}

static char *traceback_of(lua_State *L1)
{
	lua_State *T = luaL_newstate();
	const char *tb, *nl;
	char *out = NULL;

	if (!T)
		return NULL;
	lua_pushcfunction(T, traceback_in);   /* protected: T may run out of memory */
	lua_pushlightuserdata(T, L1);
	if (lua_pcall(T, 1, 1, 0) == LUA_OK) {
		tb = lua_tostring(T, -1);
		nl = tb ? strchr(tb, '\n') : NULL;
		if (nl)
			out = strdup(nl + 1);
	}
	lua_close(T);
	return out;
}

static void print_goroutine(uint64_t id, const char *state, const char *tb,
                            const char *created)
{
	fprintf(stderr, "goroutine %llu [%s]:\n", (unsigned long long)id, state);
	if (tb && *tb)
		fprintf(stderr, "%s\n", tb);
	if (created && *created && id != 1)
		fprintf(stderr, "created by go() at %s\n", created);
}

static int tostring_protected(lua_State *L)
{
	luaL_tolstring(L, 1, NULL);
	return 1;
}

/* The error on top of L as text: strings and numbers as they are, others
 * through __tostring when they have one. */
static char *error_text(lua_State *L)
{
	static char other[80];      /* one report gets through: used once */
	const char *s;
	char *out;

	/* a string as it is; nothing here may raise (no pcall around it) */
	if (lua_type(L, -1) == LUA_TSTRING) {
		s = lua_tostring(L, -1);
		return (out = strdup(s)) ? out : (char *)s;
	}
	if (lua_type(L, -1) == LUA_TNUMBER) {
		if (lua_isinteger(L, -1))
			snprintf(other, sizeof other, LUA_INTEGER_FMT, lua_tointeger(L, -1));
		else
			snprintf(other, sizeof other, LUA_NUMBER_FMT, lua_tonumber(L, -1));
		return other;
	}
	if (luaL_getmetafield(L, -1, "__tostring") != LUA_TNIL) {
		lua_pop(L, 1);
		lua_pushcfunction(L, tostring_protected);
		lua_pushvalue(L, -2);
		if (lua_pcall(L, 1, 1, 0) == LUA_OK && (s = lua_tostring(L, -1)))
			return (out = strdup(s)) ? out : (char *)s;   /* s stays on the stack */
		lua_pop(L, 1);
	}
	snprintf(other, sizeof other, "(error object is a %s value)", luaL_typename(L, -1));
	return other;
}

static _Noreturn void panic_print(const char *msg, const char *tb, uint64_t id,
                                  const char *created)
{
	pthread_mutex_lock(&exit_mu);
	fflush(stdout);
	fprintf(stderr, "panic: %s\n\n", msg ? msg : "?");
	print_goroutine(id, "running", tb, created);
	fflush(stderr);
	_exit(2);
}

_Noreturn void chl_rt_panic(lua_State *L, uint64_t id)
{
	char *tb = traceback_of(L);
	char *msg = error_text(L);

	panic_print(msg, tb, id, NULL);
}

_Noreturn void chl_rt_fatal(const char *msg, uint64_t id, lua_State *L,
                            const char *where, const char *created)
{
	char *tb = L ? traceback_of(L) : NULL;
	char line[LUA_IDSIZE + 32];

	pthread_mutex_lock(&exit_mu);
	fflush(stdout);
	fprintf(stderr, "fatal error: %s\n", msg);
	if (id) {
		if (!L)
			snprintf(line, sizeof line, "\t%s%s", where ? where : "(no Lua line seen yet)",
				 " (stuck in a C function or a __gc metamethod, or parked)");
		fputc('\n', stderr);
		print_goroutine(id, "running", L ? tb : line, created);
	}
	fflush(stderr);
	_exit(2);
}

void chl_goroutine_fail(lua_State *L, int status, uint64_t id, const char *created,
                        const chl_go_hooks *hooks)
{
	char *tb = traceback_of(L);   /* before the stack is unwound */
	char *msg;

	lua_resetthread(L);           /* error object stays on top */
	if (hooks->finish && hooks->finish(L, status, 0, hooks->arg)) {
		free(tb);
		return;
	}
	msg = error_text(L);
	panic_print(msg, tb, id, created);
}

/* ---- deadlock ---- */

typedef struct dump {
	goroutine **gs;
	size_t n, cap;
} dump;

static void collect(chl_task *t, void *arg)
{
	dump *d = arg;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		goroutine **gs = realloc(d->gs, cap * sizeof *gs);
		if (!gs)
			return;
		d->gs = gs;
		d->cap = cap;
	}
	d->gs[d->n++] = (goroutine *)t;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = (*(goroutine *const *)a)->task.id;
	uint64_t y = (*(goroutine *const *)b)->task.id;

	return (x > y) - (x < y);
}

/* At most this many goroutines are dumped in full; a program with 100,000
 * goroutines asleep wants the first ones and a count, not 100,000 stacks. */
#define DUMP_MAX 100

_Noreturn void chl_report_deadlock(chl_sched *s, void *ud)
{
	dump d = { NULL, 0, 0 };
	size_t i;

	(void)ud;
	pthread_mutex_lock(&exit_mu);
	fflush(stdout);
	chl_sched_foreach(s, collect, &d);
	qsort(d.gs, d.n, sizeof *d.gs, by_id);
	fputs("fatal error: all goroutines are asleep - deadlock!\n", stderr);
	for (i = 0; i < d.n && i < DUMP_MAX; i++) {
		goroutine *g = d.gs[i];
		const char *why = g->block_reason ? g->block_reason : g->task.parker.reason;
		char *tb = g->L ? traceback_of(g->L) : NULL;

		fputc('\n', stderr);
		print_goroutine(g->task.id, why ? why : "waiting", tb, g->created);
		free(tb);
	}
	if (d.n > DUMP_MAX)
		fprintf(stderr, "\n... and %zu more goroutines\n", d.n - DUMP_MAX);
	fflush(stderr);
	_exit(2);
}
