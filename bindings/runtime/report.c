/*
 * report.c - panics and deadlock dumps (report.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "hook.h"
#include "runtime/dump.h"
#include "runtime/limits.h"
#include "runtime/report.h"

static pthread_mutex_t exit_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- the end of the process ---- */

#define MAX_EXIT_FNS 4

static chl_rt_exit_fn exit_fns[MAX_EXIT_FNS];
static int nexit_fns;

void chl_rt_on_exit(chl_rt_exit_fn fn)
{
	if (nexit_fns < MAX_EXIT_FNS)
		exit_fns[nexit_fns++] = fn;
}

/* exit_mu held: it runs once. */
static void run_exit_fns(int status, const char *why)
{
	for (int i = 0; i < nexit_fns; i++)
		exit_fns[i](status, why);
}

_Noreturn void chl_rt_exit(int status)
{
	chl_limits_before_exit();   /* a limit passed meanwhile: its report */
	pthread_mutex_lock(&exit_mu);   /* never unlocked: we are leaving */
	run_exit_fns(status, NULL);
	fflush(stdout);
	fflush(stderr);
	_exit(status);
}

_Noreturn void chl_rt_exit_signal(int signo)
{
	sigset_t set;

	pthread_mutex_lock(&exit_mu);
	run_exit_fns(128 + signo, signo == SIGINT ? "SIGINT" : signo == SIGTERM ?
	             "SIGTERM" : "signal");
	fflush(stdout);
	fflush(stderr);
	signal(signo, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, signo);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(signo);
	_exit(128 + signo);
}

/* A value with a metatable: its __tostring, else the "(error object is
 * a ... value)" below. */
static int tostring_protected(lua_State *L)
{
	if (!luaL_getmetafield(L, 1, "__tostring"))
		return 0;
	lua_pop(L, 1);
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
	/* __tostring, looked up inside the pcall too: the look-up pushes
	 * its name, which may need memory this state no longer has */
	if (lua_getmetatable(L, -1)) {
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
	chl_dump_goroutine(stderr, id, "running", tb, created);
	fflush(stderr);
	if (CHL_HOOK_ON()) {
		chl_event ev = { 0 };

		ev.op = CHL_OP_PANIC;
		ev.g = id;
		ev.detail = msg;
		chl_hook_emit(&ev);
	}
	run_exit_fns(2, "panic");
	fflush(stderr);
	_exit(2);
}

_Noreturn void chl_rt_panic(lua_State *L, uint64_t id)
{
	char *tb = chl_dump_traceback(L);
	char *msg = error_text(L);

	panic_print(msg, tb, id, NULL);
}

_Noreturn void chl_rt_fatal(const char *msg, uint64_t id, lua_State *L,
                            const char *where, const char *created)
{
	char *tb = L ? chl_dump_traceback(L) : NULL;
	char line[LUA_IDSIZE + 32];

	pthread_mutex_lock(&exit_mu);
	fflush(stdout);
	fprintf(stderr, "fatal error: %s\n", msg);
	if (id) {
		if (!L)
			snprintf(line, sizeof line, "\t%s%s", where ? where : "(no Lua line seen yet)",
				 " (stuck in a C function or a __gc metamethod, or parked)");
		fputc('\n', stderr);
		chl_dump_goroutine(stderr, id, "running", L ? tb : line, created);
	}
	fflush(stderr);
	_exit(2);
}

void chl_goroutine_fail(lua_State *L, int status, uint64_t id, const char *created,
                        const chl_go_hooks *hooks)
{
	char *tb = chl_dump_traceback(L);   /* before the stack is unwound */
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
		char *tb = g->L ? chl_dump_traceback(g->L) : NULL;

		fputc('\n', stderr);
		chl_dump_goroutine(stderr, g->task.id, chl_dump_state(g, CHL_TASK_PARKED),
		                   tb, g->created);
		free(tb);
	}
	if (d.n > DUMP_MAX)
		fprintf(stderr, "\n... and %zu more goroutines\n", d.n - DUMP_MAX);
	fflush(stderr);
	run_exit_fns(2, "deadlock");
	fflush(stderr);
	_exit(2);
}

/* ---- SIGQUIT ---- */

/* How long the dump waits for running goroutines to yield. */
#define QUIT_STOP_NS (2 * (int64_t)1000 * 1000 * 1000)

_Noreturn void chl_report_quit(chl_sched *s)
{
	int stopped = chl_sched_stop_world(s, QUIT_STOP_NS);

	pthread_mutex_lock(&exit_mu);
	fflush(stdout);
	fputs("SIGQUIT: quit\n", stderr);
	if (stopped >= 0) {
		fputc('\n', stderr);
		chl_dump_all(stderr, s, NULL, NULL);
	}
	fflush(stderr);
	_exit(2);
}
