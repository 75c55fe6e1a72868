/*
 * dump.c - goroutines printed in Go's format (dump.h).
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "runtime/dump.h"

static int traceback_in(lua_State *T)
{
	luaL_traceback(T, lua_touserdata(T, 1), NULL, 0);
	return 1;
}

char *chl_dump_traceback(lua_State *L1)
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

char *chl_dump_line(lua_State *L1, char *buf, size_t size)
{
	lua_Debug ar;

	snprintf(buf, size, "?");
	for (int level = 0; lua_getstack(L1, level, &ar); level++) {
		if (lua_getinfo(L1, "Sl", &ar) && ar.currentline > 0) {
			snprintf(buf, size, "%s:%d", ar.short_src, ar.currentline);
			break;
		}
	}
	return buf;
}

void chl_dump_goroutine(FILE *f, uint64_t id, const char *state, const char *tb,
                        const char *created)
{
	fprintf(f, "goroutine %llu [%s]:\n", (unsigned long long)id, state);
	if (tb && *tb)
		fprintf(f, "%s\n", tb);
	if (created && *created && id != 1)
		fprintf(f, "created by go() at %s\n", created);
}

const char *chl_dump_state(const goroutine *g, chl_task_state st)
{
	const char *why = g->block_reason ? g->block_reason : g->task.parker.reason;

	switch (st) {
	case CHL_TASK_RUNNABLE:
		return "runnable";
	case CHL_TASK_RUNNING:
		return "running";
	default:
		return why ? why : "waiting";
	}
}

typedef struct glist {
	goroutine **v;
	size_t n, cap;
} glist;

static void collect(chl_task *t, void *arg)
{
	glist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		goroutine **v = realloc(l->v, cap * sizeof *v);

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (goroutine *)t;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = (*(goroutine *const *)a)->task.id;
	uint64_t y = (*(goroutine *const *)b)->task.id;

	return (x > y) - (x < y);
}

void chl_dump_all(FILE *f, chl_sched *s, goroutine *self, lua_State *L)
{
	glist l = { NULL, 0, 0 };

	chl_sched_foreach(s, collect, &l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof *l.v, by_id);
	for (size_t i = 0; i < l.n; i++) {
		goroutine *g = l.v[i];
		chl_task_state st = g == self ? CHL_TASK_RUNNING : chl_sched_task_state(&g->task);
		lua_State *from = g == self ? L : st == CHL_TASK_RUNNING ? NULL : g->L;
		char *tb = from ? chl_dump_traceback(from) : NULL;

		if (i > 0)
			fputc('\n', f);
		chl_dump_goroutine(f, g->task.id, chl_dump_state(g, st), tb, g->created);
		free(tb);
	}
	free(l.v);
}
