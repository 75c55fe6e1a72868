/*
 * sigquit.h - Go's SIGQUIT: Ctrl-\ prints every goroutine with its state
 * and Lua traceback, and the program exits with status 2.
 *
 * The program asks for it (the chanlab interpreter does); a library
 * loaded by require never takes a signal over.
 */
#ifndef CHL_SIGQUIT_H
#define CHL_SIGQUIT_H

#include "runtime/rt.h"

/* Install the handler and start the thread that dumps (report.h's
 * chl_report_quit).  CHL_OK, or CHL_NOMEM when the pipe or the thread
 * cannot be made (SIGQUIT then keeps its default: a core dump). */
int chl_sigquit_install(chl_rt *rt);

#endif
