/*
 * report.h - what the program prints when it dies, in Go's format:
 * panics (an error escaping a goroutine), deadlocks (every goroutine
 * asleep) and the dump asked for with Ctrl-\ (SIGQUIT); dump.h formats
 * the goroutines.  All go to stderr after stdout is flushed, and end the
 * process with status 2; one report gets through at a time (two
 * goroutines panicking at once print one panic).
 */
#ifndef CHL_REPORT_H
#define CHL_REPORT_H

#include <stdint.h>
#include <lua.h>

#include "chanlab.h"
#include "runtime/goroutine.h"

/* Serialise with the reports; flush stdout and stderr; _exit(status). */
_Noreturn void chl_rt_exit(int status);

/* A function to run when the process ends through chl_rt_exit, a panic,
 * a deadlock or chl_rt_exit_signal: once, under the exit lock (no other
 * report runs meanwhile), after the report is printed and before the
 * streams are flushed.  why: NULL (chl_rt_exit), "panic", "deadlock",
 * or the signal's name ("SIGINT").  It must not call back in here. */
typedef void (*chl_rt_exit_fn)(int status, const char *why);

/* Register fn (up to 4; startup only, before any goroutine runs). */
void chl_rt_on_exit(chl_rt_exit_fn fn);

/* End the process by signo's default action (Ctrl-C: SIGINT) after the
 * exit functions ran; from a normal thread, never a signal handler. */
_Noreturn void chl_rt_exit_signal(int signo);

/* Print a Go-style panic for the error on top of L (in goroutine id) and
 * end the process with status 2. */
_Noreturn void chl_rt_panic(lua_State *L, uint64_t id);

/* A fatal error of the runtime (a limit passed, limits.h): "fatal error:
 * <msg>", then goroutine id [running] with L's traceback - or, when L is
 * NULL, `where` ("file:line", may be NULL) - and where it was created
 * (may be NULL); flush, exit 2.  id 0: the headline alone.  Any thread. */
_Noreturn void chl_rt_fatal(const char *msg, uint64_t id, lua_State *L,
                            const char *where, const char *created);

/* The goroutine's function raised (status, error on top of L, stack not
 * yet unwound): its hooks may deal with it; otherwise a panic ends the
 * program. */
void chl_goroutine_fail(lua_State *L, int status, uint64_t id, const char *created,
                        const chl_go_hooks *hooks);

/* The scheduler found every goroutine asleep: print the dump, exit 2.
 * The scheduler's on_deadlock. */
_Noreturn void chl_report_deadlock(chl_sched *s, void *ud);

/* Go's SIGQUIT: stop the world (a few seconds at most), print "SIGQUIT:
 * quit" and every goroutine with its state and traceback, exit 2. */
_Noreturn void chl_report_quit(chl_sched *s);

#endif
