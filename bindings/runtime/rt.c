/*
 * rt.c - the runtime singleton (rt.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "runtime/limits.h"
#include "runtime/rt.h"
#include "runtime/sandbox.h"

struct chl_rt {
	chl_sched *sched;
	chl_rt_config cfg;         /* as started; script_dir owned (strdup) */
};

static pthread_mutex_t rt_mu = PTHREAD_MUTEX_INITIALIZER;
static chl_rt *_Atomic the_rt;

void chl_rt_config_from_env(chl_rt_config *cfg)
{
	const char *procs = getenv("CHANLAB_PROCS");
	const char *preempt = getenv("CHANLAB_PREEMPT");

	if (procs && *procs)
		cfg->procs = atoi(procs);
	cfg->preempt = !(preempt && strcmp(preempt, "0") == 0);
}

/* The scheduler's preemption callback, in signal context. */
static void rt_preempt(chl_task *t, void *ud)
{
	chl_rt *rt = ud;

	if (t)
		rt->cfg.on_preempt(t);
}

static chl_rt *rt_new(const chl_rt_config *cfg)
{
	chl_sched_config sc = { 0 };
	chl_rt *rt = calloc(1, sizeof *rt);

	if (!rt)
		return NULL;
	rt->cfg = *cfg;
	rt->cfg.script_dir = cfg->script_dir ? strdup(cfg->script_dir) : NULL;
	if (cfg->script_dir && !rt->cfg.script_dir) {
		free(rt);
		return NULL;
	}
	if (cfg->det) {
		/* before the scheduler's threads exist: they read both */
		chl_decide_init(cfg->det);
		chl_clock_virtual(CHL_VIRTUAL_EPOCH);
		rt->cfg.det = NULL;    /* the caller's; decide.c kept a copy */
	}
	sc.procs = cfg->procs;
	sc.detect_deadlock = cfg->detect_deadlock;
	sc.on_deadlock = cfg->on_deadlock;
	sc.on_preempt = cfg->preempt && cfg->on_preempt && !cfg->det ? rt_preempt : NULL;
	sc.ud = rt;
	rt->sched = chl_sched_new(&sc);
	if (!rt->sched) {
		free((char *)rt->cfg.script_dir);
		free(rt);
		return NULL;
	}
	if (cfg->limits && cfg->limits->sandbox)
		chl_sandbox_register();
	chl_limits_start(cfg->limits, rt->sched);   /* before any goroutine */
	rt->cfg.limits = NULL;     /* the caller's; limits.c kept a copy */
	return rt;
}

chl_rt *chl_rt_start(const chl_rt_config *cfg)
{
	chl_rt *rt;

	pthread_mutex_lock(&rt_mu);
	rt = the_rt;
	if (!rt)
		the_rt = rt = rt_new(cfg);
	pthread_mutex_unlock(&rt_mu);
	return rt;
}

chl_rt *chl_rt_current(void)
{
	return the_rt;
}

chl_rt *chl_lua_rt(lua_State *L)
{
	chl_rt *rt = the_rt;

	if (!rt)
		luaL_error(L, "chanlab: runtime not started");
	return rt;
}

chl_sched *chl_rt_sched(chl_rt *rt)
{
	return rt->sched;
}

const char *chl_rt_script_dir(chl_rt *rt)
{
	return rt->cfg.script_dir;
}

const chl_lua_lib *const *chl_rt_libs(chl_rt *rt)
{
	return rt->cfg.libs;
}
