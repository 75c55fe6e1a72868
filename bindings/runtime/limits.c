/*
 * limits.c - the limits and the end of a program past one (limits.h).
 *
 * The pending end is one word, kill_word: the kind of limit in the top
 * byte, the culprit goroutine's id (0: the program) below.  The first
 * violation wins (compare-and-swap from 0); whoever reports it - a safe
 * point of the culprit, the count hook of any goroutine for a program
 * limit, or the watchdog after GRACE - ends the process, and report.c's
 * exit lock lets one report through.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "lock.h"
#include "runtime/goroutine.h"
#include "runtime/limits.h"
#include "runtime/preempt.h"
#include "runtime/report.h"

struct chl_limit_seen {
	atomic_bool running;            /* inside a step */
	chl_lock mu;                    /* guards site */
	char site[LUA_IDSIZE + 16];     /* "file:line" the hook saw last, or "" */
	const void *src;                /* the hook's cache (the goroutine's */
	int line;                       /* thread only): what site says */
};

bool chl_limits_on;
static chl_limits lim;              /* set once, before any goroutine */
static chl_sched *lim_sched;
static atomic_size_t prog_used;     /* bytes charged to lim.mem */

#define KIND_SHIFT 56
#define CULPRIT_MASK ((UINT64_C(1) << KIND_SHIFT) - 1)
static atomic_uint_least64_t kill_word;
static atomic_int_least64_t kill_at;   /* monotonic ns of the violation */

#define MS INT64_C(1000000)
#define TICK_NS (10 * MS)           /* the watchdog looks this often */
static int64_t grace_ns = 100 * MS; /* a safe point may take this long */

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void chl_limits_sandbox_defaults(chl_limits *l)
{
	if (!l->mem)
		l->mem = (size_t)256 << 20;
	if (l->cpu <= 0)
		l->cpu = 10;
	if (l->timeout <= 0)
		l->timeout = 30;
	if (!l->goroutines)
		l->goroutines = 10000;
	if (!l->chan_buffer)
		l->chan_buffer = 1 << 20;
}

const chl_limits *chl_limits_get(void)
{
	return &lim;
}

/* ---- texts ---- */

/* "64 MiB", "1.5 GiB", "4096 bytes" */
static void size_text(char *buf, size_t n, size_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 3 && bytes % 1024 == 0) {
		v /= 1024;
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, n, "%zu bytes", bytes);
	else
		snprintf(buf, n, "%zu %s", bytes, unit[u]);
}

static void headline(char *buf, size_t n, int kind, uint64_t culprit)
{
	char v[48];

	switch (kind) {
	case CHL_LIMIT_GOROUTINE_MEM:
		size_text(v, sizeof v, lim.goroutine_mem);
		snprintf(buf, n, "goroutine %" PRIu64 " exceeded its memory limit (%s)", culprit, v);
		return;
	case CHL_LIMIT_MEM:
		size_text(v, sizeof v, lim.mem);
		snprintf(buf, n, "program exceeded its memory limit (%s)", v);
		return;
	case CHL_LIMIT_CPU:
		snprintf(buf, n, "program exceeded its CPU limit (%g s)", lim.cpu);
		return;
	case CHL_LIMIT_TIME:
		snprintf(buf, n, "program exceeded its time limit (%g s)", lim.timeout);
		return;
	case CHL_LIMIT_GOROUTINES:
		snprintf(buf, n, "program exceeded its goroutine limit (%" PRId64 ")", lim.goroutines);
		return;
	default:
		snprintf(buf, n, "program exceeded a limit");
	}
}

static uint64_t id_of(const goroutine *g)
{
	if (!g)
		return 1;              /* a plain thread's state: the main one */
	return g->task.id ? g->task.id : 1;   /* main, before its spawn */
}

/* ---- the end ---- */

void chl_limits_violate(int kind, uint64_t culprit)
{
	uint64_t none = 0;
	uint64_t w = (uint64_t)kind << KIND_SHIFT | (culprit & CULPRIT_MASK);

	if (atomic_compare_exchange_strong(&kill_word, &none, w))
		atomic_store(&kill_at, clock_ns(CLOCK_MONOTONIC));
}

bool chl_limits_pending(const goroutine *g)
{
	uint64_t w = atomic_load_explicit(&kill_word, memory_order_relaxed);
	uint64_t culprit;

	if (!w)
		return false;
	culprit = w & CULPRIT_MASK;
	return culprit == 0 || culprit == id_of(g);
}

_Noreturn void chl_limits_report(lua_State *L, const goroutine *g)
{
	uint64_t w = atomic_load(&kill_word);
	char msg[160];

	headline(msg, sizeof msg, (int)(w >> KIND_SHIFT), w & CULPRIT_MASK);
	chl_rt_fatal(msg, id_of(g), L, NULL, g ? g->created : NULL);
}

/* Report a violation found at a safe point of L (a C function of the
 * API): now, with L's traceback. */
