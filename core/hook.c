/*
 * hook.c - the sinks of the visible operations (hook.h).
 */
#include "check.h"
#include "hook.h"
#include "timer.h"

#define MAX_SINKS 4

bool chl_hook_on;

static struct sink {
	chl_hook_fn fn;
	void *ud;
} sinks[MAX_SINKS];
static int nsinks;

static _Thread_local int this_worker = -1;

void chl_hook_add(chl_hook_fn fn, void *ud)
{
	chl_assert(nsinks < MAX_SINKS);
	sinks[nsinks].fn = fn;
	sinks[nsinks].ud = ud;
	nsinks++;
	chl_hook_on = true;
}

void chl_hook_set_worker(int worker)
{
	this_worker = worker;
}

void chl_hook_emit(chl_event *ev)
{
	ev->ts = chl_now();
	ev->worker = this_worker;
	if (ev->g == 0)
		ev->g = chl_hook_current_id();
	for (int i = 0; i < nsinks; i++)
		sinks[i].fn(ev, sinks[i].ud);
}