static _Noreturn void die(lua_State *L, int kind, const char *msg)
{
	goroutine *g = chl_lua_goroutine(L);
	char buf[160];

	chl_limits_violate(kind, id_of(g));
	if (!msg) {
		headline(buf, sizeof buf, kind, id_of(g));
		msg = buf;
	}
	chl_rt_fatal(msg, id_of(g), L, NULL, g ? g->created : NULL);
}

/* ---- memory ---- */

bool chl_limits_charge(size_t n)
{
	size_t was;

	if (!lim.mem)
		return true;
	was = atomic_fetch_add_explicit(&prog_used, n, memory_order_relaxed);
	if (was + n > lim.mem) {
		atomic_fetch_sub_explicit(&prog_used, n, memory_order_relaxed);
		return false;
	}
	return true;
}

void chl_limits_uncharge(size_t n)
{
	if (lim.mem)
		atomic_fetch_sub_explicit(&prog_used, n, memory_order_relaxed);
}

void chl_limits_charge_or_die(lua_State *L, size_t n)
{
	if (!chl_limits_charge(n))
		die(L, CHL_LIMIT_MEM, NULL);
}

void chl_limits_charge_msg(lua_State *L, chl_msg *m)
{
	if (lim.mem && m && !chl_limits_charge(chl_msg_size(m))) {
		chl_msg_free(m);
		die(L, CHL_LIMIT_MEM, NULL);
	}
}

void chl_limits_uncharge_msg(const chl_msg *m)
{
	if (lim.mem && m)
		chl_limits_uncharge(chl_msg_size(m));
}

bool chl_limits_init(goroutine *g)
{
	if (!chl_limits_on)
		return true;
	g->mem.limit = lim.goroutine_mem;
	/* now, not at its first step: the watchdog reads it under the
	 * scheduler's task-list lock, which the spawn takes after this */
	g->seen = calloc(1, sizeof *g->seen);
	if (!g->seen)
		return false;
	chl_lock_init(&g->seen->mu);
	return true;
}

/* The allocator's refusal is not yet a violation: Lua's own allocation
 * functions collect (an emergency collection, which only frees) and ask
 * again for the same block.  Asked again and admitted: no harm done.
 * Anything else - refused again, another request, a safe point reached
 * with the refusal still noted (an auxiliary buffer or the state's
 * creation, which do not ask again) - and it is one. */
bool chl_limits_admit(chl_state_mem *m, const void *ptr, size_t old, size_t nsize)
{
	goroutine *g = (goroutine *)((char *)m - offsetof(goroutine, mem));
	bool again = m->refused_size == nsize && m->refused_ptr == ptr;
	/* a block that moves is held twice while it is copied */
	size_t peak = ptr ? nsize : nsize - old;
	int kind = 0;

	if (m->limit && m->used + peak > m->limit)
		kind = CHL_LIMIT_GOROUTINE_MEM;
	else if (!chl_limits_charge(peak))
		kind = CHL_LIMIT_MEM;
	else if (ptr)
		chl_limits_uncharge(old);   /* charged: the growth */
	if (!kind) {
		if (m->refused_size && !again)
			chl_limits_violate(m->refused_kind, id_of(g));
		m->refused_size = 0;
		return true;
	}
	if (m->refused_size)
		chl_limits_violate(kind, id_of(g));
	m->refused_ptr = ptr;
	m->refused_size = nsize;
	m->refused_kind = kind;
	return false;
}

/* At a safe point of g: a refusal still noted was final. */
static void refusal_final(goroutine *g)
{
	if (g->mem.refused_size)
		chl_limits_violate(g->mem.refused_kind, id_of(g));
}

/* ---- counted things ---- */

void chl_limits_check_spawn(lua_State *L, chl_sched *s)
{
	if (lim.goroutines && chl_sched_count(s) >= lim.goroutines)
		die(L, CHL_LIMIT_GOROUTINES, NULL);
}

void chl_limits_check_buffer(lua_State *L, lua_Integer n)
{
	char msg[160];

	if (!lim.chan_buffer || n <= lim.chan_buffer)
		return;
	snprintf(msg, sizeof msg, "chan(%lld) exceeds the channel buffer limit (%" PRId64 ")",
		 (long long)n, lim.chan_buffer);
	die(L, CHL_LIMIT_BUFFER, msg);
}

/* ---- the hook ---- */

/* Remember where g's code is (only when it moved: one copy, one lock). */
static void see(lua_State *L, lua_Debug *ar, chl_limit_seen *s)
{
	if (!s || !lua_getinfo(L, "Sl", ar))
		return;
	if (ar->source == s->src && ar->currentline == s->line)
		return;
	s->src = ar->source;
	s->line = ar->currentline;
	chl_lock_acquire(&s->mu);
	snprintf(s->site, sizeof s->site, "%s:%d", ar->short_src, ar->currentline);
	chl_lock_release(&s->mu);
}

void chl_limits_see(lua_State *L)
{
	goroutine *g = chl_lua_goroutine(L);
	lua_Debug ar;

	if (chl_limits_on && g && lua_getstack(L, 1, &ar))
		see(L, &ar, g->seen);
}

static void limits_hook(lua_State *L, lua_Debug *ar)
{
	goroutine *g = chl_lua_goroutine(L);

	if (!g)
		return;
	refusal_final(g);
	if (chl_limits_pending(g))
		chl_limits_report(L, g);
	see(L, ar, g->seen);
	chl_preempt_poll(L);   /* last: it may yield */
}

bool chl_limits_watch(lua_State *L)
{
	if (!chl_limits_on)
		return false;
	lua_sethook(L, limits_hook, LUA_MASKCOUNT, CHL_LIMITS_HOOK_COUNT);
	return true;
}

void chl_limits_step_begin(goroutine *g)
{
	if (g->seen)
		atomic_store_explicit(&g->seen->running, true, memory_order_relaxed);
}

void chl_limits_step_end(goroutine *g)
{
	if (!chl_limits_on)
		return;
	if (g->seen)
		atomic_store_explicit(&g->seen->running, false, memory_order_relaxed);
	refusal_final(g);
	if (chl_limits_pending(g))
		chl_limits_report(g->L, g);
}

void chl_limits_release(goroutine *g)
{
	free(g->seen);
	g->seen = NULL;
}

/* ---- the watchdog ---- */

/* What the watchdog found of the goroutine to name (under the task-list
 * lock: copied out). */
typedef struct found {
	uint64_t want;             /* this id, or 0: any goroutine in a step */
	uint64_t id;
	char site[LUA_IDSIZE + 16];
	const char *created;
} found;

static void find(chl_task *t, void *arg)
{
	found *f = arg;
	goroutine *g = t->ud;
	chl_limit_seen *s = g->seen;

	if (f->id)
		return;
	if (f->want ? t->id != f->want
		    : !s || !atomic_load_explicit(&s->running, memory_order_relaxed))
		return;
	f->id = t->id;
	f->created = g->created;
	if (s) {
		chl_lock_acquire(&s->mu);
		memcpy(f->site, s->site, sizeof f->site);
		chl_lock_release(&s->mu);
	}
}

/* No safe point came: report from here, naming the culprit (or a
 * goroutine in a step) and the line its hook saw last. */
static _Noreturn void report_stuck(uint64_t w)
{
	found f = { .want = w & CULPRIT_MASK };
	char msg[160];

	headline(msg, sizeof msg, (int)(w >> KIND_SHIFT), w & CULPRIT_MASK);
	if (lim_sched)
		chl_sched_foreach(lim_sched, find, &f);
	if (!f.id && f.want)
		f.id = f.want;
	chl_rt_fatal(msg, f.id, NULL, f.site[0] ? f.site : NULL, f.created);
}

static void *watchdog(void *arg)
{
	int64_t start = clock_ns(CLOCK_MONOTONIC);
	int64_t timeout = (int64_t)(lim.timeout * 1e9);
	int64_t cpu = (int64_t)(lim.cpu * 1e9);
	struct timespec tick = { 0, TICK_NS };

	(void)arg;
	for (;;) {
		uint64_t w;
		int64_t now;

		while (nanosleep(&tick, &tick) != 0 && errno == EINTR)
			;
		tick.tv_nsec = TICK_NS;
		now = clock_ns(CLOCK_MONOTONIC);
		w = atomic_load(&kill_word);
		if (w) {
			if (now - atomic_load(&kill_at) >= grace_ns)
				report_stuck(w);
		} else if (timeout > 0 && now - start >= timeout) {
			chl_limits_violate(CHL_LIMIT_TIME, 0);
		} else if (cpu > 0 && clock_ns(CLOCK_PROCESS_CPUTIME_ID) >= cpu) {
			chl_limits_violate(CHL_LIMIT_CPU, 0);
		}
	}
	return NULL;
}

/* A pending end that no safe point has reported yet, at the process's
 * exit (the main goroutine returned meanwhile): report it instead. */
static void report_at_exit(void)
{
	uint64_t w = atomic_load(&kill_word);

	if (w)
		report_stuck(w);
}

void chl_limits_before_exit(void)
{
	if (chl_limits_on)
		report_at_exit();
}

void chl_limits_start(const chl_limits *l, chl_sched *s)
{
	pthread_t t;
	pthread_attr_t attr;
	double shortest;

	if (!l)
		return;
	lim = *l;
	lim_sched = s;
	chl_limits_on = lim.mem || lim.goroutine_mem || lim.cpu > 0 || lim.timeout > 0 ||
		lim.goroutines || lim.chan_buffer || lim.sandbox;
	if (!chl_limits_on)
		return;
	/* a safe point may take 5 % of the shortest time limit, 20 to 100 ms */
	shortest = lim.cpu > 0 && (lim.timeout <= 0 || lim.cpu < lim.timeout) ? lim.cpu : lim.timeout;
	if (shortest > 0) {
		grace_ns = (int64_t)(shortest * 0.05e9);
		grace_ns = grace_ns < 20 * MS ? 20 * MS : grace_ns > 100 * MS ? 100 * MS : grace_ns;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&t, &attr, watchdog, NULL) != 0) {
		fputs("fatal error: cannot start the limits' watchdog\n", stderr);
		chl_rt_exit(2);
	}
	pthread_attr_destroy(&attr);
}
